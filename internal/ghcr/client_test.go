package ghcr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

const token = "ghp_testtoken"

var bg = context.Background()

// seedClient makes the tests' own requests to the fake, as setup that the
// fake's fault hook and statistics do not see. It does not share
// http.DefaultTransport, whose idle connections every httptest.Server.Close
// (in the parallel transport tests) drops, breaking requests in flight.
var seedClient = &http.Client{Transport: fakeghcr.SeedTransport(http.DefaultTransport.(*http.Transport).Clone())}

// start runs a fake GHCR requiring token, with user "alice" and org "Acme".
func start(t *testing.T, opts ...fakeghcr.Option) *fakeghcr.Server {
	t.Helper()
	srv := fakeghcr.Start(append([]fakeghcr.Option{fakeghcr.WithToken(token)}, opts...)...)
	t.Cleanup(srv.Close)
	srv.AddUser("alice")
	srv.AddOrg("Acme")
	return srv
}

func connect(t *testing.T, srv *fakeghcr.Server, owner string) (*ghcr.Client, *waits) {
	t.Helper()
	tr, w := newTransport()
	c, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: owner, APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, w
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// pushN pushes n small images by digest, in parallel, with the Pusher.
func pushN(t *testing.T, p *fakeghcr.Pusher, n int) []string {
	t.Helper()
	out := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = p.Image("")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// putN is a fast pushN for listing tests: n distinct OCI image manifests PUT
// by digest with one request each (the fake, like a registry that already
// has the blobs, does not check them), oldest first. Versions() only sees
// the Packages API, so the manifests need not be pullable.
func putN(t *testing.T, srv *fakeghcr.Server, owner, pkg string, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064x","size":2},"layers":[],`+
			`"annotations":{"n":"%s-%d"}}`, i, t.Name(), i)
		out[i] = sha([]byte(body))
		_, status, err := srv.PutManifest(owner, pkg, out[i], "application/vnd.oci.image.manifest.v1+json", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusCreated {
			t.Fatalf("PUT manifest %d: HTTP %d", i, status)
		}
	}
	return out
}

func TestNewBadURLs(t *testing.T) {
	t.Parallel()
	for _, cfg := range []ghcr.Config{
		{Owner: "a", APIURL: "ftp://x", RegistryURL: "ghcr.io"},
		{Owner: "a", APIURL: "https://api.github.com", RegistryURL: "https://ghcr.io/some/path"},
	} {
		if _, err := ghcr.New(bg, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestParseRegistryURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		host     string
		insecure bool
	}{
		"https://ghcr.io":       {"ghcr.io", false},
		"ghcr.io":               {"ghcr.io", false},
		"ghcr.io/":              {"ghcr.io", false},
		"http://127.0.0.1:5000": {"127.0.0.1:5000", true},
		"http://localhost:5000": {"localhost:5000", true},
		"http://[::1]:5000":     {"[::1]:5000", true},
		"localhost:5000":        {"localhost:5000", false},
	} {
		host, insecure, err := ghcr.ParseRegistryURL(in)
		if err != nil || host != want.host || insecure != want.insecure {
			t.Errorf("ParseRegistryURL(%q) = %q, %v, %v", in, host, insecure, err)
		}
	}
	for _, bad := range []string{"", "ftp://ghcr.io", "https://ghcr.io/acme", "http://ghcr.io", "http://10.1.2.3:5000", "http://localhost.example:5000"} {
		if _, _, err := ghcr.ParseRegistryURL(bad); err == nil || !strings.HasPrefix(err.Error(), "registry-url:") {
			t.Errorf("ParseRegistryURL(%q) err = %v", bad, err)
		}
	}
}

// wantListing compares a listing with the fake's own view of active versions.
func wantListing(t *testing.T, srv *fakeghcr.Server, owner, pkg string, got []retention.Version) {
	t.Helper()
	var want []fakeghcr.Version
	for _, v := range srv.Versions(owner, pkg) {
		if !v.Deleted {
			want = append(want, v)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d versions, want %d", len(got), len(want))
	}
	byID := map[int64]fakeghcr.Version{}
	for _, v := range want {
		byID[v.ID] = v
	}
	for _, g := range got {
		w, ok := byID[g.ID]
		if !ok {
			t.Fatalf("listed version %d is not active in the fake", g.ID)
		}
		delete(byID, g.ID)
		slices.Sort(g.Tags)
		slices.Sort(w.Tags)
		if g.Digest != w.Digest || !slices.Equal(g.Tags, w.Tags) || !g.CreatedAt.Time().Equal(w.CreatedAt) || !g.UpdatedAt.Time().Equal(w.UpdatedAt) {
			t.Errorf("version %d = %+v, want %+v", g.ID, g, w)
		}
	}
}

func idOf(t *testing.T, srv *fakeghcr.Server, owner, pkg, digest string) int64 {
	t.Helper()
	v := versionOf(srv, owner, pkg, digest)
	if v.ID == 0 {
		t.Fatalf("no version %s in %s/%s", digest, owner, pkg)
	}
	return v.ID
}

func versionOf(srv *fakeghcr.Server, owner, pkg, digest string) fakeghcr.Version {
	for _, v := range srv.Versions(owner, pkg) {
		if v.Digest == digest {
			return v
		}
	}
	return fakeghcr.Version{}
}

// seeded is a private fake with one package of n versions, for tests that
// install fault hooks.
func seeded(t *testing.T, n int) (*fakeghcr.Server, *ghcr.Client, *waits) {
	t.Helper()
	srv := start(t)
	putN(t, srv, "Acme", "app", n)
	c, w := connect(t, srv, "Acme")
	return srv, c, w
}

// forward sends r to the fake again as setup, which the fault hook and the
// statistics do not see, and returns the fake's own answer: a hook uses it
// to let the fake act and then answer differently.
func forward(srv *fakeghcr.Server, r *http.Request) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, srv.URL()+r.URL.RequestURI(), nil)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return seedClient.Do(req)
}

// editPage answers the versions listing request r with the fake's own page
// as edit changes it.
func editPage(w http.ResponseWriter, r *http.Request, srv *fakeghcr.Server, edit func([]json.RawMessage) ([]json.RawMessage, error)) {
	resp, err := forward(srv, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var items []json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&items)
	if err == nil {
		items, err = edit(items)
	}
	if err != nil {
		http.Error(w, fmt.Sprint("bad page: ", err), http.StatusBadGateway)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	json.NewEncoder(w).Encode(items)
}

func isVersionsPage(r *http.Request, page string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/versions") && r.URL.Query().Get("page") == page
}

// Rate limits and 5xx on the fake are absorbed by the transport below
// go-github, with the waits GitHub names.
func TestClientRetriesThroughFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write func(http.ResponseWriter)
		check func(*testing.T, []time.Duration)
	}{
		{"secondary 403", func(w http.ResponseWriter) { fakeghcr.WriteSecondaryLimit(w, http.StatusForbidden, 60*time.Second) },
			func(t *testing.T, d []time.Duration) { wantEq(t, d, 60*time.Second) }},
		{"secondary 429 no retry-after", func(w http.ResponseWriter) { fakeghcr.WriteSecondaryLimit(w, http.StatusTooManyRequests, 0) },
			func(t *testing.T, d []time.Duration) { wantEq(t, d, time.Minute) }},
		{"primary 403", func(w http.ResponseWriter) {
			fakeghcr.WritePrimaryLimit(w, http.StatusForbidden, time.Now().Add(30*time.Second))
		}, func(t *testing.T, d []time.Duration) {
			if len(d) != 1 || d[0] < 29*time.Second || d[0] > 32*time.Second {
				t.Errorf("waits = %v, want about 31s", d)
			}
		}},
		{"502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			func(t *testing.T, d []time.Duration) {
				if len(d) != 1 || d[0] > time.Second {
					t.Errorf("waits = %v, want one short backoff", d)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c, w := seeded(t, 3)
			srv.SetFault(fakeghcr.FailTimes(1, func(r *http.Request) bool { return isVersionsPage(r, "1") }, tc.write))
			vs, err := c.Versions(bg, "app")
			if err != nil {
				t.Fatal(err)
			}
			wantListing(t, srv, "Acme", "app", vs)
			tc.check(t, w.get())
			// A later call is not refused by go-github's memory of the limit.
			if err := c.CheckPackage(bg, "app"); err != nil {
				t.Errorf("CheckPackage after the limit: %v", err)
			}
		})
	}
}

