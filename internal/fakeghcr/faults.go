package fakeghcr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Helpers for SetFault hooks, so tests can inject GitHub's rate-limit answers
// in the variants the docs allow (403 or 429, with or without retry-after)
// without copying their exact shapes.

// WritePrimaryLimit answers like an exhausted primary rate limit.
func WritePrimaryLimit(w http.ResponseWriter, status int, reset time.Time) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	writeGitHubError(w, status, fmt.Sprintf(msgPrimary, 1, "F4KE:0000:000000"), rateLimitDocs)
}

// WriteSecondaryLimit answers like a secondary rate limit; retryAfter <= 0
// omits the retry-after header.
func WriteSecondaryLimit(w http.ResponseWriter, status int, retryAfter time.Duration) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4000")
	h.Set("X-RateLimit-Used", "1000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	}
	writeGitHubError(w, status, fmt.Sprintf(msgSecondary, "F4KE:0000:000000"), secondaryDocs)
}

// FailTimes returns a fault hook that lets write answer the first n requests
// for which match returns true, then steps aside.
func FailTimes(n int, match func(*http.Request) bool, write func(http.ResponseWriter)) func(http.ResponseWriter, *http.Request) bool {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		mu.Lock()
		hit := n > 0
		n--
		mu.Unlock()
		if hit {
			write(w)
		}
		return hit
	}
}

// Hostile makes the fake answer as a broken or malicious server could, so
// that tests can show ghcr-prune fails safely: a clear error, nothing
// deleted, nothing read without bound. The zero value is GitHub's own
// behaviour.
type Hostile struct {
	// LastPage, when set, is the page every listing's Link header names as
	// rel="last", with rel="next" the page after the one asked for.
	LastPage int64
	// ManifestBytes, when set, makes every manifest GET at least this
	// long: whitespace before the manifest, streamed without a
	// Content-Length, so a client finds out only by reading.
	ManifestBytes int64
	// ListingBytes does the same to every versions and packages listing;
	// whitespace before JSON leaves it valid, so only a bound on reading
	// tells.
	ListingBytes int64
}

// SetHostile switches hostile answers on (or, with the zero value, off);
// it applies to requests that arrive afterwards, mid-run included.
func (s *Server) SetHostile(h Hostile) {
	s.mu.Lock()
	s.hostile = h
	s.mu.Unlock()
}

// writeListing writes a listing page's items, with h's Link header and
// padding when set.
func (s *Server) writeListing(c call, h Hostile, page int, items []any) {
	if h.LastPage > 0 {
		link := func(p int64, rel string) string {
			u := *c.r.URL
			q := u.Query()
			q.Set("page", strconv.FormatInt(p, 10))
			u.RawQuery = q.Encode()
			return fmt.Sprintf(`<%s%s>; rel=%q`, baseURL(c.r), u.RequestURI(), rel)
		}
		c.w.Header().Set("Link", link(int64(page)+1, "next")+", "+link(h.LastPage, "last"))
	}
	pad := h.ListingBytes
	if pad <= 0 {
		writeJSON(c.w, http.StatusOK, items)
		return
	}
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	if s.writePadding(c.w, pad) {
		enc := json.NewEncoder(c.w)
		enc.SetEscapeHTML(false)
		enc.Encode(items)
	}
}

// writePadding streams n bytes of whitespace, counting what the client's
// connection took, and says whether all of it went.
func (s *Server) writePadding(w io.Writer, n int64) bool {
	chunk := bytes.Repeat([]byte(" "), 32<<10)
	for n > 0 {
		k, err := w.Write(chunk[:min(n, int64(len(chunk)))])
		s.mu.Lock()
		s.stats.PaddingSent += int64(k)
		s.mu.Unlock()
		if err != nil {
			return false
		}
		n -= int64(k)
	}
	return true
}
