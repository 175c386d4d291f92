package prune

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

// memRegistry serves benchSource's buildx package as a Registry and records
// the deletions; the listing of any package in unreadable fails.
type memRegistry struct {
	src        *benchSource
	unreadable map[string]bool
	mu         sync.Mutex
	deleted    []int64
}

func (r *memRegistry) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	if r.unreadable[pkg] {
		return nil, errors.New("500 Internal Server Error")
	}
	all, _ := r.src.Versions(ctx, pkg)
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(all, func(v retention.Version) bool { return slices.Contains(r.deleted, v.ID) }), nil
}

func (r *memRegistry) NewestVersions(ctx context.Context, pkg string) ([]retention.Version, error) {
	return r.Versions(ctx, pkg)
}

func (r *memRegistry) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	return r.src.Manifest(ctx, pkg, digest)
}

func (r *memRegistry) RemainingRequests() (int, bool) { return 0, false }

func (r *memRegistry) DeleteVersion(_ context.Context, _ string, id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleted = append(r.deleted, id)
	return nil
}

func (r *memRegistry) Untag(context.Context, string, string, string) error {
	return errors.New("no tag removal expected")
}

// nopLogger drops the log.
type nopLogger struct{}

func (nopLogger) Group(string)            {}
func (nopLogger) EndGroup()               {}
func (nopLogger) Infof(string, ...any)    {}
func (nopLogger) Warningf(string, ...any) {}

func shaPolicy(t *testing.T) retention.Policy {
	return retentiontest.Policy(func(p *retention.Policy) {
		p.DeleteTags = retentiontest.Patterns(t, "sha-*")
		p.KeepNTagged = 3
	})
}

func TestRunDryRunPlansEachPackageAndDeletesNothing(t *testing.T) {
	reg := &memRegistry{src: newBenchSource(10), unreadable: map[string]bool{"broken": true}}
	r := Run(context.Background(), reg, []string{"app", "broken"}, shaPolicy(t), benchNow, Options{DryRun: true}, nopLogger{})
	if len(r.Packages) != 2 || !r.DryRun {
		t.Fatalf("report: %+v", r)
	}
	app, broken := r.Packages[0], r.Packages[1]
	if app.Err != nil || app.Plan == nil || len(app.Plan.Delete) != 35 || app.Result != nil {
		t.Errorf("app: err %v, plan %v, result %v; want 7 images (35 versions) planned and none tried", app.Err, app.Plan != nil, app.Result)
	}
	if broken.Err == nil || !strings.Contains(broken.Err.Error(), "nothing deleted in broken") || broken.Plan != nil {
		t.Errorf("broken: %v", broken.Err)
	}
	if len(reg.deleted) != 0 {
		t.Errorf("a dry run deleted %v", reg.deleted)
	}
	if got := r.FailedPackages(); !slices.Equal(got, []string{"broken"}) {
		t.Errorf("failed packages %v", got)
	}
}

func TestRunDeletesThePlanParentsFirst(t *testing.T) {
	src := newBenchSource(10)
	reg := &memRegistry{src: src}
	r := Run(context.Background(), reg, []string{"app"}, shaPolicy(t), benchNow, Options{}, nopLogger{})
	p := r.Packages[0]
	if p.Err != nil || p.Result == nil {
		t.Fatalf("run: %v", p.Err)
	}
	var planned []int64
	for _, d := range p.Plan.Delete {
		planned = append(planned, d.ID)
	}
	if !slices.Equal(sortedIDs(reg.deleted), sortedIDs(planned)) || p.Result.Count(Deleted) != len(planned) {
		t.Fatalf("deleted %v, planned %v", reg.deleted, planned)
	}
	// Each image is four versions then its index (newBenchSource): the index
	// goes before any of its children.
	at := map[int64]int{}
	for i, id := range reg.deleted {
		at[id] = i
	}
	for id, i := range at {
		if k := id - 1_000_000; k%5 == 4 {
			for c := id - 4; c < id; c++ {
				if j, ok := at[c]; ok && j < i {
					t.Errorf("child %d deleted before its index %d", c, id)
				}
			}
		}
	}
}

