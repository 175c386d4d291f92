package ghcr_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

// untagSetup pushes an image tagged pr-1 and v1 (and another image) and
// returns the image's digest and the digests present before any untag.
func untagSetup(t *testing.T, srv *fakeghcr.Server) (string, map[string]bool) {
	t.Helper()
	p := srv.Pusher("Acme", "app")
	img := must[string](t)(p.Image("pr-1"))
	if err := p.Tag(img, "v1"); err != nil {
		t.Fatal(err)
	}
	must[string](t)(p.Image("main"))
	known := map[string]bool{}
	for _, v := range srv.Versions("Acme", "app") {
		known[v.Digest] = true
	}
	return img, known
}

// hideNewVersions hides every version not in known from the versions
// listing, for the first `times` listings after the first manifest PUT
// (times < 0: always), as if the Packages API lagged the registry.
func hideNewVersions(srv *fakeghcr.Server, known map[string]bool, times int) (func(http.ResponseWriter, *http.Request) bool, *atomic.Int32) {
	var put atomic.Bool
	var hidden atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			put.Store(true)
			return false
		}
		if !put.Load() || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/versions") {
			return false
		}
		if times >= 0 && int(hidden.Load()) >= times {
			return false
		}
		hidden.Add(1)
		editPage(w, r, srv, func(items []json.RawMessage) ([]json.RawMessage, error) {
			kept := []json.RawMessage{}
			for _, v := range items {
				var version struct{ Name string }
				if err := json.Unmarshal(v, &version); err != nil {
					return nil, err
				}
				if known[version.Name] {
					kept = append(kept, v)
				}
			}
			return kept, nil
		})
		return true
	}, &hidden
}

func wantUntagged(t *testing.T, srv *fakeghcr.Server, img string, known map[string]bool) {
	t.Helper()
	placeholders := 0
	for _, v := range srv.Versions("Acme", "app") {
		switch {
		case v.Digest == img:
			if v.Deleted || !slices.Equal(v.Tags, []string{"v1"}) {
				t.Errorf("image: deleted %v, tags %v; want active with [v1]", v.Deleted, v.Tags)
			}
		case !known[v.Digest]:
			placeholders++
			if !v.Deleted {
				t.Errorf("placeholder %s left active with tags %v", v.Digest, v.Tags)
			}
		}
	}
	if placeholders != 1 {
		t.Errorf("%d placeholders, want 1", placeholders)
	}
}

func TestUntag(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	c, w := connect(t, srv, "Acme")
	if err := c.Untag(bg, "app", "pr-1", img); err != nil {
		t.Fatal(err)
	}
	wantUntagged(t, srv, img, known)
	wantWaits(t, w)
	// One package page holds every version: it is read once.
	if s := c.Stats(); s.ListRequests != 1 || s.DeleteRequests != 1 || s.RegistryWrites != 1 {
		t.Errorf("Stats = %+v, want 1 list, 1 delete, 1 registry write", s)
	}
}

// The Packages API lags the registry: the placeholder shows up in the
// listing a little later, and Untag waits for it.
func TestUntagWaitsForTheListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	c, w := connect(t, srv, "Acme")
	hook, hidden := hideNewVersions(srv, known, 2)
	srv.SetFault(hook)
	if err := c.Untag(bg, "app", "pr-1", img); err != nil {
		t.Fatal(err)
	}
	if hidden.Load() != 2 {
		t.Errorf("the placeholder was hidden from %d listings, want 2", hidden.Load())
	}
	wantUntagged(t, srv, img, known)
	wantWaits(t, w, 500*time.Millisecond, time.Second)
}

// A placeholder that never shows up fails the untag after about 30 s of
// looking, and says the tag now points at the placeholder.
func TestUntagGivesUpWaitingForTheListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	c, w := connect(t, srv, "Acme")
	hook, hidden := hideNewVersions(srv, known, -1)
	srv.SetFault(hook)
	err := c.Untag(bg, "app", "pr-1", img)
	if err == nil || !strings.Contains(err.Error(), "placeholder") || !strings.Contains(err.Error(), "no version of app has digest") {
		t.Fatalf("err = %v, want a placeholder-not-found error", err)
	}
	var total time.Duration
	got := w.get()
	for _, d := range got {
		total += d
	}
	if len(got) != 6 || got[0] != 500*time.Millisecond || total < 25*time.Second || total > 35*time.Second {
		t.Errorf("waits = %v (%v in all), want 6 growing from 0.5s to about 30s", got, total)
	}
	if n := hidden.Load(); n != 7 {
		t.Errorf("%d listings, want 7", n)
	}
}

// Untag's wait for the listing ends with the caller's context.
func TestUntagWaitStopsWithContext(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	tr := ghcr.NewTransport(nil) // the real Sleep
	tr.Base = http.DefaultTransport.(*http.Transport).Clone()
	c, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: "Acme", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	hook, _ := hideNewVersions(srv, known, -1)
	srv.SetFault(hook)
	ctx, cancel := context.WithTimeout(bg, 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Untag(ctx, "app", "pr-1", img)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
}