func wantEq(t *testing.T, got []time.Duration, want ...time.Duration) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestClientPrimaryLimitBeyondMaxWait(t *testing.T) {
	t.Parallel()
	srv, c, w := seeded(t, 3)
	reset := time.Now().Add(time.Hour)
	srv.SetFault(func(wr http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/v2") || r.URL.Path == "/token" {
			return false
		}
		fakeghcr.WritePrimaryLimit(wr, http.StatusForbidden, reset)
		return true
	})
	before := srv.Stats().Total
	_, err := c.Versions(bg, "app")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("err = %v (%T), want a *github.RateLimitError", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "rate limit") || !strings.Contains(msg, "app") {
		t.Errorf("err = %q, want it to say rate limit and name the package", msg)
	}
	if got := srv.Stats().Total - before; got != 1 {
		t.Errorf("%d requests, want 1 (no retries)", got)
	}
	wantWaits(t, w)
	// go-github now refuses locally; the error stays a clear rate-limit one.
	err = c.DeleteVersion(bg, "app", 1)
	if !errors.As(err, &rle) || errors.Is(err, prune.ErrGone) {
		t.Errorf("delete after the limit: err = %v, want a RateLimitError", err)
	}
}

// The primary budget running out on a successful answer (remaining 0, reset
// soon) must not make go-github refuse the next call on its own: the
// transport is there to wait for the reset.
func TestClientRemainingZeroOnSuccess(t *testing.T) {
	t.Parallel()
	srv, c, w := seeded(t, 3)
	reset := strconv.FormatInt(time.Now().Add(20*time.Second).Unix(), 10)
	var calls atomic.Int32
	srv.SetFault(func(wr http.ResponseWriter, r *http.Request) bool {
		if !isVersionsPage(r, "1") {
			return false
		}
		switch calls.Add(1) {
		case 1: // the last request of the window succeeds
			wr.Header().Set("X-RateLimit-Remaining", "0")
			wr.Header().Set("X-RateLimit-Reset", reset)
			wr.Header().Set("Content-Type", "application/json")
			io.WriteString(wr, "[]")
			return true
		case 2: // the next one hits the limit
			wr.Header().Set("X-RateLimit-Remaining", "0")
			wr.Header().Set("X-RateLimit-Reset", reset)
			wr.Header().Set("Content-Type", "application/json")
			wr.WriteHeader(http.StatusForbidden)
			io.WriteString(wr, primaryBody)
			return true
		}
		return false
	})
	if vs, err := c.Versions(bg, "app"); err != nil || len(vs) != 0 {
		t.Fatalf("first listing = %v, %v", vs, err)
	}
	vs, err := c.Versions(bg, "app")
	if err != nil {
		t.Fatalf("second listing: %v", err)
	}
	if len(vs) != 3 {
		t.Errorf("%d versions, want 3", len(vs))
	}
	if d := w.get(); len(d) != 1 || d[0] < 19*time.Second || d[0] > 22*time.Second {
		t.Errorf("waits = %v, want one of about 21s", d)
	}
}

