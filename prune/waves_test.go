package prune

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata")

// recordingDeleter deletes in memory and answers by version name.
type recordingDeleter struct {
	names   map[int64]string
	answers map[string]error
	calls   []string
}

func (r *recordingDeleter) DeleteVersion(_ context.Context, _ string, id int64) error {
	n := r.names[id]
	r.calls = append(r.calls, n)
	return r.answers[n]
}

func (r *recordingDeleter) Untag(_ context.Context, _ string, tag, _ string) error {
	r.calls = append(r.calls, "untag "+tag)
	return r.answers["untag "+tag]
}

func deleterFor(b *retentiontest.Builder, answers map[string]error) *recordingDeleter {
	names := map[int64]string{}
	for _, v := range b.Snap.Versions {
		names[v.ID] = b.Names[v.Digest]
	}
	return &recordingDeleter{names: names, answers: answers}
}

func outcomes(b *retentiontest.Builder, r *Result) map[string]Outcome {
	out := map[string]Outcome{}
	for _, a := range r.Deletions {
		out[b.Names[a.Digest]] = a.Outcome
	}
	return out
}

func TestApplyRefusalKeepsWhatTheRefusedVersionNeeds(t *testing.T) {
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day).Image("other", 9*retentiontest.Day)
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	del := deleterFor(b, map[string]error{
		"idx":   &RefusedError{Message: "You cannot delete the last tagged version of a package. You must delete the package instead."},
		"other": ErrGone,
	})
	res := Apply(context.Background(), plan, del)
	if res.Err != nil {
		t.Fatalf("a refusal failed the run: %v", res.Err)
	}
	got := outcomes(b, res)
	want := map[string]Outcome{
		"idx": Refused, "idx/amd64": Skipped, "idx/arm64": Skipped, "attest:idx/amd64": Skipped, "attest:idx/arm64": Skipped,
		"other": AlreadyGone,
	}
	for n, o := range want {
		if got[n] != o {
			t.Errorf("%s: %s, want %s", n, got[n], o)
		}
	}
	if len(del.calls) != 2 {
		t.Errorf("DELETE calls %v, want only idx and other", del.calls)
	}
}

func TestApplyStopsAtTheFirstFailure(t *testing.T) {
	b := retentiontest.New().Image("a", 9*retentiontest.Day).Image("b", 8*retentiontest.Day).Image("c", 7*retentiontest.Day)
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	second := b.Names[plan.Delete[1].Digest]
	res := Apply(context.Background(), plan, deleterFor(b, map[string]error{second: errors.New("boom")}))
	if res.Err == nil {
		t.Fatal("a failed DELETE did not fail the run")
	}
	if res.Count(Deleted) != 1 || res.Count(Failed) != 1 || res.Count(NotAttempted) != 1 {
		t.Errorf("outcomes %v", outcomes(b, res))
	}
}

// goldenReport is a small applied run with every kind of row: deletions,
// a refusal, a kept image, a broken one.
func goldenReport(t *testing.T) *Report {
	b := retentiontest.New().MultiArch("prev", 4*retentiontest.Day, 25*retentiontest.Day).MultiArch("prod", 20*retentiontest.Day, 20*retentiontest.Day, "prod").
		Sig("sig", 20*retentiontest.Day, "prod").Image("pr", 9*retentiontest.Day, "pr-7").Image("mixed", 9*retentiontest.Day, "pr-8", "v8").Index("ghost", 30*retentiontest.Day, []string{"gone1"}, "old-release")
	p := retentiontest.Policy(func(p *retention.Policy) {
		p.DeleteUntagged = true
		p.OlderThan = 3 * retentiontest.Day
		p.DeleteTags = retentiontest.Patterns(t, "pr-*")
	})
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	res := Apply(context.Background(), plan, deleterFor(b, map[string]error{
		"pr": &RefusedError{Message: "Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance."},
	}))
	dry := &Report{DryRun: true, Time: retentiontest.Now, Tool: "ghcr-prune v1.2.3, commit 0123456789ab", Inputs: map[string]string{"older-than": "3d", "delete-tags": "pr-*"},
		Packages: []PackageReport{{Package: "app", Versions: len(b.Snap.Versions), Plan: plan}}}
	applied := *dry
	applied.DryRun = false
	applied.Packages = []PackageReport{{Package: "app", Versions: len(b.Snap.Versions), Plan: plan, Result: res},
		{Package: "team/broken", Err: errors.New("reading the manifest of version 7 (sha256:0000): manifest unknown; nothing deleted in team/broken")}}
	_ = dry
	return &applied
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./retention -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; run go test ./retention -update and review the diff.\n--- got ---\n%s", name, got)
	}
}

