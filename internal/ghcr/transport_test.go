package ghcr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

// waits records what the transport asked to sleep for and returns at once,
// so no test really waits.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// newTransport is NewTransport(nil) with a recording Sleep, over its own
// copy of http.DefaultTransport: httptest.Server.Close drops the default
// transport's idle connections, which in parallel tests would cause stray
// retries and waits.
func newTransport() (*ghcr.Transport, *waits) {
	tr := ghcr.NewTransport(nil)
	tr.Base = http.DefaultTransport.(*http.Transport).Clone()
	w := &waits{}
	tr.Sleep = w.sleep
	return tr, w
}

// scripted answers request i (from 0) with steps[i], and 200 "ok" after the
// last step; it counts the requests.
type scripted struct {
	n     atomic.Int32
	steps []func(http.ResponseWriter)
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	i := int(s.n.Add(1)) - 1
	if i < len(s.steps) {
		s.steps[i](w)
		return
	}
	io.WriteString(w, "ok")
}

func serve(t *testing.T, steps ...func(http.ResponseWriter)) (*httptest.Server, *scripted) {
	t.Helper()
	h := &scripted{steps: steps}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

func status(code int, body string, hdr ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

const (
	secondaryBody = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`
	primaryBody   = `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"403"}`
	integration   = `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/packages/packages","status":"403"}`
)

func get(t *testing.T, tr http.RoundTripper, url string) (*http.Response, string, error) {
	t.Helper()
	return getCtx(t, context.Background(), tr, url)
}

func getCtx(t *testing.T, ctx context.Context, tr http.RoundTripper, url string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func wantWaits(t *testing.T, w *waits, want ...time.Duration) {
	t.Helper()
	got := w.get()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func wantOK(t *testing.T, resp *http.Response, body string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q, want 200 ok", resp.StatusCode, body)
	}
}

func TestTransport429RetryAfter(t *testing.T) {
	t.Parallel()
	srv, h := serve(t, status(http.StatusTooManyRequests, `{"message":"slow down"}`, "Retry-After", "7"))
	tr, w := newTransport()
	resp, body, err := get(t, tr, srv.URL)
	wantOK(t, resp, body, err)
	wantWaits(t, w, 7*time.Second)
	if n := h.n.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestTransportRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)
	srv, _ := serve(t, status(http.StatusTooManyRequests, `{}`, "Retry-After", now.Add(45*time.Second).Format(http.TimeFormat)))
	tr, w := newTransport()
	tr.Now = func() time.Time { return now }
	resp, body, err := get(t, tr, srv.URL)
	wantOK(t, resp, body, err)
	wantWaits(t, w, 45*time.Second)
}

func TestTransportSecondaryLimit(t *testing.T) {
	t.Parallel()
	srv, h := serve(t, status(http.StatusForbidden, secondaryBody, "retry-after", "60", "X-RateLimit-Remaining", "4000"))
	tr, w := newTransport()
	resp, body, err := get(t, tr, srv.URL)
	wantOK(t, resp, body, err)
	wantWaits(t, w, 60*time.Second)
	if n := h.n.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// Without retry-after GitHub says to wait at least a minute, then back off
// exponentially.
func TestTransportSecondaryLimitWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	sec := status(http.StatusForbidden, secondaryBody, "X-RateLimit-Remaining", "4000")
	srv, _ := serve(t, sec, sec)
	tr, w := newTransport()
	resp, body, err := get(t, tr, srv.URL)
	wantOK(t, resp, body, err)
	wantWaits(t, w, time.Minute, 2*time.Minute)
}

func TestTransportPrimaryLimitWaitsForReset(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	reset := strconv.FormatInt(now.Add(30*time.Second).Unix(), 10)
	srv, _ := serve(t, status(http.StatusForbidden, primaryBody, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset))
	tr, w := newTransport()
	tr.Now = func() time.Time { return now }
	resp, body, err := get(t, tr, srv.URL)
	wantOK(t, resp, body, err)
	wantWaits(t, w, 31*time.Second)
}

// With the real clock the header's whole seconds make the wait land in
// (30s, 31s].
func TestTransportPrimaryLimitRealClock(t *testing.T) {
	t.Parallel()
	reset := strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10)
	srv, _ := serve(t, status(http.StatusTooManyRequests, primaryBody, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset))
	tr, w := newTransport()
	resp, body, err := get(t, tr, srv.URL)
	wantOK(t, resp, body, err)
	got := w.get()
	if len(got) != 1 || got[0] < 29*time.Second || got[0] > 32*time.Second {
		t.Errorf("waits = %v, want one of about 31s", got)
	}
}