// The token goes to REST as a bearer header and to the registry only through
// the token endpoint (Basic auth); registry requests carry the registry's own
// bearer token.
func TestTokenNeverSentToRegistry(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "app")
	d := must[string](t)(p.Image("v1"))
	var mu sync.Mutex
	seen := map[string][]string{}
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		kind := "rest"
		switch {
		case r.URL.Path == "/token":
			kind = "token"
		case strings.HasPrefix(r.URL.Path, "/v2"):
			kind = "registry"
		}
		mu.Lock()
		seen[kind] = append(seen[kind], r.Header.Get("Authorization"))
		mu.Unlock()
		return false
	})
	c, _ := connect(t, srv, "alice")
	if _, err := c.Versions(bg, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Manifest(bg, "app", d); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen["rest"] {
		if a != "Bearer "+token {
			t.Errorf("REST Authorization = %q, want the bearer token", a)
		}
	}
	if len(seen["token"]) != 1 || !strings.HasPrefix(seen["token"][0], "Basic ") {
		t.Errorf("token endpoint saw %q, want one Basic auth request", seen["token"])
	}
	authed := 0
	for _, a := range seen["registry"] {
		if strings.Contains(a, token) {
			t.Errorf("registry request carried the GitHub token: %q", a)
		}
		if strings.HasPrefix(a, "Bearer fakeghcr-") {
			authed++
		}
	}
	if authed == 0 {
		t.Errorf("no registry request used a registry token: %q", seen["registry"])
	}
}

func TestWrongTokenFails(t *testing.T) {
	t.Parallel()
	srv := start(t)
	tr, _ := newTransport()
	_, err := ghcr.New(bg, ghcr.Config{Token: "wrong", Owner: "alice", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err == nil || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("err = %v, want Bad credentials", err)
	}
}

// Client methods are safe for concurrent use and Stats adds up.
func TestStatsConcurrent(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "app")
	must[string](t)(p.Image("v1"))
	ds := pushN(t, p, 8)
	c, _ := connect(t, srv, "alice")
	srv.ResetStats()
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Manifest(bg, "app", d); err != nil {
				t.Error(err)
			}
			if err := c.DeleteVersion(bg, "app", idOf(t, srv, "alice", "app", d)); err != nil {
				t.Error(err)
			}
			if err := c.CheckPackage(bg, "app"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := ghcr.Stats{ListRequests: len(ds), ManifestGets: len(ds), DeleteRequests: len(ds)}
	if s := c.Stats(); s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	st := srv.Stats()
	if st.REST["DELETE"] != len(ds) || st.REST["GET"] != len(ds) || st.ManifestGets != len(ds) {
		t.Errorf("fake stats = %+v", st)
	}
}

// New's own HTTP client has a timeout: a call to a server that never
// answers fails once it passes, without retries.
func TestNewClientTimeout(t *testing.T) {
	t.Parallel()
	var hung atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/users/alice" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"login":"alice","type":"User"}`)
			return
		}
		hung.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := ghcr.New(bg, ghcr.Config{Owner: "alice", APIURL: srv.URL, RegistryURL: srv.URL, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.CheckPackage(bg, "app")
	// net/http reports the client's timeout as either, depending on timing.
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") && !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("err = %v, want a Client.Timeout error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	if n := hung.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (a caller's timeout is not retried)", n)
	}
}