func sortedIDs(ids []int64) []int64 {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// staleListings serves, for every package, a listing that has nothing
// left to delete, and records what the run listed.
type staleListings struct {
	mu     sync.Mutex
	served []retention.Version
	listed []string
}

func (s *staleListings) Unchanged(string) ([]retention.Version, bool) {
	return s.served, s.served != nil
}
func (s *staleListings) Listed(pkg string, _ []retention.Version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listed = append(s.listed, pkg)
}

func TestRunPlansConcurrentlyAndReportsInOrder(t *testing.T) {
	reg := &memRegistry{src: newBenchSource(10)}
	pkgs := []string{"p3", "p1", "p2", "p0", "p9", "p5"}
	kept := &staleListings{}
	r := Run(context.Background(), reg, pkgs, shaPolicy(t), benchNow, Options{DryRun: true, Listings: kept}, nopLogger{})
	var got []string
	for _, p := range r.Packages {
		got = append(got, p.Package)
		if p.Err != nil || len(p.Plan.Delete) != 35 {
			t.Errorf("%s: %v", p.Package, p.Err)
		}
	}
	if !slices.Equal(got, pkgs) {
		t.Errorf("report order %v, want %v", got, pkgs)
	}
	slices.Sort(kept.listed)
	if want := slices.Sorted(slices.Values(pkgs)); !slices.Equal(kept.listed, want) {
		t.Errorf("listings kept for %v, want %v", kept.listed, want)
	}
}

func TestRunThatDeletesListsAgainDespiteAKeptListing(t *testing.T) {
	src := newBenchSource(10)
	reg := &memRegistry{src: src}
	all, _ := src.Versions(context.Background(), "app")
	// The kept listing holds only the three newest images: a plan from it
	// deletes nothing. Had the listing been trusted, nothing would go.
	kept := &staleListings{served: all[len(all)-15:]}
	r := Run(context.Background(), reg, []string{"app"}, shaPolicy(t), benchNow, Options{Listings: kept}, nopLogger{})
	if p := r.Packages[0]; p.Err != nil || len(p.Plan.Delete) != 0 {
		t.Fatalf("from the kept listing: %v, %d deletions", p.Err, len(p.Plan.Delete))
	}
	// The full listing as kept: a plan that deletes is made again from
	// fresh listings before anything goes.
	kept.served = all
	reg.src = newBenchSource(10)
	r = Run(context.Background(), reg, []string{"app"}, shaPolicy(t), benchNow, Options{Listings: kept}, nopLogger{})
	if p := r.Packages[0]; p.Err != nil || p.Result == nil || p.Result.Count(Deleted) != 35 {
		t.Fatalf("run: %+v", p)
	}
}

// firstReadRegistry holds each package's first manifest read until release
// is closed, and records what else was read meanwhile.
type firstReadRegistry struct {
	*memRegistry
	release chan struct{}

	mu     sync.Mutex
	reads  map[string]int
	during []string // packages read while a first read was held
}

func (r *firstReadRegistry) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	r.mu.Lock()
	r.reads[pkg]++
	first := r.reads[pkg] == 1
	if !first || pkg != "held" {
		r.during = append(r.during, pkg)
	}
	r.mu.Unlock()
	if first && pkg == "held" {
		<-r.release
	}
	return r.memRegistry.Manifest(ctx, pkg, digest)
}

// While a package's first manifest read is out (the registry client is
// authorizing for the repository), its other reads wait without taking
// the slots that other packages' reads use.
func TestPlanAheadSendsAPackagesFirstReadAlone(t *testing.T) {
	reg := &firstReadRegistry{memRegistry: &memRegistry{src: newBenchSource(10)}, release: make(chan struct{}), reads: map[string]int{}}
	plans := PlanAhead(context.Background(), reg, []string{"held", "other"}, shaPolicy(t), benchNow, Options{DryRun: true})
	defer plans.Stop()
	deadline := time.After(10 * time.Second)
	for {
		reg.mu.Lock()
		others, held := reg.reads["other"], reg.reads["held"]
		reg.mu.Unlock()
		if others >= 40 && held > 0 {
			if held != 1 {
				t.Errorf("%d reads of the held package while its first was out, want 1", held)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatalf("other package read %d manifests while the first package's first read was out; want all of them", others)
		case <-time.After(time.Millisecond):
		}
	}
	close(reg.release)
	for _, pkg := range []string{"held", "other"} {
		if pl := plans.Next(); pl.err != nil {
			t.Errorf("%s: %v", pkg, pl.err)
		}
	}
}
