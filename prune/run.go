package prune

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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

// runPackage plans one package and, unless a dry run, deletes the plan. A
// package that cannot be read or planned is left untouched.
func runPackage(ctx context.Context, reg Registry, pkg string, policy retention.Policy, now time.Time, opts Options, log Logger) PackageReport {
	pr := PackageReport{Package: pkg}
	snap, plan, err := planPackage(ctx, reg, pkg, policy, now, opts, log)
	pr.Versions = len(snap.Versions)
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

// planPackage reads pkg (twice, to be sure of the listing, when the run
// deletes) and plans it within max-deletions and the rate budget. Every plan
// it returns has passed its invariants.
func planPackage(ctx context.Context, reg Registry, pkg string, policy retention.Policy, now time.Time, opts Options, log Logger) (retention.Snapshot, *retention.Plan, error) {
	snap, err := loadListing(ctx, reg, pkg, !opts.DryRun, nil)
	if err != nil {
		return snap, nil, err
	}
	plan, err := retention.Compute(snap, policy, now)
	if err == nil {
		err = plan.Check(policy)
	}
	if err == nil {
		plan = limit(plan, reg, len(snap.Versions), opts.MaxDeletions, log)
		err = plan.Check(policy)
	}
	if err != nil {
		return snap, nil, fmt.Errorf("planning %s: %w", pkg, err)
	}
	return snap, plan, nil
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
		log.Infof("  %s %d %s %s: %s", verb, d.ID, retention.ShortDigest(d.Digest), d.Kind, d.Reason)
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
