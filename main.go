// Command ghcr-prune is a GitHub Action that deletes old container images
// from GitHub Container Registry without breaking an image anyone still
// pulls: it deletes only package versions that nothing kept can reach.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

func main() {
	demo := flag.Bool("demo", false, "run against a built-in fake GHCR holding the Logto incident's package, and print the job summary")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *demo {
		if err := runDemo(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "ghcr-prune -demo:", err)
			os.Exit(1)
		}
		return
	}
	a := githubactions.New()
	if _, err := run(ctx, a, time.Now()); err != nil {
		a.Fatalf("%v", err)
	}
}

// run is the whole action: inputs in; job summary, plan file and outputs out.
func run(ctx context.Context, a *githubactions.Action, now time.Time) (*retention.Report, error) {
	cfg, err := parseInputs(a)
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
	pkgs, err := resolvePackages(ctx, client, cfg.packages)
	if err != nil {
		return nil, err
	}
	report := retention.Run(ctx, client, pkgs, cfg.policy, now, cfg.dryRun, a)
	report.Inputs = cfg.inputs
	if err := writeResults(a, report); err != nil {
		return report, err
	}
	if report.Failed() {
		var failed []string
		for _, p := range report.Packages {
			if p.Err != nil {
				failed = append(failed, p.Package)
			}
		}
		return report, fmt.Errorf("failed for %s; see the job summary", strings.Join(failed, ", "))
	}
	return report, nil
}

// resolvePackages expands wildcards over the owner's packages and checks
// that every package named outright exists, before anything is read.
func resolvePackages(ctx context.Context, c *ghcr.Client, entries []string) ([]string, error) {
	var all []string
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, e := range entries {
		if !strings.ContainsAny(e, "*?") {
			if err := c.CheckPackage(ctx, e); err != nil {
				return nil, err
			}
			add(e)
			continue
		}
		if all == nil {
			var err error
			if all, err = c.Packages(ctx); err != nil {
				return nil, fmt.Errorf("packages: %w", err)
			}
		}
		pat, err := retention.ParsePatterns(e, false)
		if err != nil {
			return nil, fmt.Errorf("packages: %w", err)
		}
		matched := false
		for _, p := range all {
			if pat.MatchTag(p) {
				add(p)
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("packages: no container package of %s matches %q", c.Owner(), e)
		}
	}
	return out, nil
}

// outputNames are every output action.yml declares; tests check the two agree.
var outputNames = []string{"planned-count", "kept-count", "deleted-count", "deleted-ids", "plan-path"}

// writeResults writes the job summary, the plan file and the outputs.
func writeResults(a *githubactions.Action, r *retention.Report) error {
	a.AddStepSummary(r.Markdown())
	plan, err := r.JSON()
	if err != nil {
		return err
	}
	dir := a.Getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	planPath := filepath.Join(dir, "ghcr-prune-plan.json")
	if err := os.WriteFile(planPath, plan, 0o644); err != nil {
		return fmt.Errorf("writing the plan file: %w", err)
	}
	planned, kept, deleted := 0, 0, 0
	var ids []string
	for _, p := range r.Packages {
		if p.Plan != nil {
			planned += len(p.Plan.Delete)
			kept += len(p.Plan.Keep)
		}
		if p.Result != nil {
			for _, x := range p.Result.Applied {
				if x.Outcome == retention.Deleted {
					deleted++
					ids = append(ids, strconv.FormatInt(x.ID, 10))
				}
			}
		}
	}
	a.SetOutput("planned-count", strconv.Itoa(planned))
	a.SetOutput("kept-count", strconv.Itoa(kept))
	a.SetOutput("deleted-count", strconv.Itoa(deleted))
	a.SetOutput("deleted-ids", strings.Join(ids, ","))
	a.SetOutput("plan-path", planPath)
	return nil
}
