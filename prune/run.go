package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Source reads a package: its versions and the raw manifest of each.
type Source interface {
	Versions(ctx context.Context, pkg string) ([]retention.Version, error)
	Manifest(ctx context.Context, pkg, digest string) ([]byte, error)
}

// Registry is everything a run needs from GHCR.
type Registry interface {
	Source
	Deleter
}

// Logger is the slice of the Actions toolkit a run writes its log through.
type Logger interface {
	Group(title string)
	EndGroup()
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
}

// ManifestConcurrency is how many manifests are fetched at once. The
// strongest peer uses 10 and GHCR tolerates it.
const ManifestConcurrency = 10

// Load reads every version of pkg and its manifest. Any version whose
// manifest cannot be read fails the load: a graph with a hole in it could
// make a kept image's children look unreferenced. A manifest that is gone
// (the version was deleted while we read) sends the load back to the listing.
func Load(ctx context.Context, src Source, pkg string) (retention.Snapshot, error) {
	return loadListing(ctx, src, pkg, false, nil)
}

// LoadStable is Load for a run that will delete: the listing is read again
// after the manifests and must not have changed. GitHub's pages are offsets,
// so a version deleted elsewhere while they are read shifts a live version
// out of sight; a missed index would leave its children looking
// unreferenced. Two listings that agree rule that out.
func LoadStable(ctx context.Context, src Source, pkg string) (retention.Snapshot, error) {
	return loadListing(ctx, src, pkg, true, nil)
}

const listingAttempts = 4

func loadListing(ctx context.Context, src Source, pkg string, confirm bool, known map[string]*manifest.Manifest) (retention.Snapshot, error) {
	versions, err := src.Versions(ctx, pkg)
	if err != nil {
		return retention.Snapshot{}, fmt.Errorf("listing versions of %s: %w", pkg, err)
	}
	for attempt := 1; ; attempt++ {
		snap, err := load(ctx, src, pkg, versions, known)
		if err != nil && !errors.Is(err, ErrGone) {
			return retention.Snapshot{}, err
		}
		if err == nil && !confirm {
			return snap, nil
		}
		if attempt == listingAttempts {
			if err != nil {
				return retention.Snapshot{}, err
			}
			return retention.Snapshot{}, fmt.Errorf("the versions of %s kept changing while they were read; run again when nothing else pushes to or deletes from it", pkg)
		}
		again, lerr := src.Versions(ctx, pkg)
		if lerr != nil {
			return retention.Snapshot{}, fmt.Errorf("listing versions of %s again: %w", pkg, lerr)
		}
		if err == nil && sameListing(versions, again) {
			return snap, nil
		}
		versions, known = again, snap.Manifests
	}
}

// sameListing compares ids, digests and tags.
func sameListing(a, b []retention.Version) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]bool, len(a))
	for _, v := range a {
		seen[versionKey(v)] = true
	}
	for _, v := range b {
		if !seen[versionKey(v)] {
			return false
		}
	}
	return true
}

// versionKey is what two listings must agree on for one version.
func versionKey(v retention.Version) string {
	tags := slices.Clone(v.Tags)
	slices.Sort(tags)
	return fmt.Sprint(v.ID, v.Digest, tags)
}

