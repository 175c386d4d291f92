package ghcr

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Transport retries what GitHub asks to be retried: rate limits (primary and
// secondary, 403 or 429) after the wait GitHub names, and 5xx and connection
// errors with capped, jittered exponential backoff. Retrying below go-github
// keeps its client from remembering a limit and refusing calls on its own.
type Transport struct {
	Base http.RoundTripper
	// Attempts is the most tries one request gets.
	Attempts int
	// MaxWait is the longest single wait; a rate limit that resets later
	// fails the request instead of stalling the job for an hour.
	MaxWait time.Duration
	// Sleep waits for d or until ctx ends; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock x-ratelimit-reset is compared with.
	Now func() time.Time

	// remaining is the last x-ratelimit-remaining GitHub sent, -1 before any.
	remaining atomic.Int64
	seen      atomic.Bool
}

// Headers the Transport adds to a response that took more than one attempt,
// for callers to whom a retry matters (a DELETE retried after a 502 may find
// its own work done: 404).
const (
	// AttemptsHeader is how many attempts the request took, when more than one.
	AttemptsHeader = "X-Ghcr-Prune-Attempts"
	// MaybeAppliedHeader is "true" when an earlier attempt failed in a way
	// that does not tell whether the server acted on it: a 5xx, a connection
	// error or a timeout (not a rate limit, which GitHub refuses up front).
	MaybeAppliedHeader = "X-Ghcr-Prune-Maybe-Applied"
)

// DefaultResponseHeaderTimeout is how long NewTransport(nil) waits for a
// response's headers before the attempt fails (and is retried).
const DefaultResponseHeaderTimeout = 60 * time.Second

// Remaining is the primary rate limit's requests left, as GitHub last said.
func (t *Transport) Remaining() (int, bool) {
	return int(t.remaining.Load()), t.seen.Load()
}

// NewTransport wraps base with GitHub's retry rules. A nil base is a copy of
// http.DefaultTransport that gives up on a server that sends no response
// headers within DefaultResponseHeaderTimeout (the attempt is then retried).
func NewTransport(base http.RoundTripper) *Transport {
	if base == nil {
		// Manifests are fetched 10 at a time; Go's default keeps 2 idle
		// connections per host, so over HTTP/1.1 most requests would dial
		// (and handshake) again.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		// A connection that never answers would otherwise hang the job
		// until GitHub's 6 h job timeout.
		t.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
		base = t
	}
	return &Transport{Base: base, Attempts: 6, MaxWait: 5 * time.Minute, Sleep: sleep, Now: time.Now}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RoundTrip implements http.RoundTripper. A response that took more than one
// attempt carries AttemptsHeader, and MaybeAppliedHeader when an earlier
// attempt may have been carried out.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	unsure := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.Base.RoundTrip(req)
		if resp != nil {
			if n, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Remaining"), 10, 64); perr == nil {
				t.remaining.Store(n)
				t.seen.Store(true)
			}
		}
		wait, retry := t.retryAfter(req.Context(), resp, err, attempt)
		if !retry || attempt >= t.Attempts || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			if !retry && resp != nil && resp.StatusCode < 400 && resp.Header.Get("X-RateLimit-Remaining") == "0" {
				// go-github remembers remaining 0 with its reset and then
				// refuses calls itself; hide the reset so the next call
				// reaches this transport, which waits for it.
				resp.Header.Del("X-RateLimit-Reset")
			}
			return mark(resp, attempt, unsure), err
		}
		if wait > t.MaxWait {
			if resp != nil {
				return mark(resp, attempt, unsure), nil // let the caller report GitHub's own message
			}
			return nil, err
		}
		if (err != nil && !neverSent(err)) || (resp != nil && resp.StatusCode >= 500) {
			unsure = true
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if serr := t.Sleep(req.Context(), wait); serr != nil {
			return nil, serr
		}
	}
}

// mark labels a response that took more than one attempt.
func mark(resp *http.Response, attempt int, unsure bool) *http.Response {
	if resp == nil || attempt <= 1 {
		return resp
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set(AttemptsHeader, strconv.Itoa(attempt))
	if unsure {
		resp.Header.Set(MaybeAppliedHeader, "true")
	}
	return resp
}

// neverSent reports an error from before the request left: a failed dial
// or name lookup cannot have deleted anything.
func neverSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// maybeApplied says whether resp answers a request retried after an attempt
// the server may have carried out.
func maybeApplied(resp *http.Response) bool {
	return resp != nil && resp.Header.Get(MaybeAppliedHeader) == "true"
}

// retryAfter says whether a response deserves another try, and after how long.
// An error is retried unless the caller's context has ended (cancelled, its
// deadline or http.Client.Timeout passed): net/http's own timeouts (response
// headers, dial) also match context.DeadlineExceeded, yet deserve a retry.
func (t *Transport) retryAfter(ctx context.Context, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) || permanentTLS(err) {
			return 0, false
		}
		return backoff(attempt), true
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusForbidden:
		if d, ok := retryAfterHeader(resp.Header, t.now()); ok {
			return d, true
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				return max(time.Unix(reset, 0).Sub(t.now())+time.Second, time.Second), true
			}
			return time.Minute, true
		}
		if code == http.StatusTooManyRequests || isSecondaryLimit(resp) {
			// GitHub: without retry-after, wait at least a minute, then
			// back off exponentially.
			return time.Minute << min(attempt-1, 3), true
		}
		return 0, false
	case code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout || code == http.StatusInternalServerError:
		return backoff(attempt), true
	}
	return 0, false
}

// permanentTLS is a TLS failure that a retry does not mend: a server that
// does not speak TLS (go-containerregistry tries https first on a plain-http
// registry), or a certificate that does not verify.
func permanentTLS(err error) bool {
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	return errors.As(err, &rec) || errors.As(err, &cert)
}

func (t *Transport) now() time.Time {
	if t.Now == nil {
		return time.Now()
	}
	return t.Now()
}

func retryAfterHeader(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// isSecondaryLimit peeks at a 403 body for GitHub's secondary-limit wording
// and leaves the body readable for the caller.
func isSecondaryLimit(resp *http.Response) bool {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	s := strings.ToLower(string(body))
	return strings.Contains(s, "secondary rate limit") || strings.Contains(s, "abuse")
}

// backoff is 1s, 2s, 4s … capped at 30s, with up to 50% jitter so that
// parallel workers do not retry in lockstep.
func backoff(attempt int) time.Duration {
	d := min(time.Second<<min(attempt-1, 5), 30*time.Second)
	return d/2 + rand.N(d/2+1)
}
