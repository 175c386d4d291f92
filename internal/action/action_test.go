package action

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

const actionTestToken = "ghp_actionTestToken0123456789"

// panicAfterDelete is a registry whose listings panic once a version of pkg
// has been deleted: the listing read again between deletion waves.
type panicAfterDelete struct {
	prune.Registry
	pkg     string
	deleted atomic.Bool
}

func (p *panicAfterDelete) DeleteVersion(ctx context.Context, pkg string, id int64) error {
	err := p.Registry.DeleteVersion(ctx, pkg, id)
	if pkg == p.pkg {
		p.deleted.Store(true)
	}
	return err
}

func (p *panicAfterDelete) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	if p.deleted.Load() {
		panic("injected: a listing after a deletion")
	}
	return p.Registry.Versions(ctx, pkg)
}

// A panic after the first DELETE (a bug, or hostile data a check missed)
// still leaves the run undoable: the outputs, the plan file and the summary
// are written, with every deletion made, and restore-from brings them back.
func TestRunWritesResultsAfterAPanic(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	srv := fakeghcr.Start(fakeghcr.WithToken(actionTestToken), fakeghcr.WithClock(func() time.Time { return now }))
	t.Cleanup(srv.Close)
	srv.AddOrg("acme")
	push := func(pkg string, multi bool) []string {
		p := srv.Pusher("acme", pkg)
		if _, err := p.Image("v1"); err != nil {
			t.Fatal(err)
		}
		if !multi {
			d, err := p.Image("")
			if err != nil {
				t.Fatal(err)
			}
			return []string{d}
		}
		idx, children, err := p.MultiArch("", []string{"linux/amd64", "linux/arm64"}, false)
		if err != nil {
			t.Fatal(err)
		}
		return append([]string{idx}, children...)
	}
	firstGone := push("first", false)
	secondIndex := push("second", true)[0]

	ws := t.TempDir()
	env := map[string]string{
		"GITHUB_REPOSITORY": "acme/first", "GITHUB_REPOSITORY_OWNER": "acme", "GITHUB_API_URL": srv.URL(),
		"GITHUB_WORKSPACE": ws, "INPUT_TOKEN": actionTestToken, "INPUT_OWNER": "acme",
		"INPUT_PACKAGES": "first, second", "INPUT_REGISTRY-URL": srv.URL(), "INPUT_DRY-RUN": "false",
	}
	// Two days on: past every version's minimum age.
	setup := Setup{Metadata: testMetadata, Tool: "ghcr-prune test", Now: now.Add(48 * time.Hour),
		wrap: func(r prune.Registry) prune.Registry { return &panicAfterDelete{Registry: r, pkg: "second"} }}
	var log bytes.Buffer
	r, err := AsRunner(context.Background(), t.TempDir(), env, &log, setup)
	if err == nil || !strings.Contains(err.Error(), "internal error in second") {
		t.Fatalf("the run's error: %v\n%s", err, log.String())
	}
	logged := strings.ReplaceAll(log.String(), "::add-mask::"+actionTestToken, "")
	if strings.Contains(logged+r.Summary+string(r.Plan)+strings.Join(mapValues(r.Outputs), ","), actionTestToken) {
		t.Fatal("the token was printed")
	}
	idOf := func(pkg, digest string) string {
		for _, v := range srv.Versions("acme", pkg) {
			if v.Digest == digest {
				return strconv.FormatInt(v.ID, 10)
			}
		}
		t.Fatalf("no version %s in %s", digest, pkg)
		return ""
	}
	wantIDs := idOf("first", firstGone[0]) + "," + idOf("second", secondIndex)
	if got := r.Outputs["deleted-ids"]; got != wantIDs {
		t.Errorf("deleted-ids = %q, want %q", got, wantIDs)
	}
	if r.Outputs["plan-path"] != "ghcr-prune-plan.json" || r.Outputs["deleted-count"] != "2" {
		t.Errorf("outputs %v", r.Outputs)
	}
	f, err := prune.ReadPlanFile(r.Plan)
	if err != nil {
		t.Fatalf("the plan file does not read back: %v\n%s", err, r.Plan)
	}
	if len(f.Packages) != 2 || len(f.Packages[0].Keep) == 0 {
		t.Fatalf("the plan file lost the package before the panic: %+v", f.Packages)
	}
	second := f.Packages[1]
	if second.Package != "second" || len(second.Delete) != 1 || second.Delete[0].Digest != secondIndex || second.Delete[0].Outcome != prune.Deleted {
		t.Errorf("the plan file's second package: %+v", second)
	}
	if !strings.Contains(r.Summary, "internal error in second") || !strings.Contains(r.Summary, wantIDs) {
		t.Errorf("the summary does not tell:\n%s", r.Summary)
	}

	// And the run can be undone from its plan file.
	env["INPUT_RESTORE-FROM"] = ws + "/ghcr-prune-plan.json"
	setup.wrap = nil
	log.Reset()
	r, err = AsRunner(context.Background(), t.TempDir(), env, &log, setup)
	if err != nil || r.Outputs["restored-count"] != "2" {
		t.Fatalf("restore: %v, outputs %v\n%s", err, r.Outputs, log.String())
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The first package is planned ahead through the shared registry, not
// through the one that records the deletions: a panic in its deletions must
// still name each deletion by digest, or restore-from refuses the plan file.
func TestRunNamesTheDeletionsOfAPlannedAheadPackageAfterAPanic(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	srv := fakeghcr.Start(fakeghcr.WithToken(actionTestToken), fakeghcr.WithClock(func() time.Time { return now }))
	t.Cleanup(srv.Close)
	srv.AddOrg("acme")
	p := srv.Pusher("acme", "only")
	if _, err := p.Image("v1"); err != nil {
		t.Fatal(err)
	}
	idx, _, err := p.MultiArch("", []string{"linux/amd64", "linux/arm64"}, false)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_REPOSITORY": "acme/only", "GITHUB_REPOSITORY_OWNER": "acme", "GITHUB_API_URL": srv.URL(),
		"GITHUB_WORKSPACE": t.TempDir(), "INPUT_TOKEN": actionTestToken, "INPUT_OWNER": "acme",
		"INPUT_PACKAGES": "only", "INPUT_REGISTRY-URL": srv.URL(), "INPUT_DRY-RUN": "false",
	}
	setup := Setup{Metadata: testMetadata, Tool: "ghcr-prune test", Now: now.Add(48 * time.Hour),
		wrap: func(r prune.Registry) prune.Registry { return &panicAfterDelete{Registry: r, pkg: "only"} }}
	var log bytes.Buffer
	r, err := AsRunner(context.Background(), t.TempDir(), env, &log, setup)
	if err == nil || !strings.Contains(err.Error(), "internal error in only") {
		t.Fatalf("the run's error: %v\n%s", err, log.String())
	}
	f, err := prune.ReadPlanFile(r.Plan)
	if err != nil {
		t.Fatalf("the plan file does not read back: %v\n%s", err, r.Plan)
	}
	if len(f.Packages) != 1 || len(f.Packages[0].Delete) != 1 || f.Packages[0].Delete[0].Digest != idx {
		t.Errorf("the plan file names %+v, want the index %s deleted", f.Packages, idx)
	}
}
