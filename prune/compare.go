package prune

import (
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Comparison is what this run's plans change against an earlier plan file
// (compare-to): what a pull request that edits the rules would change.
type Comparison struct {
	Path     string    // the earlier plan file, as given
	Time     time.Time // when the earlier plan was made
	Packages []PackageComparison
}

// PackageComparison is one package of a Comparison. Deleting means planned
// for deletion, now or in a later run (deferred), whatever became of it.
type PackageComparison struct {
	Package string
	// OnlyIn names the one plan the package is in: "this plan" or "the
	// earlier plan"; "" when both have it.
	OnlyIn string
	// Unread says why the package cannot be compared: a plan could not
	// read it.
	Unread string
	// Deleted are versions this plan deletes that the earlier plan kept.
	Deleted []Change
	// Kept are versions the earlier plan deleted that this plan keeps.
	Kept []Change
	// New are versions this plan deletes that the earlier plan did not
	// know: pushed since, so no rule change decided them.
	New []Change
	// Gone counts versions the earlier plan deleted that are no longer in
	// the package.
	Gone int
}

// Change is one version's decision in this plan and in the earlier one.
type Change struct {
	retention.Decision        // this plan's
	Before             string // the earlier plan's reason, "" for a new version
}

// Changed counts the versions whose fate the two plans disagree on.
func (c *Comparison) Changed() int {
	if c == nil {
		return 0
	}
	n := 0
	for _, p := range c.Packages {
		n += len(p.Deleted) + len(p.Kept)
	}
	return n
}

// Compare compares r's plans with the earlier plan file, package by
// package, version by digest.
func Compare(earlier *PlanFile, path string, r *Report) *Comparison {
	c := &Comparison{Path: path, Time: earlier.Time}
	before := map[string]PackageFile{}
	for _, p := range earlier.Packages {
		before[p.Package] = p
	}
	for _, p := range r.Packages {
		b, ok := before[p.Package]
		delete(before, p.Package)
		switch {
		case !ok:
			c.Packages = append(c.Packages, PackageComparison{Package: p.Package, OnlyIn: "this plan"})
		case p.Plan == nil:
			c.Packages = append(c.Packages, PackageComparison{Package: p.Package, Unread: "this run could not read it"})
		case b.Error != "":
			c.Packages = append(c.Packages, PackageComparison{Package: p.Package, Unread: "the earlier run could not read it"})
		default:
			c.Packages = append(c.Packages, comparePackage(b, p.Plan))
		}
	}
	for _, p := range earlier.Packages {
		if _, left := before[p.Package]; left {
			c.Packages = append(c.Packages, PackageComparison{Package: p.Package, OnlyIn: "the earlier plan"})
		}
	}
	return c
}

func comparePackage(before PackageFile, plan *retention.Plan) PackageComparison {
	out := PackageComparison{Package: plan.Package}
	deletedBefore, keptBefore := map[string]string{}, map[string]string{}
	for _, d := range before.Delete {
		deletedBefore[d.Digest] = d.Reason
	}
	for _, d := range before.Deferred {
		deletedBefore[d.Digest] = d.Reason
	}
	for _, d := range before.Keep {
		keptBefore[d.Digest] = d.Reason
	}
	now := map[string]bool{}
	for _, d := range append(append(plan.Delete[:len(plan.Delete):len(plan.Delete)], plan.Deferred...), plan.Keep...) {
		now[d.Digest] = true
		_, wasDeleted := deletedBefore[d.Digest]
		why, wasKept := keptBefore[d.Digest]
		switch deleting := d.Action != retention.Keep && d.Action != retention.Blocked; {
		case deleting && wasKept:
			out.Deleted = append(out.Deleted, Change{Decision: d, Before: why})
		case deleting && !wasDeleted:
			out.New = append(out.New, Change{Decision: d})
		case !deleting && wasDeleted:
			out.Kept = append(out.Kept, Change{Decision: d, Before: deletedBefore[d.Digest]})
		}
	}
	for digest := range deletedBefore {
		if !now[digest] {
			out.Gone++
		}
	}
	return out
}
