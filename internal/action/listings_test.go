package action

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/mcache/mcachetest"
)

// versionListings counts the GETs of each package's versions listing, and
// of the owner's package listing, that the fake GHCR answers.
type versionListings struct {
	mu       sync.Mutex
	versions map[string]int
	packages int
}

func (v *versionListings) hook(_ http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/orgs/acme/packages")
	switch pkg, listed := strings.CutSuffix(strings.TrimPrefix(rest, "/container/"), "/versions"); {
	case ok && rest == "":
		v.packages++
	case ok && listed:
		v.versions[pkg]++
	}
	return false
}

func (v *versionListings) reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.versions, v.packages = map[string]int{}, 0
}

func (v *versionListings) counts() (map[string]int, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return maps.Clone(v.versions), v.packages
}

// A wildcard run without cache-dir keeps its package listings in the
// GitHub Actions cache with the manifests: the warm run lists only the
// owner's packages, and after a push exactly the package pushed to is
// listed again.
func TestWildcardRunKeepsListingsInTheActionsCache(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	srv := fakeghcr.Start(fakeghcr.WithToken(actionTestToken), fakeghcr.WithClock(func() time.Time { return now }))
	t.Cleanup(srv.Close)
	srv.AddOrg("acme")
	names := []string{"api", "team/web", "worker"}
	for _, pkg := range names {
		p := srv.Pusher("acme", pkg)
		for _, tag := range []string{"v1", ""} {
			if _, err := p.Image(tag); err != nil {
				t.Fatal(err)
			}
		}
	}
	listings := &versionListings{}
	srv.SetFault(listings.hook)
	svc := mcachetest.NewCacheService(t)
	env := svc.Vars(true)
	maps.Copy(env, map[string]string{
		"GITHUB_REPOSITORY": "acme/api", "GITHUB_REPOSITORY_OWNER": "acme", "GITHUB_API_URL": srv.URL(),
		"GITHUB_WORKSPACE": t.TempDir(), "INPUT_TOKEN": actionTestToken, "INPUT_OWNER": "acme",
		"INPUT_PACKAGES": "*", "INPUT_REGISTRY-URL": srv.URL(), "INPUT_DRY-RUN": "true",
		"INPUT_DELETE-UNTAGGED": "true", "INPUT_MIN-AGE": "0s",
	})
	setup := Setup{Metadata: testMetadata, Tool: "ghcr-prune test", Now: now.Add(48 * time.Hour)}
	run := func(what string) (string, map[string]int) {
		t.Helper()
		listings.reset()
		srv.ResetStats()
		var log bytes.Buffer
		if _, err := AsRunner(context.Background(), t.TempDir(), env, &log, setup); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, log.String())
		}
		versions, packages := listings.counts()
		if packages == 0 {
			t.Fatalf("%s did not list the owner's packages", what)
		}
		return log.String(), versions
	}

	_, versions := run("the cold run")
	if want := map[string]int{"api": 1, "team/web": 1, "worker": 1}; !maps.Equal(versions, want) {
		t.Fatalf("the cold run listed versions %v, want each package once: %v", versions, want)
	}
	if keys := svc.Keys(); len(keys) != 1 {
		t.Fatalf("the cold run saved %v", keys)
	}

	log, versions := run("the warm run")
	if len(versions) != 0 || srv.Stats().ManifestGets != 0 {
		t.Fatalf("the warm run listed versions %v and fetched %d manifests, want none\n%s", versions, srv.Stats().ManifestGets, log)
	}
	if !strings.Contains(log, "3 package listings from") || strings.Count(log, "unchanged since an earlier run listed it") != len(names) {
		t.Errorf("the log does not say the listings were restored and served:\n%s", log)
	}
	if keys := svc.Keys(); len(keys) != 1 {
		t.Fatalf("the warm run, with nothing changed, saved: %v", keys)
	}

	if _, err := srv.Pusher("acme", "team/web").Image(""); err != nil {
		t.Fatal(err)
	}
	if _, versions := run("the run after a push"); !maps.Equal(versions, map[string]int{"team/web": 1}) {
		t.Fatalf("after a push to team/web the run listed versions %v, want team/web once", versions)
	}
	if _, versions := run("the run after that"); len(versions) != 0 {
		t.Fatalf("the run after that listed versions %v, want none: the new listing was not kept", versions)
	}
	if keys := svc.Keys(); len(keys) != 2 {
		t.Fatalf("saved %v, want the cold run's entry and the one after the push", keys)
	}
}
