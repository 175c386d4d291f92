package prune

import (
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

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
	// Notes are remarks on the whole run for the summary: what
	// keep-referenced-in could not read or skipped.
	Notes []string
	// Comparison is what the plans change against an earlier plan file
	// (compare-to).
	Comparison *Comparison
	// Tool names the build that made the report ("ghcr-prune v1.2.0,
	// commit 1a2b3c4"): users attach summaries to bug reports.
	Tool string
	// TokenKind says what kind of token the run used, and its scopes when
	// GitHub listed them ("classic personal access token (ghp_), scopes:
	// delete:packages, read:packages"); never any of the token itself.
	TokenKind string
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
