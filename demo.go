package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

// runDemo replays the Logto incident against the built-in fake GHCR: the
// prod tag sits on a multi-arch index whose platform and attestation
// manifests are untagged and weeks old, and the workflow deletes "untagged
// images older than 3 days". ghcr-prune deletes only the superseded image.
func runDemo(ctx context.Context, w io.Writer) error {
	now := time.Now().UTC().Truncate(time.Second)
	srv := fakeghcr.Start()
	defer srv.Close()
	if err := seedIncident(srv, now); err != nil {
		return fmt.Errorf("seeding the fake GHCR: %w", err)
	}
	dir, err := os.MkdirTemp("", "ghcr-prune-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := map[string]string{
		"GITHUB_REPOSITORY":       "logto-io/logto",
		"GITHUB_REPOSITORY_OWNER": "logto-io",
		"GITHUB_API_URL":          srv.URL(),
		"GITHUB_STEP_SUMMARY":     filepath.Join(dir, "summary.md"),
		"GITHUB_OUTPUT":           filepath.Join(dir, "output"),
		"RUNNER_TEMP":             dir,
		"INPUT_REGISTRY-URL":      srv.URL(),
		"INPUT_OLDER-THAN":        "3 days",
		"INPUT_DRY-RUN":           "true",
	}
	for _, f := range []string{"summary.md", "output"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "ghcr-prune demo: the Logto incident (2023-12-17) on a fake GHCR at %s\n", srv.URL())
	fmt.Fprintln(w, "inputs: packages=logto (owner logto-io), older-than=3 days, delete-untagged (default), dry-run=true")
	fmt.Fprintln(w)
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(w))
	_, runErr := run(ctx, a, now)
	summary, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if err != nil {
		return err
	}
	plan, err := os.ReadFile(filepath.Join(dir, "ghcr-prune-plan.json"))
	if err != nil && runErr == nil {
		return err
	}
	fmt.Fprintf(w, "\n----- job summary (GITHUB_STEP_SUMMARY) -----\n\n%s", summary)
	fmt.Fprintf(w, "\n----- plan file: %d bytes of JSON (output plan-path) -----\n", len(plan))
	return runErr
}

// seedIncident builds the incident's package, logto-io/logto:
//   - prod: a multi-arch index (amd64, arm64, provenance attestations) built
//     20 days ago and promoted to prod; its 4 children are untagged.
//   - the previous prod: the same shape, untagged since prod moved, 4 days ago.
//   - a pull-request build pushed untagged yesterday.
func seedIncident(srv *fakeghcr.Server, now time.Time) error {
	srv.AddOrg("logto-io")
	p := srv.Pusher("logto-io", "logto")
	platforms := []string{"linux/amd64", "linux/arm64"}
	prev, prevChildren, err := p.MultiArch("prod", platforms, true)
	if err != nil {
		return err
	}
	cur, curChildren, err := p.MultiArch("prod", platforms, true)
	if err != nil {
		return err
	}
	pr, err := p.Image("")
	if err != nil {
		return err
	}
	day := 24 * time.Hour
	for _, c := range prevChildren {
		srv.SetUpdated("logto-io", "logto", c, now.Add(-25*day))
	}
	srv.SetUpdated("logto-io", "logto", prev, now.Add(-4*day))
	for _, c := range curChildren {
		srv.SetUpdated("logto-io", "logto", c, now.Add(-20*day))
	}
	srv.SetUpdated("logto-io", "logto", cur, now.Add(-20*day))
	srv.SetUpdated("logto-io", "logto", pr, now.Add(-1*day))
	if len(srv.Versions("logto-io", "logto")) != 11 {
		return fmt.Errorf("expected 11 versions, have %d", len(srv.Versions("logto-io", "logto")))
	}
	return nil
}
