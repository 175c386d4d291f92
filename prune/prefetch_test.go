package prune

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// pagedSource hands out its listing in two pages through ListedPage, as
// internal/ghcr does, and holds the second page back until a manifest of
// the first has been read: a load that waits for the whole listing before
// reading manifests never gets past Versions.
type pagedSource struct {
	*benchSource
	failDigest string // a manifest that fails to read, "" for none

	mu        sync.Mutex
	reads     map[string]int
	firstRead chan struct{}
	once      sync.Once
}

func newPagedSource(images int) *pagedSource {
	return &pagedSource{benchSource: newBenchSource(images), reads: map[string]int{}, firstRead: make(chan struct{})}
}

func (s *pagedSource) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	all, _ := s.benchSource.Versions(ctx, pkg)
	half := len(all) / 2
	ListedPage(ctx, all[:half])
	select {
	case <-s.firstRead:
	case <-time.After(10 * time.Second):
		return nil, errors.New("no manifest was read while the listing was under way")
	}
	ListedPage(ctx, all[half:])
	return all, nil
}

func (s *pagedSource) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	s.mu.Lock()
	s.reads[digest]++
	s.mu.Unlock()
	s.once.Do(func() { close(s.firstRead) })
	if digest == s.failDigest {
		return nil, errors.New("the registry answered 500")
	}
	return s.benchSource.Manifest(ctx, pkg, digest)
}

// A load reads a page's manifests while the rest of the listing is still
// coming, and each manifest once.
func TestLoadReadsManifestsWhileListing(t *testing.T) {
	src := newPagedSource(20)
	snap, err := LoadStable(context.Background(), src, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Manifests) != len(snap.Versions) || len(snap.Versions) != 100 {
		t.Fatalf("%d manifests for %d versions", len(snap.Manifests), len(snap.Versions))
	}
	for _, v := range snap.Versions {
		if n := src.reads[v.Digest]; n != 1 {
			t.Errorf("%s read %d times", v.Digest, n)
		}
		if m := snap.Manifests[v.Digest]; m == nil || m.Digest != v.Digest {
			t.Errorf("%s: manifest %v", v.Digest, m)
		}
	}
}

// A manifest that fails while the listing is read fails the load with the
// version named, as a failure after the listing does.
func TestLoadFailsOnAManifestReadWhileListing(t *testing.T) {
	src := newPagedSource(20)
	bad := src.versions[3]
	src.failDigest = bad.Digest
	_, err := Load(context.Background(), src, "app")
	if err == nil || !strings.Contains(err.Error(), bad.Digest) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v, want the failed read of %s", err, bad.Digest)
	}
	if n := src.reads[bad.Digest]; n != 1 {
		t.Errorf("the failing manifest was read %d times, want once", n)
	}
}