// load fetches the manifests of versions that known does not already hold
// (manifests are immutable by digest). A manifest that is gone does not stop
// the others: the caller lists again and keeps what was read.
func load(ctx context.Context, src Source, pkg string, versions []retention.Version, known map[string]*manifest.Manifest) (retention.Snapshot, error) {
	manifests := make(map[string]*manifest.Manifest, len(versions))
	var (
		mu       sync.Mutex
		firstErr error
		goneErr  error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, ManifestConcurrency)
	)
	var fetch []retention.Version
	for _, v := range versions {
		if m, ok := known[v.Digest]; ok {
			manifests[v.Digest] = m // before any goroutine writes the map
		} else {
			fetch = append(fetch, v)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, v := range fetch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			m, err := fetchManifest(ctx, src, pkg, v)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				manifests[v.Digest] = m
			case errors.Is(err, ErrGone):
				goneErr = err
			case firstErr == nil:
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	snap := retention.Snapshot{Package: pkg, Versions: versions, Manifests: manifests}
	if firstErr != nil {
		return snap, firstErr
	}
	return snap, goneErr
}

func fetchManifest(ctx context.Context, src Source, pkg string, v retention.Version) (*manifest.Manifest, error) {
	raw, err := src.Manifest(ctx, pkg, v.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of version %d (%s): %w", v.ID, v.Digest, err)
	}
	m, err := manifest.Parse(v.Digest, raw)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", v.ID, err)
	}
	return m, nil
}

// PackageReport is one package's run: its plan, and what happened when it
// was applied.
type PackageReport struct {
	Package  string
	Versions int
	Plan     *retention.Plan // nil when the package could not be read
	Result   *Result         // nil in a dry run or when nothing was attempted
	Err      error
	// Withdrawn is what a reviewed plan (apply-plan) listed that this run
	// does not do.
	Withdrawn []Withdrawn
	// After is the package's health re-read after the run (validate).
	After       *retention.Health
	ValidateErr error
}

// Report is a whole run, across packages.
type Report struct {
	DryRun   bool
	Confined bool // to a reviewed plan (apply-plan)
	Time     time.Time
	Owner    string
	Inputs   map[string]string // the inputs as given, for the plan file
	Packages []PackageReport
	// Tool names the build that made the report ("ghcr-prune v1.2.0,
	// commit 1a2b3c4"): users attach summaries to bug reports.
	Tool string
}

// FailedPackages names the packages that ended in an error.
func (r *Report) FailedPackages() []string {
	var out []string
	for _, p := range r.Packages {
		if p.Err != nil || p.ValidateErr != nil {
			out = append(out, p.Package)
		}
	}
	return out
}

// BrokenAfter counts the broken images and orphaned referrers validation
// found.
func (r *Report) BrokenAfter() int {
	n := 0
	for _, p := range r.Packages {
		if p.After != nil {
			n += len(p.After.Broken) + len(p.After.Orphans)
		}
	}
	return n
}

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
}

// Run plans, and unless opts.DryRun, prunes each package in turn. A package
// that cannot be read, or whose plan fails its invariants, is left
// untouched; the others still run.
func Run(ctx context.Context, reg Registry, pkgs []string, policy retention.Policy, now time.Time, opts Options, log Logger) *Report {
	report := &Report{DryRun: opts.DryRun, Time: now, Confined: opts.ApplyPlan != nil}
	for _, pkg := range pkgs {
		log.Group("Package " + pkg)
		p := policy
		if opts.ApplyPlan != nil {
			p.Allow = opts.ApplyPlan.Allowlist(pkg)
		}
		pr := runPackage(ctx, reg, pkg, p, now, opts, log)
		if opts.ApplyPlan != nil && pr.Plan != nil {
			pr.Withdrawn = reviewSkipped(opts.ApplyPlan, pr.Plan)
			for _, s := range pr.Withdrawn {
				log.Infof("  skipped from the reviewed plan: %d %s: %s", s.ID, retention.ShortDigest(s.Digest), s.Reason)
			}
		}
		if opts.Validate && pr.Err == nil {
			pr.After, pr.ValidateErr = validate(ctx, reg, pkg, log)
		}
		report.Packages = append(report.Packages, pr)
		log.EndGroup()
	}
	return report
}

