// Package action is ghcr-prune as a GitHub Action: it reads the inputs,
// runs the pipeline (load, decide, apply) and writes the job summary, the
// plan file and the outputs.
package action

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// Setup is what a run knows besides its inputs.
type Setup struct {
	Metadata Metadata // action.yml: the inputs and their defaults
	Tool     string   // the build, for the summary's last line
	Now      time.Time
}

// Run is the whole action: inputs in; job summary, plan file and outputs out.
func Run(ctx context.Context, a *githubactions.Action, s Setup) (*prune.Report, error) {
	cfg, err := parseInputs(a, s.Metadata.Defaults())
	if err != nil {
		return nil, err
	}
	if cfg.token != "" {
		a.AddMask(cfg.token)
	}
	client, err := ghcr.New(ctx, ghcr.Config{Token: cfg.token, Owner: cfg.owner, APIURL: cfg.apiURL, RegistryURL: cfg.registryURL})
	if err != nil {
		return nil, err
	}
	if cfg.restore != nil {
		return nil, restore(ctx, a, client, cfg, s.Tool)
	}
	pkgs, err := resolvePackages(ctx, client, cfg.packages, cfg.packagesRegex)
	if err != nil {
		return nil, err
	}
	cache, store := openCache(ctx, a, cfg.cacheDir, client.Owner(), pkgs)
	behind := startWriteBehind(store)
	reg := newCachedClient(client, cache, behind)
	opts := prune.Options{DryRun: cfg.dryRun, ApplyPlan: cfg.applyPlan, Validate: cfg.validate, MaxDeletions: cfg.maxDeletions}
	report := prune.Run(ctx, reg, pkgs, cfg.policy, s.Now, opts, a)
	saveCache(ctx, a, cache, store, behind)
	report.Owner, report.Inputs, report.Tool = client.Owner(), cfg.inputs, s.Tool
	if err := writeResults(a, report); err != nil {
		return report, err
	}
	if failed := report.FailedPackages(); len(failed) > 0 {
		return report, fmt.Errorf("failed for %s; see the job summary", strings.Join(failed, ", "))
	}
	if n := report.BrokenAfter(); n > 0 && cfg.failOnBroken {
		return report, fmt.Errorf("validation found %d broken images or orphaned referrers, and fail-on-broken is true; see the job summary", n)
	}
	return report, nil
}
