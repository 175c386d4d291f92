package prune

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

// stepClock advances a second each time it is read.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// observedSource is a Source that shows the progress in the middle of a
// listing and of a manifest read.
type observedSource struct {
	*benchSource
	progress *Progress

	mu                        sync.Mutex
	duringListing, duringRead ProgressState
}

func (s *observedSource) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	s.duringListing = s.progress.State()
	return s.benchSource.Versions(ctx, pkg)
}

func (s *observedSource) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	s.mu.Lock()
	s.duringRead = s.progress.State()
	s.mu.Unlock()
	return s.benchSource.Manifest(ctx, pkg, digest)
}

// A load counts its listing and every manifest it reads.
func TestProgressCountsALoad(t *testing.T) {
	clock := &stepClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := NewProgress(clock.now)
	src := &observedSource{benchSource: newBenchSource(20), progress: p}
	ctx := WithProgress(context.Background(), p)
	snap, err := LoadStable(ctx, src, "app")
	if err != nil {
		t.Fatal(err)
	}
	n := len(snap.Versions)
	if got := src.duringListing; got.Stage != Listing || got.Package != "app" || got.Since.IsZero() {
		t.Errorf("during the listing: %+v", got)
	}
	if got := src.duringRead; got.Stage != Reading || got.Total != n || got.Listed != n || got.Done >= n {
		t.Errorf("during the manifests: %+v, want %d to read", got, n)
	}
	got := p.State()
	if got.Listed != n || got.Fetched != n || got.FromCache != 0 {
		t.Errorf("after the load: %+v, want %d listed and fetched", got, n)
	}
	p.CountCache(func() int { return n - 3 })
	if got := p.State(); got.Fetched != 3 || got.FromCache != n-3 {
		t.Errorf("with the cache's counts: %+v", got)
	}
}

// Deletions count up to the plan's size, and end when the waves end.
func TestProgressCountsDeletions(t *testing.T) {
	src := newBenchSource(10)
	snap, err := Load(context.Background(), src, "app")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := retention.Compute(snap, retention.Policy{DeleteTags: retentiontest.Patterns(t, "sha-*"), KeepNTagged: 2, KeepNUntagged: -1}, benchNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Delete) == 0 {
		t.Fatal("the fixture plans no deletion")
	}
	p := NewProgress(nil)
	var seen []int
	del := writerFunc(func() { s := p.State(); seen = append(seen, s.Deleted) })
	res := ApplyWaves(WithProgress(context.Background(), p), plan, del, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(seen) != len(plan.Delete) || seen[0] != 0 || seen[len(seen)-1] != len(plan.Delete)-1 {
		t.Errorf("deletions seen while deleting: %v of %d", seen, len(plan.Delete))
	}
	if got := p.State(); got.Deleting || got.Stage != Idle || got.Deleted != len(plan.Delete) || got.Planned != len(plan.Delete) {
		t.Errorf("after the waves: %+v", got)
	}
}

// writerFunc is a Writer that calls f before each deletion.
type writerFunc func()

func (f writerFunc) DeleteVersion(context.Context, string, int64) error  { f(); return nil }
func (f writerFunc) Untag(context.Context, string, string, string) error { return nil }

// A run without a Progress counts nothing and does not fail.
func TestProgressNil(t *testing.T) {
	var p *Progress
	p.listing("app")
	p.listed(3)
	p.reading("app", 3)
	p.readOne()
	p.deleting("app", 1)
	p.deletions(1)
	p.untagging(1)
	p.untagged(1)
	p.deletingDone()
	p.CountCache(nil)
	if s := p.State(); s != (ProgressState{}) {
		t.Errorf("a nil Progress has state %+v", s)
	}
	if ProgressFrom(context.Background()) != nil {
		t.Error("a context without a Progress has one")
	}
}
