package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// The network side of the security review, end to end: the token goes only
// to the API and registry configured, never in clear to another machine;
// hostile answers (a redirect elsewhere, an endless listing, an oversized
// body) fail the run with a clear message and delete nothing; a permission
// problem says what to do; GitHub's refusal of a package's last version is
// a warning.

// otherHost is a host the token must never reach.
type otherHost struct{ *fakeghcr.Elsewhere }

func newOtherHost(t *testing.T) *otherHost {
	t.Helper()
	o := &otherHost{fakeghcr.StartElsewhere("acme")}
	t.Cleanup(o.Close)
	return o
}

// expectUntouched asserts the other host saw no request at all, so neither
// the token nor a DELETE reached it.
func (o *otherHost) expectUntouched(t *testing.T) {
	t.Helper()
	seen := o.Seen()
	for _, s := range seen {
		if strings.Contains(s, testToken) {
			t.Errorf("the other host got the token: %s", s)
		}
	}
	if len(seen) > 0 {
		t.Errorf("the other host got requests: %q", seen)
	}
}

// redirectTo answers the requests match picks with status and a Location
// on o.
func redirectTo(o *otherHost, status int, match func(*http.Request) bool) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		http.Redirect(w, r, o.URL+r.URL.RequestURI(), status)
		return true
	}
}

// deletable seeds a package that an applied run with older-than 3d prunes:
// a tagged image that stays and two old untagged images. It returns every
// digest.
func deletable(e *e2e) []string {
	keep := e.image("v1", 20*day)
	return []string{keep, e.image("", 10*day), e.image("", 9*day)}
}

// expectFailedUntouched asserts the run failed, saying why (in its error,
// summary or log), without a panic, and that every version is still there.
func (e *e2e) expectFailedUntouched(r runResult, before []string, why ...string) {
	e.t.Helper()
	if r.err == nil {
		e.t.Fatalf("the run succeeded; log:\n%s", r.log)
	}
	all := r.err.Error() + "\n" + r.summary + "\n" + r.log
	for _, w := range why {
		if !strings.Contains(all, w) {
			e.t.Errorf("neither the error, the summary nor the log says %q:\nerror: %v\nsummary:\n%s\nlog:\n%s", w, r.err, r.summary, r.log)
		}
	}
	if strings.Contains(all, "internal error") {
		e.t.Errorf("the run panicked: %v", r.err)
	}
	e.expectRemaining(before...)
}

func TestE2ERedirectsKeepTheToken(t *testing.T) {
	t.Parallel()
	isDelete := func(r *http.Request) bool { return r.Method == http.MethodDelete }
	for _, tc := range []struct {
		name   string
		status int
		match  func(*http.Request) bool
		why    string
	}{
		{"owner lookup, 302", http.StatusFound, func(r *http.Request) bool { return r.URL.Path == "/users/acme" }, "owner:"},
		{"versions listing, 302", http.StatusFound, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/versions") }, "listing versions of app"},
		{"DELETE, 307", http.StatusTemporaryRedirect, isDelete, "deleting"},
		{"DELETE, 308", http.StatusPermanentRedirect, isDelete, "deleting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			before := deletable(e)
			other := newOtherHost(t)
			e.srv.SetFault(redirectTo(other, tc.status, tc.match))
			r := e.run(applied("older-than", "3d"))
			e.expectFailedUntouched(r, before, tc.why, "redirected to", "refused to send the token to another host")
			other.expectUntouched(t)
		})
	}
}

func TestE2EHostileListingPageCount(t *testing.T) {
	t.Parallel()
	t.Run("from the first listing", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		before := deletable(e)
		e.srv.SetHostile(fakeghcr.Hostile{LastPage: 999999999999999})
		r := e.run(applied("older-than", "3d"))
		e.expectFailedUntouched(r, before, "listing versions of app", "999999999999999 pages", "not trusted")
		if n := e.srv.Stats().REST["DELETE"]; n != 0 {
			t.Errorf("%d DELETEs", n)
		}
	})
	// Listings are read again between deletion waves: the hostile answer
	// comes after a deletion, and the run still ends with its report.
	t.Run("after the first deletion", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := e.image("v1", 20*day)
		idx, children := e.multi("", false, 10*day, 10*day)
		var once sync.Once
		e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete {
				once.Do(func() { e.srv.SetHostile(fakeghcr.Hostile{LastPage: 999999999999999}) })
			}
			return false
		})
		r := e.run(applied("older-than", "3d"))
		if r.err == nil || strings.Contains(r.err.Error(), "internal error") {
			t.Fatalf("err = %v, want the package failed (not a panic)", r.err)
		}
		if !strings.Contains(r.summary+r.log, "not trusted") {
			t.Errorf("the summary and the log do not say why:\n%s\n%s", r.summary, r.log)
		}
		e.expectRemaining(append([]string{keep}, children...)...)
		expectDeletedIDs(e, r, idx)
		if len(r.plan) == 0 {
			t.Error("no plan file")
		}
	})
}

