package prune

import (
	"context"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

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
