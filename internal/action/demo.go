package action

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

// Demo replays the Logto incident against the built-in fake GHCR: the
// prod tag sits on a multi-arch index whose platform and attestation
// manifests are untagged and weeks old, and the workflow deletes "untagged
// images older than 3 days". ghcr-prune plans (dry run), then applies, and
// prod still pulls.
func Demo(ctx context.Context, w io.Writer, s Setup) error {
	now := s.Now.UTC().Truncate(time.Second)
	s.Now = now
	srv := fakeghcr.Start()
	defer srv.Close()
	if err := seedIncident(srv, now); err != nil {
		return fmt.Errorf("seeding the fake GHCR: %w", err)
	}
	fmt.Fprintf(w, "ghcr-prune demo: the Logto incident (2023-12-17) on a fake GHCR at %s\n\n", srv.URL())
	naive := 0
	for _, v := range srv.Versions("logto-io", "logto") {
		if len(v.Tags) == 0 && now.Sub(v.UpdatedAt) > 3*24*time.Hour {
			naive++
		}
	}
	fmt.Fprintf(w, "A rule that deletes every untagged version older than 3 days would delete %d of %d versions,\n", naive, len(srv.Versions("logto-io", "logto")))
	fmt.Fprintln(w, "including the 4 untagged children of prod: pulling prod would then fail with \"manifest unknown\".")
	fmt.Fprintln(w, "\n=== 1. dry run (the default): packages=logto, older-than=3 days, delete-untagged (default) ===")
	summary, err := demoRun(ctx, w, srv, s, "true")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n----- job summary (GITHUB_STEP_SUMMARY) -----\n\n%s", summary)
	fmt.Fprintln(w, "\n=== 2. the same with dry-run: false ===")
	if _, err := demoRun(ctx, w, srv, s, "false"); err != nil {
		return err
	}
	prod, err := name.ParseReference(srv.Registry()+"/logto-io/logto:prod", name.Insecure)
	if err != nil {
		return err
	}
	n, err := fakeghcr.Pull(prod)
	if err != nil {
		return fmt.Errorf("prod no longer pulls: %w", err)
	}
	fmt.Fprintf(w, "\nprod still pulls: its index and all %d manifests under it are there.\n", n)
	return nil
}

// DemoToken is the token the served demo's fake GHCR takes: a classic
// personal access token, by its prefix and its scopes, that works nowhere
// else.
const DemoToken = "ghp_ghcrPruneDemoTokenForTheFakeOnly0000"

// ServeDemo leaves the demo's fake GHCR running, with the incident's
// package, until ctx ends, and prints the command line that previews a
// cleanup of it, so the whole flow (plan, question, deletion) can be tried
// without a GitHub account.
func ServeDemo(ctx context.Context, w io.Writer, s Setup) error {
	srv := fakeghcr.Start(fakeghcr.WithToken(DemoToken), fakeghcr.WithTokenScopes("read:packages", "write:packages", "delete:packages"))
	defer srv.Close()
	if err := seedIncident(srv, s.Now.UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("seeding the fake GHCR: %w", err)
	}
	fmt.Fprintf(w, `ghcr-prune demo: a fake GHCR at %[1]s holds logto-io/logto, the Logto incident's package
(a multi-arch prod index 20 days old, the previous prod image 4 days old, a pull-request build).

In another shell, preview what "untagged images older than 3 days" deletes:

  GITHUB_TOKEN=%[2]s go run . --owner logto-io --packages logto --older-than 3d \
    --github-api-url %[1]s --registry-url %[1]s

Add --dry-run=false to be asked, then delete; run it again to see nothing left to do.
Press Ctrl-C here to stop the fake.
`, srv.URL(), DemoToken)
	<-ctx.Done()
	return nil
}

// demoRun runs the action once, as a runner would, and returns the summary.
func demoRun(ctx context.Context, w io.Writer, srv *fakeghcr.Server, s Setup, dryRun string) (string, error) {
	env := map[string]string{
		"GITHUB_REPOSITORY":       "logto-io/logto",
		"GITHUB_REPOSITORY_OWNER": "logto-io",
		"GITHUB_API_URL":          srv.URL(),
		"INPUT_REGISTRY-URL":      srv.URL(),
		"INPUT_OLDER-THAN":        "3 days",
		"INPUT_DRY-RUN":           dryRun,
	}
	dir, err := os.MkdirTemp("", "ghcr-prune-demo")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	r, err := AsRunner(ctx, dir, env, w, s)
	return r.Summary, err
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