func TestE2EOversizedAnswers(t *testing.T) {
	t.Parallel()
	t.Run("manifest", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		before := deletable(e)
		e.srv.SetHostile(fakeghcr.Hostile{ManifestBytes: 64 << 20})
		r := e.run(applied("older-than", "3d"))
		e.expectFailedUntouched(r, before, "the registry answered GET", "more than 4 MiB")
		// Three manifests, each read to 4 MiB and a socket buffer at most:
		// far from the 64 MiB each on offer.
		if sent := e.srv.Stats().PaddingSent; sent > 48<<20 {
			t.Errorf("the fake sent %d MiB of padding before the run stopped reading", sent>>20)
		}
	})
	t.Run("listing page", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		before := deletable(e)
		e.srv.SetHostile(fakeghcr.Hostile{ListingBytes: 16 << 20})
		r := e.run(applied("older-than", "3d"))
		e.expectFailedUntouched(r, before, "GitHub's REST API answered GET", "/versions", "more than 8 MiB")
	})
}

// http:// is an input error for any host but this machine, before any
// request: the token would cross the network in clear.
func TestE2EPlainHTTPOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	for input, url := range map[string]string{
		"registry-url":   "http://registry.example.com:5000",
		"github-api-url": "http://api.example.com",
	} {
		t.Run(input, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			before := deletable(e)
			r := e.run(applied("older-than", "3d", input, url))
			e.expectFailedUntouched(r, before, "invalid input", input+": ", "plain http", "unencrypted")
			if n := e.srv.Stats().Total; n != 0 {
				t.Errorf("%d requests after an input error", n)
			}
		})
	}
	t.Run("localhost", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := deletable(e)[0]
		// The fake names its registry's token endpoint by 127.0.0.1, so
		// only the API is addressed as localhost here.
		local := strings.Replace(e.srv.URL(), "127.0.0.1", "localhost", 1)
		r := e.run(applied("older-than", "3d", "github-api-url", local))
		e.ok(r)
		e.expectRemaining(keep)
	})
}

// forbidDeletes answers every DELETE as GitHub answers a GITHUB_TOKEN
// whose repository lacks the Admin role on the package: 403, and no sign of
// a rate limit.
func forbidDeletes(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodDelete {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte(`{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/packages/packages#delete-package-version-for-an-organization","status":"403"}`))
	return true
}

// A 403 that is no rate limit, or a package the token cannot see, is a
// permission problem that says what to do for the token at hand.
func TestE2EPermissionErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token string
		opts        []fakeghcr.Option
		why         []string
	}{
		{"GITHUB_TOKEN", "ghs_e2eActions", []fakeghcr.Option{fakeghcr.WithActionsToken()},
			[]string{"`permissions: packages: write`", "Admin role for this repository", "Manage Actions access"}},
		{"classic personal access token", "ghp_e2eReadDelete", []fakeghcr.Option{fakeghcr.WithTokenScopes("read:packages", "delete:packages")},
			[]string{"classic personal access token with read:packages and delete:packages: its user needs the Admin role on the package"}},
		{"token of unknown kind", "0123456789abcdef0123456789abcdef01234567", nil,
			[]string{"`permissions: packages: write`", "Manage Actions access", "a classic personal access token needs read:packages and delete:packages", "fine-grained personal access tokens do not work with GitHub Packages"}},
	} {
		t.Run("DELETE forbidden, "+tc.name, func(t *testing.T) {
			t.Parallel()
			e := tokenE2E(t, tc.token, tc.opts...)
			before := deletable(e)
			e.srv.SetFault(forbidDeletes)
			r := e.runAs(tc.token, applied("older-than", "3d"))
			e.expectFailedUntouched(r, before, append(tc.why, "permission: deleting version", "403 Resource not accessible by integration")...)
			if n := e.srv.Stats().REST["DELETE"]; n != 1 {
				t.Errorf("%d DELETEs, want 1: the first refusal stops the package", n)
			}
		})
	}
	t.Run("package not visible", func(t *testing.T) {
		t.Parallel()
		e := tokenE2E(t, "ghs_e2eActions", fakeghcr.WithActionsToken())
		before := deletable(e)
		r := e.runAs("ghs_e2eActions", applied("older-than", "3d", "packages", "app, secret"))
		e.expectFailedUntouched(r, before, `packages: acme has no container package "secret", or the token cannot see it`,
			"`permissions: packages: read`", "Manage Actions access")
		if n := e.srv.Stats().REST["DELETE"]; n != 0 {
			t.Errorf("%d DELETEs", n)
		}
	})
}

// GitHub refuses to delete the last version of a package. A plan may not
// see it coming: here the only other version is deleted elsewhere just
// before the run's DELETE arrives, and the refusal is a warning, not a
// failure.
func TestE2ELastVersionRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	old := e.image("", 10*day)
	recent := e.image("", day)
	setup := &http.Client{Transport: fakeghcr.SeedTransport(http.DefaultTransport)}
	recentID := e.version(recent).ID
	var once sync.Once
	e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete {
			once.Do(func() { e.deleteVersion(setup, recentID) })
		}
		return false
	})
	r := e.run(applied("older-than", "3d"))
	if r.err != nil {
		t.Fatalf("a refusal failed the run: %v\n%s", r.err, r.log)
	}
	expectOutput(t, r, "planned-count", "1")
	expectDeletedCount(e, r, 0)
	e.expectRemaining(old)
	const refusal = "You cannot delete the last version of a package. You must delete the package instead."
	if !strings.Contains(r.summary, refusal) {
		t.Errorf("the summary does not report the refusal:\n%s", r.summary)
	}
	if !strings.Contains(r.log, "::warning") || !strings.Contains(r.log, refusal) {
		t.Errorf("no warning with GitHub's message in the log:\n%s", r.log)
	}
	res := r.report.Packages[0].Result
	if res == nil || res.Count(prune.Refused) != 1 {
		t.Errorf("outcomes: %+v", res)
	}
}