// validate re-reads pkg and reports what is broken in it now.
func validate(ctx context.Context, src Source, pkg string, log Logger) (*retention.Health, error) {
	snap, err := Load(ctx, src, pkg)
	if err != nil {
		log.Warningf("validating %s: %v", pkg, err)
		return nil, err
	}
	h, err := retention.Inspect(snap)
	if err != nil {
		log.Warningf("validating %s: %v", pkg, err)
		return nil, err
	}
	for _, b := range h.Broken {
		log.Warningf("%s after the run: %s", pkg, b.Describe())
	}
	for _, o := range h.Orphans {
		log.Warningf("%s after the run: %s", pkg, o.Describe())
	}
	return h, nil
}

// Skip is an entry of a reviewed plan that this run does not carry out.
type Withdrawn struct {
	ID     int64  `json:"id"`
	Digest string `json:"digest"`
	Tag    string `json:"tag,omitempty"` // for a skipped tag removal
	Reason string `json:"reason"`
}

// reviewSkipped lists what the reviewed plan would have done but this run
// will not, and why: the version is gone, or something now keeps it.
func reviewSkipped(f *PlanFile, plan *retention.Plan) []Withdrawn {
	deleting := map[string]bool{}
	for _, d := range plan.Delete {
		deleting[d.Digest] = true
	}
	kept := map[string]retention.Decision{}
	for _, d := range plan.Keep {
		kept[d.Digest] = d
	}
	for _, d := range plan.Deferred {
		d.Reason = strings.TrimPrefix(d.Reason, "kept: ")
		kept[d.Digest] = d
	}
	untagging := map[string]bool{}
	for _, u := range plan.Untag {
		for _, t := range u.Tags {
			untagging[u.Digest+" "+t] = true
		}
	}
	var out []Withdrawn
	for _, p := range f.Packages {
		if p.Package != plan.Package {
			continue
		}
		for _, d := range p.Delete {
			if deleting[d.Digest] {
				continue
			}
			s := Withdrawn{ID: d.ID, Digest: d.Digest, Reason: "gone: no longer a version of the package"}
			if k, ok := kept[d.Digest]; ok {
				s.Reason = "now kept: " + k.Reason
				if k.Action == retention.Deferred {
					s.Reason = k.Reason
				}
				if k.ID != d.ID {
					s.Reason = fmt.Sprintf("re-pushed as version %d", k.ID)
				}
			}
			out = append(out, s)
		}
		for _, u := range p.Untag {
			for _, t := range u.Tags {
				if !untagging[u.Digest+" "+t] {
					out = append(out, Withdrawn{ID: u.ID, Digest: u.Digest, Tag: t, Reason: "tag no longer on the image, or the image is now kept whole"})
				}
			}
		}
	}
	return out
}

// NewestLister is a registry that can list just the newest versions of a
// package (one page): where a push shows up first.
type NewestLister interface {
	NewestVersions(ctx context.Context, pkg string) ([]retention.Version, error)
}

// refresh merges the newest page of versions into snap: new versions (with
// their manifests) and new tags on the newest. One request, where a full
// read is two per hundred versions; a registry that cannot list just the
// newest page gets a full read.
func refresh(ctx context.Context, src Source, snap retention.Snapshot) (retention.Snapshot, error) {
	nl, ok := src.(NewestLister)
	if !ok {
		return loadListing(ctx, src, snap.Package, true, snap.Manifests)
	}
	newest, err := nl.NewestVersions(ctx, snap.Package)
	if err != nil {
		return retention.Snapshot{}, fmt.Errorf("listing the newest versions of %s: %w", snap.Package, err)
	}
	byID := make(map[int64]int, len(snap.Versions))
	for i, v := range snap.Versions {
		byID[v.ID] = i
	}
	versions := slices.Clone(snap.Versions)
	for _, v := range newest {
		if i, ok := byID[v.ID]; ok {
			versions[i] = v // its tags as they are now
		} else {
			versions = append(versions, v)
		}
	}
	next, err := load(ctx, src, snap.Package, versions, snap.Manifests)
	if errors.Is(err, ErrGone) {
		// Pushed and deleted again in between: read it all.
		return loadListing(ctx, src, snap.Package, true, snap.Manifests)
	}
	return next, err
}

