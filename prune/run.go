package prune

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Options are how a run goes, as opposed to what it decides.
type Options struct {
	DryRun bool
	// ApplyPlan, when set, confines every package to what this earlier plan
	// deleted and untagged (apply-plan).
	ApplyPlan *PlanFile
	// Validate re-reads each package after the run and reports what is
	// broken in it.
	Validate bool
	// MaxDeletions caps the deletions of one package in one run; 0 means
	// no cap.
	MaxDeletions int
	// Listings, when set, serves the listing of a package that has not
	// changed since an earlier run listed it, and keeps this run's
	// listings for the next.
	Listings Listings
}

// Listings are package listings kept between runs. They spare listing a
// package again only for a plan: a package whose plan deletes or untags is
// listed again, twice, before anything is deleted.
type Listings interface {
	// Unchanged is pkg's versions as an earlier run listed them, when the
	// package has not changed since.
	Unchanged(pkg string) ([]retention.Version, bool)
	// Listed keeps a complete listing of pkg.
	Listed(pkg string, versions []retention.Version)
}

// Run plans the packages concurrently (see PlanAhead) and, unless
// opts.DryRun, prunes them one at a time in the order given. A package that
// cannot be read, or whose plan fails its invariants, is left untouched;
// the others still run.
func Run(ctx context.Context, reg Registry, pkgs []string, policy retention.Policy, now time.Time, opts Options, log Logger) *Report {
	report := &Report{DryRun: opts.DryRun, Time: now, Confined: opts.ApplyPlan != nil}
	if len(pkgs) == 0 {
		return report
	}
	plans := PlanAhead(ctx, reg, pkgs, policy, now, opts)
	defer plans.Stop()
	for range pkgs {
		report.Packages = append(report.Packages, plans.Next().Apply(ctx, reg, log))
	}
	return report
}

// Planned is one package planned ahead of its turn: what Apply deletes,
// once it is the package's turn.
type Planned struct {
	Package string
	policy  retention.Policy
	now     time.Time
	opts    Options
	snap    retention.Snapshot
	plan    *retention.Plan
	err     error
	// fromCache is set when the plan comes from an earlier run's listing.
	fromCache bool
	// log is what planning wrote, shown at the package's turn so that the
	// log reads one package after another.
	log recorder
	// panicked is a panic while planning, raised again by Apply where the
	// caller can recover it.
	panicked *PlanPanic
	// wrote is set once the run has deleted or untagged in any package.
	wrote *atomic.Bool
}

// Versions are the package's versions as planning listed them.
func (pl *Planned) Versions() []retention.Version { return pl.snap.Versions }

// PlanPanic is a panic while a package was planned on a goroutine of its
// own, carried to the package's turn.
type PlanPanic struct {
	Value any
	Stack string
}

func (p *PlanPanic) Error() string { return fmt.Sprintf("while planning: %v", p.Value) }

// aheadWindow is how many packages are planned ahead of the one whose turn
// it is: enough to keep ManifestConcurrency requests in flight over small
// packages.
const aheadWindow = 2 * ManifestConcurrency

// aheadVersions bounds the versions held by packages planned ahead and
// not yet taken, so that an owner of several large packages does not hold
// them all in memory at once.
const aheadVersions = 50_000

// Plans are packages being planned concurrently; Next hands them out in
// order.
type Plans struct {
	results []chan *Planned
	next    int
	cancel  context.CancelFunc
	wrote   atomic.Bool

	mu      sync.Mutex
	cond    *sync.Cond
	ahead   int // packages started and not yet taken
	held    int // versions of the planned packages not yet taken
	stopped bool
}

