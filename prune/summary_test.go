package prune

import (
	"fmt"
	"strings"
	"testing"

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