func runPackage(ctx context.Context, reg Registry, pkg string, policy retention.Policy, now time.Time, opts Options, log Logger) PackageReport {
	dryRun := opts.DryRun
	pr := PackageReport{Package: pkg}
	snap, err := loadListing(ctx, reg, pkg, !dryRun, nil)
	if err != nil {
		pr.Err = fmt.Errorf("%w; nothing deleted in %s", err, pkg)
		log.Warningf("%s", pr.Err)
		return pr
	}
	pr.Versions = len(snap.Versions)
	plan, err := retention.Compute(snap, policy, now)
	if err == nil {
		err = plan.Check(policy)
	}
	if err != nil {
		pr.Err = fmt.Errorf("planning %s: %w; nothing deleted in %s", pkg, err, pkg)
		log.Warningf("%s", pr.Err)
		return pr
	}
	plan = limit(plan, reg, len(snap.Versions), opts.MaxDeletions, log)
	if err := plan.Check(policy); err != nil {
		pr.Err = fmt.Errorf("planning %s: %w; nothing deleted in %s", pkg, err, pkg)
		log.Warningf("%s", pr.Err)
		return pr
	}
	pr.Plan = plan
	for _, b := range plan.Broken {
		log.Warningf("%s: %s", pkg, b.Describe())
	}
	verb := "would delete"
	if !dryRun {
		verb = "deleting"
	}
	log.Infof("%s: %d versions, keeping %d, %s %d", pkg, pr.Versions, len(plan.Keep), verb, len(plan.Delete))
	for _, d := range plan.Delete {
		log.Infof("  %s %d %s %s: %s", verb, d.ID, retention.ShortDigest(d.Digest), d.Kind, d.Reason)
	}
	for _, u := range plan.Untag {
		log.Infof("  %s tags %s from %d %s (keeps %s)", strings.Replace(verb, "delet", "remov", 1), strings.Join(u.Tags, ", "), u.ID, retention.ShortDigest(u.Digest), strings.Join(u.Keep, ", "))
	}
	if dryRun || (len(plan.Delete) == 0 && len(plan.Untag) == 0) {
		return pr
	}
	cur := snap
	replan := func(ctx context.Context, remaining map[string]retention.Decision, gone map[string]bool, full bool) (*retention.Plan, error) {
		var err error
		if full {
			cur, err = loadListing(ctx, reg, pkg, true, cur.Manifests)
		} else {
			cur, err = refresh(ctx, reg, cur)
		}
		if err != nil {
			return nil, err
		}
		// What this run deleted is gone whether or not the listing says so
		// yet; everything else listed, or seen before, still stands.
		left := cur
		left.Versions = slices.DeleteFunc(slices.Clone(cur.Versions), func(v retention.Version) bool { return gone[v.Digest] })
		next, err := retention.Sweep(left, remaining, policy.ExcludeTags)
		if err == nil {
			err = next.Check(policy)
		}
		return next, err
	}
	pr.Result = ApplyWaves(ctx, plan, reg, replan)
	for _, a := range pr.Result.Deletions {
		switch a.Outcome {
		case Deleted, AlreadyGone:
		case Refused:
			log.Warningf("%s: version %d (%s) not deleted: %s", pkg, a.ID, a.Digest, a.Detail)
		default:
			log.Infof("  %s %d %s: %s", a.Outcome, a.ID, retention.ShortDigest(a.Digest), a.Detail)
		}
	}
	for _, u := range pr.Result.Untags {
		if u.Outcome != Untagged {
			log.Infof("  tag %s of %s: %s %s", u.Tag, retention.ShortDigest(u.Digest), u.Outcome, u.Detail)
		}
	}
	if pr.Result.Err != nil {
		pr.Err = pr.Result.Err
		log.Warningf("%s: %s", pkg, pr.Err)
	}
	return pr
}