// PlanAhead starts planning pkgs: up to aheadWindow packages at once, with
// the registry's manifest reads shared among them ManifestConcurrency at a
// time, the same pace as one package's. Planning reads, never writes: a
// plan that may have gone stale by its turn is made again then (see Apply).
func PlanAhead(ctx context.Context, reg Registry, pkgs []string, policy retention.Policy, now time.Time, opts Options) *Plans {
	ctx, cancel := context.WithCancel(ctx)
	p := &Plans{results: make([]chan *Planned, len(pkgs)), cancel: cancel}
	p.cond = sync.NewCond(&p.mu)
	for i := range p.results {
		p.results[i] = make(chan *Planned, 1)
	}
	shared := &sharedReads{Registry: reg, sem: make(chan struct{}, ManifestConcurrency)}
	go func() {
		for i, pkg := range pkgs {
			if !p.admit() {
				for _, ch := range p.results[i:] {
					ch <- &Planned{Package: pkg, err: context.Canceled}
				}
				return
			}
			go func() {
				pl := planAhead(ctx, shared, pkg, policy, now, opts)
				pl.wrote = &p.wrote
				p.mu.Lock()
				p.held += len(pl.snap.Versions)
				p.mu.Unlock()
				p.results[i] <- pl
			}()
		}
	}()
	return p
}

// admit waits until another package may be planned; false once stopped.
func (p *Plans) admit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.stopped && (p.ahead >= aheadWindow || (p.ahead > 0 && p.held >= aheadVersions)) {
		p.cond.Wait()
	}
	p.ahead++
	return !p.stopped
}

// Next waits for the next package's plan, in the order PlanAhead was given.
func (p *Plans) Next() *Planned {
	pl := <-p.results[p.next]
	p.next++
	p.mu.Lock()
	p.ahead--
	p.held -= len(pl.snap.Versions)
	p.cond.Broadcast()
	p.mu.Unlock()
	return pl
}

