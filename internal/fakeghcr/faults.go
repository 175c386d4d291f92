package fakeghcr

import (
	"fmt"
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
