package prune

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestSummaryGolden(t *testing.T) {
	r := goldenReport(t)
	golden(t, "summary-applied.golden.md", []byte(r.Markdown()))
	r.DryRun = true
	r.Packages = r.Packages[:1]
	r.Packages[0].Result = nil
	golden(t, "summary-dry-run.golden.md", []byte(r.Markdown()))
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

// rulesReport is a dry run that shows every rule of its own: per-group
// ranks, min-age, references (one to a tag the package lacks), a version
// GitHub would refuse to delete, and a comparison with an earlier plan.
func rulesReport(t *testing.T) *Report {
	t.Helper()
	d := retentiontest.Day
	app := retentiontest.New().Image("main3", 1*d, "main-3333333").Image("main2", 2*d, "main-2222222").Image("main1", 3*d, "main-1111111").
		Image("dev1", 4*d, "dev-4444444").Image("latest", 5*d, "latest").
		Image("landing", 12*time.Minute).MultiArch("deployed", 20*d, 20*d).Image("stale", 20*d).Sizes()
	groups, err := retention.ParseTagGroups(`^(.+)-[0-9a-f]{7,40}$`)
	if err != nil {
		t.Fatal(err)
	}
	policy := retentiontest.Policy(func(p *retention.Policy) {
		p.DeleteUntagged = true
		p.KeepNTagged = 1
		p.GroupTags = groups
		p.MinAge = time.Hour
		p.Referenced = retention.References{"app": {retentiontest.Digest("deployed"): "deploy/prod.yaml:12", "2.0": "deploy/staging.yaml:3"}}
	})
	tools := retentiontest.New().MultiArch("v2", 2*d, 2*d, "v2").Image("v1", 9*d, "v1").Sizes()
	tools.Snap.Package = "team/tools"
	tagsPolicy := retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "v*") })
	plan := func(b *retentiontest.Builder, p retention.Policy) PackageReport {
		pl, err := retention.Compute(b.Snap, p, retentiontest.Now)
		if err != nil {
			t.Fatal(err)
		}
		return PackageReport{Package: b.Snap.Package, Versions: len(b.Snap.Versions), Plan: pl}
	}
	// The earlier plan ranked tagged images overall and knew another
	// package.
	earlierPolicy := policy
	earlierPolicy.GroupTags, earlierPolicy.KeepNTagged = nil, 2
	old := retentiontest.New().Image("x", 9*d)
	old.Snap.Package = "old-app"
	earlier := &Report{DryRun: true, Time: retentiontest.Now.Add(-11 * time.Hour), Packages: []PackageReport{plan(app, earlierPolicy), plan(old, policy)}}
	data, err := earlier.JSON()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadPlanFile(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{DryRun: true, Time: retentiontest.Now, Tool: "ghcr-prune v1.2.3, commit 0123456789ab",
		Inputs:   map[string]string{"group-tags": groups.String(), "keep-n-tagged": "1"},
		Packages: []PackageReport{plan(app, policy), plan(tools, tagsPolicy)},
		Notes:    []string{"keep-referenced-in: charts/**/*.yaml matches no file", "keep-referenced-in: 2 references with template syntax (${{ }}, {{ }}, $VAR) skipped"}}
	r.Comparison = Compare(f, "earlier/ghcr-prune-plan.json", r)
	return r
}

func TestSummaryRulesGolden(t *testing.T) {
	r := rulesReport(t)
	golden(t, "summary-rules.golden.md", []byte(r.Markdown()))
	md := r.Markdown()
	for _, want := range []string{
		"among the 1 newest of group main", "beyond the 1 newest of group main", "tag latest, in no group of group-tags",
		"only 12 minutes old (min-age 1 hour)", "referenced in deploy/prod.yaml:12",
		"tag 2.0, referenced in deploy/staging.yaml:3 (keep-referenced-in), is not in the package",
		"Blocked 1 version GitHub would refuse to delete", "GitHub refuses to delete the last tagged version of a package",
		"Changes against the earlier plan", "**old-app**: only in the earlier plan", "**team/tools**: only in this plan",
		"charts/**/*.yaml matches no file",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 12_400 << 20: "12.1 GiB", 3 << 40: "3.0 TiB", 1 << 62: "4.0 EiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// An applied run frees what it deleted, not what it planned.
func TestReclaimedAfterARun(t *testing.T) {
	r := goldenReport(t)
	app := r.Packages[0]
	if app.Reclaimed() >= app.Plan.Reclaimed || app.Reclaimed() == 0 {
		t.Errorf("freed %d of the %d planned, with one deletion refused", app.Reclaimed(), app.Plan.Reclaimed)
	}
	if r.ReclaimedBytes() != app.Reclaimed() {
		t.Errorf("the run freed %d, its one package %d", r.ReclaimedBytes(), app.Reclaimed())
	}
}