// Stop ends the planning of packages not yet taken.
func (p *Plans) Stop() {
	p.cancel()
	p.mu.Lock()
	p.stopped = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// sharedReads shares ManifestConcurrency manifest reads among the packages
// planned at once. A package's first read goes alone: it is where the
// registry client authorizes for the repository (a ping and a token, two
// round trips), and the package's other reads would wait for that inside
// the client while holding slots that other packages could use.
type sharedReads struct {
	Registry
	sem chan struct{}

	mu     sync.Mutex
	opened map[string]chan struct{} // by package; closed when its first read ends
}

func (r *sharedReads) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	first, opened := r.turn(pkg)
	if first {
		defer close(opened)
	} else {
		select {
		case <-opened:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.sem }()
	return r.Registry.Manifest(ctx, pkg, digest)
}

// turn says whether this is pkg's first read, and hands out the channel
// that its end closes.
func (r *sharedReads) turn(pkg string) (first bool, opened chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.opened[pkg]; ok {
		return false, ch
	}
	if r.opened == nil {
		r.opened = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	r.opened[pkg] = ch
	return true, ch
}

// planAhead plans one package on its own goroutine, from an earlier run's
// listing when the package has not changed since, else from one listing.
func planAhead(ctx context.Context, reg Registry, pkg string, policy retention.Policy, now time.Time, opts Options) (pl *Planned) {
	if opts.ApplyPlan != nil {
		policy.Allow = opts.ApplyPlan.Allowlist(pkg)
	}
	pl = &Planned{Package: pkg, policy: policy, now: now, opts: opts}
	defer func() {
		if v := recover(); v != nil {
			pl.panicked = &PlanPanic{Value: v, Stack: string(debug.Stack())}
		}
	}()
	if opts.Listings != nil {
		if versions, ok := opts.Listings.Unchanged(pkg); ok {
			// A manifest gone, or any other failure, says the kept
			// listing is stale: list the package instead.
			if snap, err := load(ctx, reg, pkg, versions, nil); err == nil {
				pl.snap, pl.plan, pl.err = planSnapshot(snap, policy, now, opts, reg, &pl.log)
				pl.fromCache = true
				return pl
			}
		}
	}
	pl.snap, pl.plan, pl.err = planPackage(ctx, reg, pkg, policy, now, opts, &pl.log, !opts.DryRun, nil)
	if pl.err == nil && opts.Listings != nil {
		opts.Listings.Listed(pkg, pl.snap.Versions)
	}
	return pl
}

// Apply logs the package's plan and, unless a dry run, deletes it. A plan
// that deletes or untags is made again first from two fresh listings that
// agree (see LoadStable) when it comes from an earlier run's listing, or
// when the run has deleted in other packages since it was planned (which
// takes minutes at GitHub's pace, time for pushes to land).
func (pl *Planned) Apply(ctx context.Context, reg Registry, log Logger) PackageReport {
	// No deferred EndGroup: after a panic the caller closes the group.
	log.Group("Package " + pl.Package)
	if pl.panicked != nil {
		for _, line := range strings.Split(strings.TrimSpace(pl.panicked.Stack), "\n") {
			log.Infof("%s", line)
		}
		panic(pl.panicked)
	}
	snap, plan, err := pl.snap, pl.plan, pl.err
	stale := pl.fromCache || (pl.wrote != nil && pl.wrote.Load())
	if err == nil && !pl.opts.DryRun && stale && (len(plan.Delete) > 0 || len(plan.Untag) > 0) {
		snap, plan, err = planPackage(ctx, reg, pl.Package, pl.policy, pl.now, pl.opts, log, true, snap.Manifests)
	} else {
		if pl.fromCache {
			log.Infof("%s: unchanged since an earlier run listed it (version count and last update); planned from that listing", pl.Package)
		}
		pl.log.replay(log)
	}
	pr := applyPlanned(ctx, reg, pl.Package, snap, plan, err, pl.policy, pl.opts, log)
	if pr.Result != nil && pl.wrote != nil {
		pl.wrote.Store(true)
	}
	if pl.opts.ApplyPlan != nil && pr.Plan != nil {
		pr.Withdrawn = reviewSkipped(pl.opts.ApplyPlan, pr.Plan)
		for _, s := range pr.Withdrawn {
			log.Infof("  skipped from the reviewed plan: %d %s: %s", s.ID, retention.ShortDigest(s.Digest), s.Reason)
		}
	}
	if pl.opts.Validate && pr.Err == nil {
		pr.After, pr.ValidateErr = validate(ctx, reg, pl.Package, log)
	}
	log.EndGroup()
	return pr
}

// applyPlanned reports a package's plan and, unless a dry run, deletes it.
// A package that could not be read or planned is left untouched.
func applyPlanned(ctx context.Context, reg Registry, pkg string, snap retention.Snapshot, plan *retention.Plan, err error, policy retention.Policy, opts Options, log Logger) PackageReport {
	pr := PackageReport{Package: pkg, Versions: len(snap.Versions)}
	if err != nil {
		pr.Err = fmt.Errorf("%w; nothing deleted in %s", err, pkg)
		log.Warningf("%s", pr.Err)
		return pr
	}
	pr.Plan = plan
	logPlan(log, pr, opts.DryRun)
	if opts.DryRun || (len(plan.Delete) == 0 && len(plan.Untag) == 0) {
		return pr
	}
	w := &rereader{reg: reg, policy: policy, cur: snap}
	pr.Result = ApplyWaves(ctx, plan, reg, w.replan)
	logResult(log, pkg, pr.Result)
	if pr.Result.Err != nil {
		pr.Err = pr.Result.Err
		log.Warningf("%s: %s", pkg, pr.Err)
	}
	return pr
}

// planPackage reads pkg (twice, to be sure of the listing, when confirm is
// set) and plans it. known are manifests already read.
func planPackage(ctx context.Context, reg Registry, pkg string, policy retention.Policy, now time.Time, opts Options, log Logger, confirm bool, known map[string]*manifest.Manifest) (retention.Snapshot, *retention.Plan, error) {
	snap, err := loadListing(ctx, reg, pkg, confirm, known)
	if err != nil {
		return snap, nil, err
	}
	return planSnapshot(snap, policy, now, opts, reg, log)
}

// planSnapshot plans a package as read within max-deletions and the rate
// budget. Every plan it returns has passed its invariants.
func planSnapshot(snap retention.Snapshot, policy retention.Policy, now time.Time, opts Options, reg Registry, log Logger) (retention.Snapshot, *retention.Plan, error) {
	plan, err := retention.Compute(snap, policy, now)
	if err == nil {
		err = plan.Check(policy)
	}
	if err == nil {
		// A plan limit leaves as it is has been checked already.
		if limited := limit(plan, reg, len(snap.Versions), opts.MaxDeletions, log); limited != plan {
			plan, err = limited, limited.Check(policy)
		}
	}
	if err != nil {
		return snap, nil, fmt.Errorf("planning %s: %w", snap.Package, err)
	}
	return snap, plan, nil
}

// recorder keeps log lines to write later, in order.
type recorder struct {
	mu    sync.Mutex
	lines []recorded
}

type recorded struct {
	warning bool
	text    string
}

func (r *recorder) Group(string) {}
func (r *recorder) EndGroup()    {}
func (r *recorder) Infof(format string, args ...any) {
	r.add(false, fmt.Sprintf(format, args...))
}
func (r *recorder) Warningf(format string, args ...any) {
	r.add(true, fmt.Sprintf(format, args...))
}

func (r *recorder) add(warning bool, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, recorded{warning, text})
}

func (r *recorder) replay(log Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if l.warning {
			log.Warningf("%s", l.text)
		} else {
			log.Infof("%s", l.text)
		}
	}
}