func TestTransportPrimaryResetBeyondMaxWait(t *testing.T) {
	t.Parallel()
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	srv, h := serve(t, status(http.StatusForbidden, primaryBody, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset))
	tr, w := newTransport()
	resp, body, err := get(t, tr, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "API rate limit exceeded") {
		t.Errorf("got %d %q, want GitHub's 403 with its message", resp.StatusCode, body)
	}
	wantWaits(t, w)
	if n := h.n.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestTransport5xxBackoff(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusInternalServerError} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			fail := status(code, "<html>bad</html>")
			srv, h := serve(t, fail, fail, fail)
			tr, w := newTransport()
			resp, body, err := get(t, tr, srv.URL)
			wantOK(t, resp, body, err)
			if n := h.n.Load(); n != 4 {
				t.Errorf("%d requests, want 4", n)
			}
			got := w.get()
			if len(got) != 3 {
				t.Fatalf("waits = %v, want 3", got)
			}
			// 1s, 2s, 4s with up to 50% jitter taken off.
			for i, d := range got {
				hi := time.Second << i
				if d < hi/2 || d > hi {
					t.Errorf("wait %d = %v, want in [%v, %v]", i+1, d, hi/2, hi)
				}
			}
		})
	}
}

func TestTransport5xxGivesUpAfterAttempts(t *testing.T) {
	t.Parallel()
	fail := status(http.StatusBadGateway, "<html>bad</html>")
	srv, h := serve(t, fail, fail, fail, fail, fail, fail, fail, fail)
	tr, w := newTransport()
	tr.Attempts = 3
	resp, _, err := get(t, tr, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want the last 502", resp.StatusCode)
	}
	if n := h.n.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := len(w.get()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
}

// countingRT counts the tries that reach the network.
type countingRT struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestTransportConnectionErrorRetriedThenFails(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	base := &countingRT{base: http.DefaultTransport}
	tr, w := newTransport()
	tr.Base = base
	_, _, err := get(t, tr, url)
	if err == nil {
		t.Fatal("want a connection error")
	}
	if n := int(base.n.Load()); n != tr.Attempts {
		t.Errorf("%d tries, want Attempts = %d", n, tr.Attempts)
	}
	if n := len(w.get()); n != tr.Attempts-1 {
		t.Errorf("%d waits, want %d", n, tr.Attempts-1)
	}
}

// A connection that drops once is retried and the request body is sent again.
func TestTransportConnectionDropRetriesWithBody(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, string(b))
	}))
	t.Cleanup(srv.Close)
	tr, w := newTransport()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("payload"))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "payload" {
		t.Errorf("second try got body %q, want payload", b)
	}
	if len(w.get()) != 1 {
		t.Errorf("waits = %v, want one", w.get())
	}
}

func TestTransportNotRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		code int
		body string
	}{
		{"403 integration", http.StatusForbidden, integration},
		{"404", http.StatusNotFound, `{"message":"Package not found."}`},
		{"400", http.StatusBadRequest, `{"message":"You cannot delete the last tagged version of a package. You must delete the package instead."}`},
		{"401", http.StatusUnauthorized, `{"message":"Bad credentials"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, h := serve(t, status(tc.code, tc.body, "X-RateLimit-Remaining", "4999"))
			tr, w := newTransport()
			resp, body, err := get(t, tr, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || body != tc.body {
				t.Errorf("got %d %q, want %d with the body intact", resp.StatusCode, body, tc.code)
			}
			if n := h.n.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			wantWaits(t, w)
		})
	}
}

func TestTransportContextCancelledDuringWait(t *testing.T) {
	t.Parallel()
	srv, h := serve(t, status(http.StatusTooManyRequests, `{}`, "Retry-After", "120"))
	tr := ghcr.NewTransport(nil) // the real Sleep
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := getCtx(t, ctx, tr, srv.URL)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v, want promptly", d)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestTransportContextCancelledNotRetried(t *testing.T) {
	t.Parallel()
	base := &countingRT{base: http.DefaultTransport}
	tr, w := newTransport()
	tr.Base = base
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := getCtx(t, ctx, tr, "http://127.0.0.1:1/")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := base.n.Load(); n > 1 {
		t.Errorf("%d tries, want at most 1", n)
	}
	wantWaits(t, w)
}

// A response that took more than one attempt says so, and says whether an
// earlier attempt may have been carried out (5xx, connection error) or was
// refused up front (rate limit).
func TestTransportMarksRetriedResponses(t *testing.T) {
	t.Parallel()
	notFound := status(http.StatusNotFound, `{"message":"Package not found."}`)
	for _, tc := range []struct {
		name          string
		steps         []func(http.ResponseWriter)
		attempts      string
		maybeApplied  string
		wantFinalCode int
	}{
		{"first try", []func(http.ResponseWriter){notFound}, "", "", http.StatusNotFound},
		{"after 502", []func(http.ResponseWriter){status(http.StatusBadGateway, "bad"), notFound}, "2", "true", http.StatusNotFound},
		{"after 429 then 503", []func(http.ResponseWriter){
			status(http.StatusTooManyRequests, `{}`, "Retry-After", "1"), status(http.StatusServiceUnavailable, "bad"), notFound,
		}, "3", "true", http.StatusNotFound},
		{"after a rate limit only", []func(http.ResponseWriter){status(http.StatusTooManyRequests, `{}`, "Retry-After", "1"), notFound}, "2", "", http.StatusNotFound},
		{"502 to the end", []func(http.ResponseWriter){status(http.StatusBadGateway, "bad"), status(http.StatusBadGateway, "bad")}, "2", "true", http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, tc.steps...)
			tr, _ := newTransport()
			tr.Attempts = len(tc.steps)
			resp, _, err := get(t, tr, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantFinalCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantFinalCode)
			}
			if got := resp.Header.Get(ghcr.AttemptsHeader); got != tc.attempts {
				t.Errorf("%s = %q, want %q", ghcr.AttemptsHeader, got, tc.attempts)
			}
			if got := resp.Header.Get(ghcr.MaybeAppliedHeader); got != tc.maybeApplied {
				t.Errorf("%s = %q, want %q", ghcr.MaybeAppliedHeader, got, tc.maybeApplied)
			}
		})
	}
}

func TestNewTransportHasResponseHeaderTimeout(t *testing.T) {
	t.Parallel()
	base, ok := ghcr.NewTransport(nil).Base.(*http.Transport)
	if !ok {
		t.Fatal("NewTransport(nil).Base is not an *http.Transport")
	}
	if base.ResponseHeaderTimeout != ghcr.DefaultResponseHeaderTimeout || ghcr.DefaultResponseHeaderTimeout != time.Minute {
		t.Errorf("ResponseHeaderTimeout = %v, want %v (1m)", base.ResponseHeaderTimeout, ghcr.DefaultResponseHeaderTimeout)
	}
	if base == http.DefaultTransport {
		t.Error("NewTransport(nil) changed http.DefaultTransport")
	}
}

// hanging is a server that never answers the first `hang` requests (hang < 0:
// none), until the test ends or the client gives up, and answers "ok" after.
func hanging(t *testing.T, hang int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := n.Add(1); hang < 0 || i <= hang {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return srv, &n
}

// timeoutTransport is newTransport with a short response-header timeout.
func timeoutTransport(d time.Duration) (*ghcr.Transport, *waits, *countingRT) {
	tr, w := newTransport()
	base := tr.Base.(*http.Transport)
	base.ResponseHeaderTimeout = d
	c := &countingRT{base: base}
	tr.Base = c
	return tr, w, c
}

// A server that never sends headers costs one attempt, which is retried.
func TestTransportResponseHeaderTimeoutRetried(t *testing.T) {
	t.Parallel()
	t.Run("then answers", func(t *testing.T) {
		t.Parallel()
		srv, n := hanging(t, 1)
		tr, w, _ := timeoutTransport(50 * time.Millisecond)
		resp, body, err := get(t, tr, srv.URL)
		wantOK(t, resp, body, err)
		if got := n.Load(); got != 2 {
			t.Errorf("%d requests, want 2", got)
		}
		if len(w.get()) != 1 {
			t.Errorf("waits = %v, want one", w.get())
		}
		if resp.Header.Get(ghcr.MaybeAppliedHeader) != "true" {
			t.Errorf("a response after a timed-out attempt is not marked %s", ghcr.MaybeAppliedHeader)
		}
	})
	t.Run("never answers", func(t *testing.T) {
		t.Parallel()
		srv, _ := hanging(t, -1)
		tr, w, c := timeoutTransport(50 * time.Millisecond)
		tr.Attempts = 3
		start := time.Now()
		_, _, err := get(t, tr, srv.URL)
		if err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") {
			t.Fatalf("err = %v, want a response-header timeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("gave up after %v", d)
		}
		if got := c.n.Load(); got != 3 {
			t.Errorf("%d tries, want Attempts = 3", got)
		}
		if len(w.get()) != 2 {
			t.Errorf("waits = %v, want 2", w.get())
		}
	})
}

// The caller's own deadline ends the request; it is not retried.
func TestTransportCallerDeadlineNotRetried(t *testing.T) {
	t.Parallel()
	srv, n := hanging(t, -1)
	tr, w, c := timeoutTransport(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := getCtx(t, ctx, tr, srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v, want promptly", d)
	}
	if got := c.n.Load(); got != 1 {
		t.Errorf("%d tries, want 1", got)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d requests reached the server, want 1", got)
	}
	wantWaits(t, w)
}

// TLS spoken to a plain-HTTP server (go-containerregistry's first try on an
// http:// registry) fails the same way every time: it is not retried.
func TestTransportTLSToPlainHTTPNotRetried(t *testing.T) {
	t.Parallel()
	srv, h := serve(t)
	tr, w := newTransport()
	_, _, err := get(t, tr, strings.Replace(srv.URL, "http://", "https://", 1))
	if err == nil {
		t.Fatal("want a TLS error")
	}
	if n := h.n.Load(); n != 0 {
		t.Errorf("the handler saw %d requests, want 0", n)
	}
	wantWaits(t, w)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A dial that failed sent nothing: a 404 after it is GitHub's own answer,
// not the echo of a DELETE that went through.
func TestTransportDialErrorIsNotMaybeApplied(t *testing.T) {
	t.Parallel()
	tr, _ := newTransport()
	calls := 0
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if calls == 1 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})
	req, _ := http.NewRequest(http.MethodDelete, "http://127.0.0.1/x", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || resp.Header.Get(ghcr.MaybeAppliedHeader) != "" {
		t.Errorf("calls %d, maybe-applied %q: a failed dial marked the retry", calls, resp.Header.Get(ghcr.MaybeAppliedHeader))
	}
}
