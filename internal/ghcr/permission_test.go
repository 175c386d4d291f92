package ghcr_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

// forbidDeletes answers every DELETE as GitHub answers a GITHUB_TOKEN
// without the Admin role on the package: 403, no rate-limit signs.
func forbidDeletes(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodDelete {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	io.WriteString(w, integration)
	return true
}

func connectAs(t *testing.T, srv *fakeghcr.Server, tok, owner string) *ghcr.Client {
	t.Helper()
	tr, _ := newTransport()
	c, err := ghcr.New(bg, ghcr.Config{Token: tok, Owner: owner, APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A 403 that is no rate limit says what the token needs, for the kind of
// token it is.
func TestForbiddenSaysTheFix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token string
		opts        []fakeghcr.Option
		want        []string
	}{
		{"GITHUB_TOKEN", "ghs_actions", nil,
			[]string{"GITHUB_TOKEN", "`permissions: packages: write`", "Admin role", "Manage Actions access"}},
		{"classic", "ghp_classic", []fakeghcr.Option{fakeghcr.WithTokenScopes("read:packages", "delete:packages")},
			[]string{"this token is a classic personal access token with read:packages and delete:packages: its user needs the Admin role on the package"}},
		{"classic, scopes not listed", "ghp_classic", nil,
			[]string{"this token is a classic personal access token: it needs read:packages and delete:packages, and its user needs the Admin role on the package"}},
		{"OAuth app token, only repo", "gho_oauth", []fakeghcr.Option{fakeghcr.WithTokenScopes("repo")},
			[]string{"this token is an OAuth app token: it needs read:packages and delete:packages (its scopes: repo)"}},
		{"unknown kind", "0123456789abcdef", nil,
			[]string{"`permissions: packages: write`", "Manage Actions access", "classic personal access token needs read:packages and delete:packages", "fine-grained personal access tokens do not work with GitHub Packages"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeghcr.Start(append([]fakeghcr.Option{fakeghcr.WithToken(tc.token)}, tc.opts...)...)
			t.Cleanup(srv.Close)
			srv.AddOrg("Acme")
			putN(t, srv, "Acme", "app", 2)
			c := connectAs(t, srv, tc.token, "Acme")
			srv.SetFault(forbidDeletes)
			id := srv.Versions("Acme", "app")[0].ID
			err := c.DeleteVersion(bg, "app", id)
			var pe *ghcr.PermissionError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want a *ghcr.PermissionError", err, err)
			}
			msg := err.Error()
			for _, w := range append(tc.want, "permission: deleting version", "403 Resource not accessible by integration") {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, tc.token) {
				t.Error("the error shows the token")
			}
			if n := srv.Stats().REST["DELETE"]; n != 1 {
				t.Errorf("%d DELETEs, want 1 (a permission error is not retried)", n)
			}
		})
	}
}

// A secondary rate limit that outlasts the Transport's patience is a rate
// limit still, not a permission problem.
func TestRateLimitIsNotAPermissionError(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 2)
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		fakeghcr.WriteSecondaryLimit(w, http.StatusForbidden, time.Hour)
		return true
	})
	err := c.DeleteVersion(bg, "app", srv.Versions("Acme", "app")[0].ID)
	var pe *ghcr.PermissionError
	if err == nil || errors.As(err, &pe) {
		t.Errorf("err = %v, want a rate-limit error", err)
	}
}

// A package the token cannot see answers 404; the error says what would
// let the token see it.
func TestNotFoundSaysTheFix(t *testing.T) {
	t.Parallel()
	srv := fakeghcr.Start(fakeghcr.WithToken("ghs_actions"))
	t.Cleanup(srv.Close)
	srv.AddOrg("Acme")
	putN(t, srv, "Acme", "app", 2)
	c := connectAs(t, srv, "ghs_actions", "Acme")
	err := c.CheckPackage(bg, "secret")
	if err == nil || !strings.Contains(err.Error(), `packages: Acme has no container package "secret", or the token cannot see it`) ||
		!strings.Contains(err.Error(), "Manage Actions access") {
		t.Errorf("CheckPackage: %v", err)
	}
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/versions") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Package not found.","status":"404"}`)
		return true
	})
	_, err = c.Versions(bg, "app")
	var pe *ghcr.PermissionError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "404 Package not found.") || !strings.Contains(err.Error(), "cannot see it") {
		t.Errorf("Versions: %v", err)
	}
}
