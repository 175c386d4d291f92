package ghcr_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

func TestPackageNameWithSlash(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "team/app")
	d := must[string](t)(p.Image("v1"))
	d2 := must[string](t)(p.Image(""))
	c, _ := connect(t, srv, "Acme")
	if err := c.CheckPackage(bg, "team/app"); err != nil {
		t.Fatalf("CheckPackage: %v", err)
	}
	vs, err := c.Versions(bg, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "Acme", "team/app", vs)
	m, err := c.Manifest(bg, "team/app", d)
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	if sha(m) != d {
		t.Errorf("manifest hashes to %s, want %s", sha(m), d)
	}
	var id int64
	for _, v := range vs {
		if v.Digest == d2 {
			id = v.ID
		}
	}
	if err := c.DeleteVersion(bg, "team/app", id); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if err := c.CheckPackage(bg, "team"); err == nil {
		t.Error(`CheckPackage("team") found a package`)
	}
}

func TestCheckPackageUnknown(t *testing.T) {
	t.Parallel()
	srv := start(t)
	c, _ := connect(t, srv, "alice")
	err := c.CheckPackage(bg, "ghost")
	if err == nil || !strings.HasPrefix(err.Error(), "packages:") || !strings.Contains(err.Error(), `"ghost"`) {
		t.Errorf("err = %v, want a packages: error naming ghost", err)
	}
	if _, err := c.Versions(bg, "ghost"); err == nil {
		t.Error("Versions of an unknown package succeeded")
	}
}

func TestPackagesWildcardListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	for _, pkg := range []string{"zeta", "alpha", "team/mid"} {
		must[string](t)(srv.Pusher("Acme", pkg).Image("v1"))
	}
	must[string](t)(srv.Pusher("alice", "mine").Image("v1"))
	c, _ := connect(t, srv, "Acme")
	names, err := c.Packages(bg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alpha", "team/mid", "zeta"}; !slices.Equal(names, want) {
		t.Errorf("Packages = %v, want %v", names, want)
	}
	u, _ := connect(t, srv, "alice")
	if names, err := u.Packages(bg); err != nil || !slices.Equal(names, []string{"mine"}) {
		t.Errorf("user Packages = %v, %v", names, err)
	}
}

func TestPackagesManyPages(t *testing.T) {
	t.Parallel()
	srv := start(t)
	want := make([]string, 105)
	var wg sync.WaitGroup
	errs := make([]error, len(want))
	for i := range want {
		want[i] = fmt.Sprintf("p%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = srv.Pusher("alice", want[i]).Image("v1")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	c, _ := connect(t, srv, "alice")
	names, err := c.Packages(bg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, want) {
		t.Errorf("Packages listed %d names, want %d", len(names), len(want))
	}
	if s := c.Stats(); s.ListRequests != 2 {
		t.Errorf("ListRequests = %d, want 2", s.ListRequests)
	}
}

func TestPackagesWithActionsToken(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeghcr.WithActionsToken())
	d := must[string](t)(srv.Pusher("Acme", "app").Image("v1"))
	c, _ := connect(t, srv, "Acme")
	_, err := c.Packages(bg)
	if err == nil {
		t.Fatal("Packages succeeded with the Actions token")
	}
	for _, s := range []string{"wildcard", "GITHUB_TOKEN", "Invalid argument"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err = %v, want it to mention %q", err, s)
		}
	}
	// The per-package endpoints still work with it.
	if err := c.CheckPackage(bg, "app"); err != nil {
		t.Errorf("CheckPackage: %v", err)
	}
	vs, err := c.Versions(bg, "app")
	if err != nil || len(vs) != 1 || vs[0].Digest != d {
		t.Errorf("Versions = %v, %v", vs, err)
	}
}

// A packages listing that never ends stops at GitHub's own bound.
func TestPackagesEndlessListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	putN(t, srv, "Acme", "app", 1)
	c, _ := connect(t, srv, "Acme")
	srv.SetHostile(fakeghcr.Hostile{LastPage: 999999999999999})
	_, err := c.Packages(bg)
	if err == nil || !strings.Contains(err.Error(), "container packages of Acme") || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("err = %v", err)
	}
	if n := srv.Stats().REST["GET"]; n > 100+1 {
		t.Errorf("%d requests, want at most 100 pages", n)
	}
}

func TestPackageInfosCountAndUpdated(t *testing.T) {
	t.Parallel()
	start0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var offset atomic.Int64 // the fake's handlers read the clock on their own goroutines
	srv := start(t, fakeghcr.WithClock(func() time.Time { return start0.Add(time.Duration(offset.Load())) }))
	must[string](t)(srv.Pusher("alice", "one").Image("v1"))
	must[string](t)(srv.Pusher("alice", "two").Image("v1"))
	offset.Store(int64(time.Hour))
	clock := start0.Add(time.Hour)
	must[string](t)(srv.Pusher("alice", "two").Image("v2"))
	c, _ := connect(t, srv, "alice")
	infos, err := c.PackageInfos(bg)
	if err != nil {
		t.Fatal(err)
	}
	want := []ghcr.PackageInfo{
		{Name: "one", VersionCount: 1, UpdatedAt: clock.Add(-time.Hour)},
		{Name: "two", VersionCount: 2, UpdatedAt: clock},
	}
	if len(infos) != len(want) {
		t.Fatalf("PackageInfos = %+v, want %+v", infos, want)
	}
	for i := range want {
		if infos[i].Name != want[i].Name || infos[i].VersionCount != want[i].VersionCount || !infos[i].UpdatedAt.Equal(want[i].UpdatedAt) {
			t.Errorf("PackageInfos[%d] = %+v, want %+v", i, infos[i], want[i])
		}
	}
}
