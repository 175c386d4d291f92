package ghcr_test

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

// elsewhere is a host the token must never reach.
type elsewhere struct{ *fakeghcr.Elsewhere }

func newElsewhere(t *testing.T) *elsewhere {
	t.Helper()
	e := &elsewhere{fakeghcr.StartElsewhere("Acme")}
	t.Cleanup(e.Close)
	return e
}

// expectNoToken fails the test if the token reached e.
func (e *elsewhere) expectNoToken(t *testing.T) {
	t.Helper()
	for _, s := range e.Seen() {
		if strings.Contains(s, token) {
			t.Errorf("the other host got the token: %s", s)
		}
	}
}

// redirect answers requests that match with status and a Location on e.
func redirect(e *elsewhere, status int, match func(*http.Request) bool) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		http.Redirect(w, r, e.URL+r.URL.RequestURI(), status)
		return true
	}
}

func wantRedirectRefused(t *testing.T, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "redirected to") || !strings.Contains(err.Error(), "refused to send the token to another host") {
		t.Errorf("err = %v, want the redirect refused", err)
	}
}

// A redirect from the API to another host is not followed, whatever the
// request: go-github's WithAuthToken would send the token along.
func TestRESTRedirectToAnotherHostRefused(t *testing.T) {
	t.Parallel()
	t.Run("owner lookup, 302", func(t *testing.T) {
		t.Parallel()
		srv := start(t)
		other := newElsewhere(t)
		srv.SetFault(redirect(other, http.StatusFound, func(r *http.Request) bool { return r.URL.Path == "/users/Acme" }))
		tr, _ := newTransport()
		_, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: "Acme", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
		wantRedirectRefused(t, err)
		if !strings.HasPrefix(err.Error(), "owner:") {
			t.Errorf("err = %v, want it to name the owner input", err)
		}
		other.expectNoToken(t)
	})
	t.Run("versions listing, 302", func(t *testing.T) {
		t.Parallel()
		srv, c, _ := seeded(t, 3)
		other := newElsewhere(t)
		srv.SetFault(redirect(other, http.StatusFound, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/versions") }))
		_, err := c.Versions(bg, "app")
		wantRedirectRefused(t, err)
		other.expectNoToken(t)
	})
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run("DELETE, "+http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			srv, c, _ := seeded(t, 3)
			other := newElsewhere(t)
			srv.SetFault(redirect(other, status, func(r *http.Request) bool { return r.Method == http.MethodDelete }))
			v := srv.Versions("Acme", "app")[0]
			err := c.DeleteVersion(bg, "app", v.ID)
			wantRedirectRefused(t, err)
			other.expectNoToken(t)
			if seen := other.Seen(); len(seen) != 0 {
				t.Errorf("the DELETE went to the other host: %q", seen)
			}
			if versionOf(srv, "Acme", "app", v.Digest).Deleted {
				t.Error("the version was deleted")
			}
		})
	}
}

// A redirect within the API's host is followed, with the token.
func TestRESTRedirectWithinTheHostFollowed(t *testing.T) {
	t.Parallel()
	srv := start(t)
	var mu sync.Mutex
	var auth []string
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		auth = append(auth, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path == "/users/acme-old" {
			http.Redirect(w, r, srv.URL()+"/users/Acme", http.StatusMovedPermanently)
			return true
		}
		return false
	})
	tr, _ := newTransport()
	c, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: "acme-old", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner() != "Acme" {
		t.Errorf("Owner = %q", c.Owner())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 2 || auth[1] != "/users/Acme Bearer "+token {
		t.Errorf("requests: %q, want the redirect followed with the token", auth)
	}
}

// The registry's challenge can name any realm; the GitHub token goes only to
// the registry's own host. go-containerregistry refuses realms on private
// addresses, but not a host name such as localhost.
func TestRegistryCredentialsStayWithTheRegistry(t *testing.T) {
	t.Parallel()
	srv := start(t)
	d := must[string](t)(srv.Pusher("Acme", "app").Image("v1"))
	other := newElsewhere(t)
	realm := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/token"
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v2") || r.Header.Get("Authorization") != "" {
			return false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="ghcr.io"`)
		w.WriteHeader(http.StatusUnauthorized)
		return true
	})
	c, _ := connect(t, srv, "Acme")
	_, err := c.Manifest(bg, "app", d)
	if err == nil || !strings.Contains(err.Error(), "asked for credentials at localhost") {
		t.Errorf("err = %v, want the realm on another host refused", err)
	}
	other.expectNoToken(t)
}

func TestParseAPIURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://api.github.com":       "https://api.github.com/",
		"https://ghes.example/api/v3/": "https://ghes.example/api/v3/",
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080/",
		"http://127.1.2.3:8080":        "http://127.1.2.3:8080/",
		"http://[::1]:8080":            "http://[::1]:8080/",
		"http://localhost:8080/api":    "http://localhost:8080/api/",
		"http://LOCALHOST":             "http://LOCALHOST/",
	} {
		u, err := ghcr.ParseAPIURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseAPIURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for in, why := range map[string]string{
		"ftp://api.github.com":         "not an http(s) URL",
		"api.github.com":               "not an http(s) URL",
		"http://api.github.com":        "plain http",
		"http://10.0.0.1":              "plain http",
		"http://localhost.example.com": "plain http",
		"http://[::2]:80":              "plain http",
	} {
		_, err := ghcr.ParseAPIURL(in)
		if err == nil || !strings.HasPrefix(err.Error(), "github-api-url:") || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseAPIURL(%q) err = %v, want %q", in, err, why)
		}
	}
}

// Plain http is refused before any request: New sends nothing.
func TestNewRefusesPlainHTTPElsewhere(t *testing.T) {
	t.Parallel()
	for _, cfg := range []ghcr.Config{
		{Token: token, Owner: "a", APIURL: "http://api.example.com", RegistryURL: "ghcr.io"},
		{Token: token, Owner: "a", APIURL: "https://api.github.com", RegistryURL: "http://registry.example.com"},
	} {
		sent := false
		cfg.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = true
			return nil, errors.New("no network in tests")
		})}
		_, err := ghcr.New(bg, cfg)
		if err == nil || !strings.Contains(err.Error(), "plain http") {
			t.Errorf("New(%s, %s) err = %v", cfg.APIURL, cfg.RegistryURL, err)
		}
		if sent {
			t.Errorf("New(%s, %s) sent a request", cfg.APIURL, cfg.RegistryURL)
		}
	}
}

// The URL inputs come from the workflow: whatever they say, a URL that is
// accepted with plain http names this machine.
func FuzzParseURLs(f *testing.F) {
	for _, s := range []string{"https://ghcr.io", "ghcr.io", "http://127.0.0.1:5000", "http://[::1]:1", "http://localhost", "http://localhost.evil", "http://127.0.0.1.evil:80", "http://[::ffff:127.0.0.1]:5", "HTTP://LOCALHOST", "http://0x7f.1", "http://%31%32%37.0.0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ghcr.ParseAPIURL(s); err == nil {
			if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				t.Errorf("ParseAPIURL(%q) accepted plain http to %q", s, u.Hostname())
			}
		}
		if host, insecure, err := ghcr.ParseRegistryURL(s); err == nil && insecure {
			u, perr := url.Parse("http://" + host)
			if perr != nil || !isLoopback(u.Hostname()) {
				t.Errorf("ParseRegistryURL(%q) accepted plain http to %q", s, host)
			}
		}
	})
}

// isLoopback is the fuzz target's own notion of this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
