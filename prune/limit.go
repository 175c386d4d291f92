package prune

import (
	"fmt"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// limit applies max-deletions and the rate budget to a plan.
func limit(plan *retention.Plan, reg Registry, versions, maxDeletions int, log Logger) *retention.Plan {
	if maxDeletions > 0 && len(plan.Delete) > maxDeletions {
		plan = plan.Limit(maxDeletions, fmt.Sprintf("max-deletions %d", maxDeletions))
	}
	if remaining, known := reg.RemainingRequests(); known && BudgetLimit(remaining, versions) < len(plan.Delete) {
		n := BudgetLimit(remaining, versions)
		log.Warningf("%s: the rate limit has %d requests left, enough for %d of %d deletions; the rest are left for a later run", plan.Package, remaining, n, len(plan.Delete))
		plan = plan.Limit(n, fmt.Sprintf("rate limit: %d requests left", remaining))
	}
	return plan
}

// versionsPerPage is how many versions one listing request returns: the
// Packages API's largest page.
const versionsPerPage = 100

// BudgetLimit is how many deletions a rate budget of remaining requests
// covers for a package of versions, leaving room for the listings a run
// that deletes makes (two per wave to confirm it, a few waves) and for the
// one-page check every CheckEvery deletions.
func BudgetLimit(remaining, versions int) int {
	pages := (versions + versionsPerPage - 1) / versionsPerPage
	overhead := 2*3*pages + 10
	return max((remaining-overhead)*CheckEvery/(CheckEvery+1), 0)
}
