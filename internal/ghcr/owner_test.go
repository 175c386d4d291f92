package ghcr_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

func TestNewOwnerUserAndOrg(t *testing.T) {
	t.Parallel()
	srv := start(t)
	for _, owner := range []string{"alice", "ACME"} {
		c, _ := connect(t, srv, owner)
		want := map[string]string{"alice": "alice", "ACME": "Acme"}[owner]
		if c.Owner() != want {
			t.Errorf("Owner() = %q, want GitHub's spelling %q", c.Owner(), want)
		}
	}
	// The org must be addressed under /orgs/: a package there is found.
	must[string](t)(srv.Pusher("Acme", "app").Image("v1"))
	must[string](t)(srv.Pusher("alice", "tool").Image("v1"))
	org, _ := connect(t, srv, "acme")
	if err := org.CheckPackage(bg, "app"); err != nil {
		t.Errorf("org CheckPackage: %v", err)
	}
	user, _ := connect(t, srv, "alice")
	if err := user.CheckPackage(bg, "tool"); err != nil {
		t.Errorf("user CheckPackage: %v", err)
	}
	if got := org.Image("app"); got != srv.Registry()+"/acme/app" {
		t.Errorf("Image = %q", got)
	}
}

func TestNewUnknownOwner(t *testing.T) {
	t.Parallel()
	srv := start(t)
	tr, _ := newTransport()
	_, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: "nobody", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err == nil || !strings.HasPrefix(err.Error(), "owner:") || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("err = %v, want an owner: error naming nobody", err)
	}
}

// A user's own token reads the user's packages through /user/..., where
// GitHub shows private packages too; anyone else's token uses /users/{name}.
func TestClientUsesTheAuthenticatedUsersPaths(t *testing.T) {
	t.Parallel()
	for _, viewer := range []string{"alice", "bob"} {
		t.Run("viewer "+viewer, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			srv.SetViewer(viewer)
			d := must[string](t)(srv.Pusher("alice", "app").Image("v1"))
			var mu sync.Mutex
			var paths []string
			srv.SetFault(func(_ http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/packages/") {
					mu.Lock()
					paths = append(paths, r.URL.Path)
					mu.Unlock()
				}
				return false
			})
			c, _ := connect(t, srv, "alice")
			vs, err := c.Versions(bg, "app")
			if err != nil || len(vs) != 1 || vs[0].Digest != d {
				t.Fatalf("Versions = %v, %v", vs, err)
			}
			want := "/users/alice/packages/"
			if viewer == "alice" {
				want = "/user/packages/"
			}
			for _, p := range paths {
				if !strings.HasPrefix(p, want) {
					t.Errorf("request to %s, want %s...", p, want)
				}
			}
		})
	}
}
