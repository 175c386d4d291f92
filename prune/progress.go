package prune

import (
	"context"
	"sync"
	"time"
)

// Progress counts a run's long work as it happens, for a progress line: a
// package of 100,000 versions takes minutes to list and read cold, and
// hours to delete at GitHub's pace. It travels in the run's context (see
// WithProgress), so every stage that waits on GitHub counts into it without
// each signature carrying it. It is safe for concurrent use, and a nil
// *Progress counts nothing.
type Progress struct {
	now func() time.Time

	mu    sync.Mutex
	state ProgressState
	read  int // manifests read in the whole run
	// cached, when set, says how many manifests the cross-run cache has
	// served so far.
	cached func() int
}

// Stage is what a run is waiting on.
type Stage string

const (
	Idle         Stage = ""
	Listing      Stage = "listing"
	Reading      Stage = "reading manifests"
	Deleting     Stage = "deleting"
	RemovingTags Stage = "removing tags"
)

// ProgressState is a run's progress at one moment.
type ProgressState struct {
	Package string
	Stage   Stage
	// Since is when the stage began. Done and Total are its work so far
	// and in all: manifests read, versions deleted or tags removed; Total
	// is 0 while it is not known (a listing's size is known when it ends).
	Since       time.Time
	Done, Total int
	// Listed is how many versions the package's latest listing had.
	Listed int
	// Fetched and FromCache are the manifests read in the run so far: from
	// the registry, and from the cross-run cache.
	Fetched, FromCache int
	// While the package's deletions run (DeleteSince is when they began),
	// Deleted of Planned are done; the package may be read again between
	// waves meanwhile (Stage Listing or Reading).
	Deleting         bool
	DeleteSince      time.Time
	Deleted, Planned int
}

// NewProgress counts from now on; now is the clock (nil: time.Now).
func NewProgress(now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	return &Progress{now: now}
}

type progressKey struct{}

// WithProgress makes p count the work of the run that ctx carries.
func WithProgress(ctx context.Context, p *Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// ProgressFrom is the Progress ctx carries, or nil.
func ProgressFrom(ctx context.Context) *Progress {
	p, _ := ctx.Value(progressKey{}).(*Progress)
	return p
}

// CountCache tells the progress how many manifests the cross-run cache
// has served, which only the cache knows; the rest of those read were
// fetched.
func (p *Progress) CountCache(cached func() int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cached = cached
}

// State is the progress now.
func (p *Progress) State() ProgressState {
	if p == nil {
		return ProgressState{}
	}
	p.mu.Lock()
	s, read, cached := p.state, p.read, p.cached
	p.mu.Unlock()
	if cached != nil {
		s.FromCache = min(cached(), read)
	}
	s.Fetched = read - s.FromCache
	return s
}

// update changes the state under the lock.
func (p *Progress) update(f func(s *ProgressState)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.state)
}

func (p *Progress) stage(s *ProgressState, pkg string, st Stage, total int) {
	s.Package, s.Stage, s.Since, s.Done, s.Total = pkg, st, p.now(), 0, total
}

// listing starts a listing of pkg's versions.
func (p *Progress) listing(pkg string) {
	p.update(func(s *ProgressState) {
		if s.Package != pkg {
			s.Deleting = false
		}
		p.stage(s, pkg, Listing, 0)
	})
}

// listed ends a listing that found n versions.
func (p *Progress) listed(n int) {
	p.update(func(s *ProgressState) { s.Listed, s.Done, s.Total = n, n, n })
}

// reading starts reading n manifests of pkg.
func (p *Progress) reading(pkg string, n int) {
	if n == 0 {
		return
	}
	p.update(func(s *ProgressState) { p.stage(s, pkg, Reading, n) })
}

// readOne counts one manifest read.
func (p *Progress) readOne() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read++
	if p.state.Stage == Reading {
		p.state.Done++
	}
}

// deleting starts the deletions of pkg's plan.
func (p *Progress) deleting(pkg string, planned int) {
	p.update(func(s *ProgressState) {
		p.stage(s, pkg, Deleting, planned)
		s.Deleting, s.DeleteSince, s.Deleted, s.Planned = true, s.Since, 0, planned
	})
}

// deletions says how many of the plan's deletions are done: tried, whatever
// the outcome, or dropped because a re-read keeps the version now.
func (p *Progress) deletions(done int) {
	p.update(func(s *ProgressState) {
		s.Deleted = done
		s.Stage, s.Since, s.Done, s.Total = Deleting, s.DeleteSince, s.Deleted, s.Planned
	})
}

// untagging starts the plan's n tag removals, after its deletions.
func (p *Progress) untagging(n int) {
	if n == 0 {
		return
	}
	p.update(func(s *ProgressState) {
		s.Deleting = false
		p.stage(s, s.Package, RemovingTags, n)
	})
}

// untagged says how many of the tag removals are done.
func (p *Progress) untagged(done int) {
	p.update(func(s *ProgressState) { s.Done = done })
}

// deletingDone ends the deletions and tag removals of a plan.
func (p *Progress) deletingDone() {
	p.update(func(s *ProgressState) {
		s.Deleting = false
		s.Stage = Idle
	})
}
