package action

import (
	"context"
	"fmt"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// resolvePackages expands wildcards (or, with regex, regexes) over the
// owner's packages and checks that every package named outright exists,
// before anything is read.
func resolvePackages(ctx context.Context, c *ghcr.Client, entries []string, regex bool) ([]string, error) {
	var all []string
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !regex && !strings.ContainsAny(e, "*?") {
			if err := c.CheckPackage(ctx, e); err != nil {
				return nil, err
			}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
			continue
		}
		if all == nil {
			var err error
			if all, err = c.Packages(ctx); err != nil {
				return nil, fmt.Errorf("packages: %w", err)
			}
		}
		pat, err := retention.ParsePatterns(e, regex)
		if err != nil {
			return nil, fmt.Errorf("packages: %w", err)
		}
		matched := false
		for _, p := range all {
			if pat.MatchTag(p) {
				matched = true
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
		if !matched {
			return nil, fmt.Errorf("packages: no container package of %s matches %q", c.Owner(), e)
		}
	}
	return out, nil
}