// logPlan writes the plan to the log, one line a deletion and a tag removal.
func logPlan(log Logger, pr PackageReport, dryRun bool) {
	plan := pr.Plan
	for _, b := range plan.Broken {
		log.Warningf("%s: %s", pr.Package, b.Describe())
	}
	for _, d := range plan.Keep {
		if d.Action == retention.Blocked {
			log.Warningf("%s: version %d (%s) kept: %s", pr.Package, d.ID, retention.ShortDigest(d.Digest), d.Reason)
		}
	}
	verb, untag := "would delete", "would remove"
	if !dryRun {
		verb, untag = "deleting", "removing"
	}
	log.Infof("%s: %d versions, keeping %d, %s %d", pr.Package, pr.Versions, len(plan.Keep), verb, len(plan.Delete))
	for _, d := range plan.Delete {
		log.Infof("  %s %d %s %s: %s", verb, d.ID, retention.ShortDigest(d.Digest), kindCell(d), d.Reason)
	}
	for _, u := range plan.Untag {
		log.Infof("  %s tags %s from %d %s (keeps %s)", untag, strings.Join(u.Tags, ", "), u.ID, retention.ShortDigest(u.Digest), strings.Join(u.Keep, ", "))
	}
}

// logResult writes what did not go as planned.
func logResult(log Logger, pkg string, res *Result) {
	for _, a := range res.Deletions {
		switch a.Outcome {
		case Deleted, AlreadyGone:
		case Refused:
			log.Warningf("%s: version %d (%s) not deleted: %s", pkg, a.ID, a.Digest, a.Detail)
		default:
			log.Infof("  %s %d %s: %s", a.Outcome, a.ID, retention.ShortDigest(a.Digest), a.Detail)
		}
	}
	for _, u := range res.Untags {
		if u.Outcome != Untagged {
			log.Infof("  tag %s of %s: %s %s", u.Tag, retention.ShortDigest(u.Digest), u.Outcome, u.Detail)
		}
	}
}

// rereader reads the package again between and within deletion waves and
// plans the rest (the Replanner of ApplyWaves).
type rereader struct {
	reg    Registry
	policy retention.Policy
	cur    retention.Snapshot // the package as last read
}

func (r *rereader) replan(ctx context.Context, remaining map[string]retention.Decision, gone map[string]bool, full bool) (*retention.Plan, error) {
	var err error
	if full {
		r.cur, err = loadListing(ctx, r.reg, r.cur.Package, true, r.cur.Manifests)
	} else {
		r.cur, err = refresh(ctx, r.reg, r.cur)
	}
	if err != nil {
		return nil, err
	}
	// What this run deleted is gone whether or not the listing says so
	// yet; everything else listed, or seen before, still stands.
	left := r.cur
	left.Versions = slices.DeleteFunc(slices.Clone(r.cur.Versions), func(v retention.Version) bool { return gone[v.Digest] })
	next, err := retention.Sweep(left, remaining, r.policy.ExcludeTags)
	if err == nil {
		err = next.Check(r.policy)
	}
	return next, err
}
