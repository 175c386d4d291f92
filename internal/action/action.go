// Package action is ghcr-prune as a GitHub Action: it reads the inputs,
// runs the pipeline (load, decide, apply) and writes the job summary, the
// plan file and the outputs.
package action

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
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

// restore brings back what an earlier run deleted (restore-from).
func restore(ctx context.Context, a *githubactions.Action, client *ghcr.Client, cfg config, tool string) error {
	items := prune.Restore(ctx, client, cfg.restore, cfg.dryRun)
	a.AddStepSummary(prune.RestoreMarkdown(items, cfg.dryRun) + "\n" + prune.ToolLine(tool))
	restored, failed := 0, 0
	for _, it := range items {
		switch it.Outcome {
		case prune.Restored:
			restored++
			a.Infof("restored %s version %d %s", it.Package, it.ID, it.Digest)
		case prune.WouldRestore:
			a.Infof("would restore %s version %d %s", it.Package, it.ID, it.Digest)
		case prune.RestoreFailed:
			failed++
			a.Warningf("could not restore %s version %d: %s", it.Package, it.ID, it.Detail)
		}
	}
	a.SetOutput("restored-count", strconv.Itoa(restored))
	if failed > 0 {
		return fmt.Errorf("%d of %d versions could not be restored; see the job summary", failed, len(items))
	}
	return nil
}

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

func writePlanFile(path string, r *prune.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// outputNames are every output action.yml declares; tests check the two agree.
var outputNames = []string{"planned-count", "kept-count", "deleted-count", "deleted-ids", "plan-path", "broken-count", "restored-count", "deferred-count"}

// writeResults writes the job summary, the plan file and the outputs.
func writeResults(a *githubactions.Action, r *prune.Report) error {
	a.AddStepSummary(r.Markdown())
	planned, kept, deferred := 0, 0, 0
	for _, p := range r.Packages {
		if p.Plan != nil {
			planned += len(p.Plan.Delete)
			kept += len(p.Plan.Keep)
			deferred += len(p.Plan.Deferred)
		}
	}
	ids := r.DeletedIDs()
	// Outputs first: whatever happens to the plan file, the ids of what
	// was deleted must reach the workflow.
	a.SetOutput("planned-count", strconv.Itoa(planned))
	a.SetOutput("kept-count", strconv.Itoa(kept))
	a.SetOutput("deleted-count", strconv.Itoa(len(ids)))
	a.SetOutput("deleted-ids", strings.Join(ids, ","))
	a.SetOutput("broken-count", strconv.Itoa(r.BrokenAfter()))
	a.SetOutput("deferred-count", strconv.Itoa(deferred))
	path, shown := planFilePath(a)
	if err := writePlanFile(path, r); err != nil {
		return fmt.Errorf("writing the plan file %s: %w", path, err)
	}
	a.SetOutput("plan-path", shown)
	return nil
}

// planFilePath is where the plan file goes and the path later steps know it
// by. A Docker action sees the runner's workspace (mounted at
// GITHUB_WORKSPACE) but not its RUNNER_TEMP, so the file goes into the
// workspace and the output is relative to it, as upload-artifact expects.
func planFilePath(a *githubactions.Action) (path, shown string) {
	const name = "ghcr-prune-plan.json"
	if ws := a.Getenv("GITHUB_WORKSPACE"); ws != "" {
		return filepath.Join(ws, name), name
	}
	dir := a.Getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	path = filepath.Join(dir, name)
	return path, path
}
