package action

import (
	"fmt"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// readCompareTo reads compare-to's plan file: an earlier run's plan, of the
// same owner, that this run's plans are compared with.
func readCompareTo(path, owner string) (*prune.PlanFile, error) {
	data, err := readPlanFile(path)
	if err != nil {
		return nil, err
	}
	f, err := prune.ReadPlanFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Owner != "" && owner != "" && !strings.EqualFold(f.Owner, owner) {
		return nil, fmt.Errorf("%s is a plan of %s's packages, not %s's", path, f.Owner, owner)
	}
	return f, nil
}

// compare adds to the report what its plans change against compare-to's.
func compare(cfg config, r *prune.Report) {
	if cfg.compareTo != nil {
		r.Comparison = prune.Compare(cfg.compareTo, cfg.compareToPath, r)
	}
}