func TestSummaryGolden(t *testing.T) {
	r := goldenReport(t)
	golden(t, "summary-applied.golden.md", []byte(r.Markdown()))
	r.DryRun = true
	r.Packages = r.Packages[:1]
	r.Packages[0].Result = nil
	golden(t, "summary-dry-run.golden.md", []byte(r.Markdown()))
}

func TestPlanFileGolden(t *testing.T) {
	got, err := goldenReport(t).JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-applied.golden.json", got)
}

// A run over many large packages still fits GitHub's 1 MiB job summary:
// tables shrink, and the plan file keeps everything.
func TestSummaryStaysUnderGitHubsLimit(t *testing.T) {
	b := retentiontest.New()
	for i := range 2000 {
		b.Image(fmt.Sprintf("img-%d", i), 9*retentiontest.Day)
	}
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{DryRun: true, Time: retentiontest.Now}
	for i := range 60 {
		r.Packages = append(r.Packages, PackageReport{Package: fmt.Sprintf("app-%d", i), Versions: 2000, Plan: plan})
	}
	md := r.Markdown()
	if len(md) > 1<<20 {
		t.Fatalf("summary is %d bytes, over GitHub's 1 MiB", len(md))
	}
	if !strings.Contains(md, "more, listed in the plan file") {
		t.Error("a cut table does not point at the plan file")
	}
}

func TestPlanFileReadsBack(t *testing.T) {
	r := goldenReport(t)
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadPlanFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Packages) != 2 || f.Inputs["older-than"] != "3d" || f.DryRun {
		t.Fatalf("read back %+v", f.PlanHeader)
	}
	p := f.Packages[0]
	want := r.Packages[0].Plan
	if len(p.Delete) != len(want.Delete) || len(p.Keep) != len(want.Keep) || len(p.Untag) != len(want.Untag) || len(p.Broken) != len(want.Broken) {
		t.Errorf("read back %d/%d/%d/%d entries, want %d/%d/%d/%d", len(p.Delete), len(p.Keep), len(p.Untag), len(p.Broken),
			len(want.Delete), len(want.Keep), len(want.Untag), len(want.Broken))
	}
	if p.Delete[0].Outcome != r.Packages[0].Result.Deletions[0].Outcome || p.Delete[0].Digest != want.Delete[0].Digest {
		t.Errorf("first deletion read back as %+v", p.Delete[0])
	}
	if f.Packages[1].Error == "" {
		t.Error("the failed package's error is lost")
	}
}

// A wave of thousands takes many minutes at GitHub's pace: every CheckEvery
// deletions the run reads the newest versions again before deleting more,
// so a push that reuses a planned image saves it.
func TestApplyWavesReadsAgainWithinALongWave(t *testing.T) {
	b := retentiontest.New()
	for i := range 3 * CheckEvery {
		b.Image(fmt.Sprintf("img-%03d", i), 9*retentiontest.Day)
	}
	policy := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, policy, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	last := plan.Delete[len(plan.Delete)-1] // a new index will reuse it
	del := deleterFor(b, nil)
	var quick, full int
	replan := func(_ context.Context, remaining map[string]retention.Decision, gone map[string]bool, whole bool) (*retention.Plan, error) {
		if whole {
			full++
		} else {
			quick++
		}
		next := retentiontest.New()
		for _, v := range b.Snap.Versions {
			if !gone[v.Digest] {
				next.Snap.Versions = append(next.Snap.Versions, v)
				next.Snap.Manifests[v.Digest] = b.Snap.Manifests[v.Digest]
			}
		}
		// The push landed before the first quick read.
		next.Add("new-index", 0, &manifest.Manifest{Kind: manifest.KindIndex, Children: []manifest.Descriptor{{Digest: last.Digest}}}, "latest")
		return retention.Sweep(next.Snap, remaining, retention.Patterns{})
	}
	res := ApplyWaves(context.Background(), plan, del, replan)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if quick == 0 {
		t.Fatalf("%d quick and %d full reads: the wave never looked again", quick, full)
	}
	for _, c := range del.calls {
		if c == b.Names[last.Digest] {
			t.Fatalf("deleted %s, which a push reused mid-wave", c)
		}
	}
	if got := len(del.calls); got != len(plan.Delete)-1 {
		t.Errorf("%d DELETEs, want %d", got, len(plan.Delete)-1)
	}
	if got := outcomes(b, res)[b.Names[last.Digest]]; got != Skipped {
		t.Errorf("the reused image: %s, want skipped", got)
	}
}
