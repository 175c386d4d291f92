package prune

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata")

// goldenReport is a small applied run with every kind of row: deletions,
// a refusal, a kept image, a broken one.
func goldenReport(t *testing.T) *Report {
	b := retentiontest.New().MultiArch("prev", 4*retentiontest.Day, 25*retentiontest.Day).MultiArch("prod", 20*retentiontest.Day, 20*retentiontest.Day, "prod").
		Sig("sig", 20*retentiontest.Day, "prod").Image("pr", 9*retentiontest.Day, "pr-7").Image("mixed", 9*retentiontest.Day, "pr-8", "v8").Index("ghost", 30*retentiontest.Day, []string{"gone1"}, "old-release").Sizes()
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
