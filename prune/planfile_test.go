package prune

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

func TestPlanFileGolden(t *testing.T) {
	got, err := goldenReport(t).JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-applied.golden.json", got)
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

// planText is a small valid plan file, applied, whose one deletion and one
// tag removal can be spoiled one field at a time.
func planText(owner, pkg, id, digest, tag string) []byte {
	return []byte(`{"format":"ghcr-prune-plan","version":1,"time":"2026-11-20T12:00:00Z","dry_run":false,"owner":` + owner + `,"packages":[
{"package":` + pkg + `,"versions":2,"delete":[
{"id":` + id + `,"digest":` + digest + `,"tags":[` + tag + `],"kind":"image","decision":"delete","reason":"untagged","outcome":"deleted"}
],"untag":[
{"id":7,"digest":"sha256:` + strings.Repeat("b", 64) + `","tags":[` + tag + `],"keep":["v1"],"reason":"matches"}
],"deferred":[],"keep":[],"broken":[]}
]}`)
}

var (
	goodDigest = `"sha256:` + strings.Repeat("a", 64) + `"`
	goodPlan   = [5]string{`"acme"`, `"team/app"`, `42`, goodDigest, `"pr-1"`}
)

func spoiled(field int, value string) []byte {
	p := goodPlan
	p[field] = value
	return planText(p[0], p[1], p[2], p[3], p[4])
}

// A plan file is an artifact anyone who can open a pull request may make:
// every entry a reader acts on must be something GitHub could have listed.
func TestReadPlanFileRejectsMalformedEntries(t *testing.T) {
	if _, err := ReadPlanFile(spoiled(0, `"acme"`)); err != nil {
		t.Fatalf("the valid plan is refused: %v", err)
	}
	tests := []struct {
		name  string
		data  []byte
		entry string // the error must name the entry
	}{
		{"digest with a newline", spoiled(3, `"sha256:aaaa\n::error::pwned"`), "delete[0]"},
		{"upper-case digest", spoiled(3, `"sha256:`+strings.Repeat("A", 64)+`"`), "delete[0]"},
		{"short digest", spoiled(3, `"sha256:`+strings.Repeat("a", 63)+`"`), "delete[0]"},
		{"other algorithm", spoiled(3, `"sha512:`+strings.Repeat("a", 64)+`"`), "delete[0]"},
		{"no digest", spoiled(3, `""`), "delete[0]"},
		{"zero id", spoiled(2, `0`), "delete[0]"},
		{"negative id", spoiled(2, `-3`), "delete[0]"},
		{"package with a newline", spoiled(1, `"app\n::stop-commands::x"`), "packages[0]"},
		{"package with a colon", spoiled(1, `"::error::pwned"`), "packages[0]"},
		{"package with a dot-dot start", spoiled(1, `"../app"`), "packages[0]"},
		{"empty package", spoiled(1, `""`), "packages[0]"},
		{"package with an empty component", spoiled(1, `"team//app"`), "packages[0]"},
		{"tag with a newline", spoiled(4, `"pr-1\n::error::pwned"`), "delete[0]"},
		{"tag with a colon", spoiled(4, `"a:b"`), "delete[0]"},
		{"owner with a newline", spoiled(0, `"acme\n::error::pwned"`), "owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadPlanFile(tt.data)
			if err == nil {
				t.Fatalf("accepted: %+v", f.Packages)
			}
			if !strings.Contains(err.Error(), tt.entry) {
				t.Errorf("error %q does not name %s", err, tt.entry)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q carries a raw newline from the file", err)
			}
		})
	}
	// The tag removals are checked as the deletions are.
	bad := strings.Replace(string(planText(goodPlan[0], goodPlan[1], goodPlan[2], goodPlan[3], goodPlan[4])), `"id":7`, `"id":0`, 1)
	if _, err := ReadPlanFile([]byte(bad)); err == nil || !strings.Contains(err.Error(), "untag[0]") {
		t.Errorf("an untag entry with id 0: %v", err)
	}
}

// FuzzReadPlanFile: whatever the file holds, reading it never panics, and
// a plan it accepts holds only entries GitHub could have listed.
func FuzzReadPlanFile(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("..", "testdata", "plan-applied.golden.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(planText(goodPlan[0], goodPlan[1], goodPlan[2], goodPlan[3], goodPlan[4]))
	f.Add(spoiled(1, `"app\n::error::pwned"`))
	f.Add(spoiled(2, `-1`))
	f.Add([]byte(`{"format":"ghcr-prune-plan","version":1,"packages":null}`))
	f.Add([]byte(`{"format":"ghcr-prune-plan","version":1,"packages":[{"package":"a","delete":[null]}]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := ReadPlanFile(data)
		if err != nil {
			return
		}
		if pf.Owner != "" && !validOwner(pf.Owner) {
			t.Fatalf("accepted owner %q", pf.Owner)
		}
		for _, p := range pf.Packages {
			if !ValidPackageName(p.Package) {
				t.Fatalf("accepted package %q", p.Package)
			}
			for _, d := range p.Delete {
				if d.ID <= 0 || !ValidDigest(d.Digest) || strings.ContainsAny(strings.Join(d.Tags, ""), "\r\n:%") {
					t.Fatalf("accepted deletion %+v", d)
				}
			}
			for _, u := range p.Untag {
				if u.ID <= 0 || !ValidDigest(u.Digest) || strings.ContainsAny(strings.Join(u.Tags, ""), "\r\n:%") {
					t.Fatalf("accepted tag removal %+v", u)
				}
			}
		}
		// What a reader does next must not panic either.
		pf.Allowlist("app")
		RestoreItems(pf, pf.Owner, func(string) bool { return true })
	})
}

// The rules' additions are new keys a reader of version 1 skips:
// reclaimed_bytes and unresolved per package, and "blocked" decisions
// among the kept versions.
func TestPlanFileRulesGolden(t *testing.T) {
	r := rulesReport(t)
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-rules.golden.json", data)
	f, err := ReadPlanFile(data)
	if err != nil {
		t.Fatal(err)
	}
	app, tools := f.Packages[0], f.Packages[1]
	if app.ReclaimedBytes != r.Packages[0].Plan.Reclaimed || app.ReclaimedBytes == 0 {
		t.Errorf("reclaimed_bytes read back as %d, want %d", app.ReclaimedBytes, r.Packages[0].Plan.Reclaimed)
	}
	if len(app.Unresolved) != 1 || app.Unresolved[0].Target != "2.0" || app.Unresolved[0].Where != "deploy/staging.yaml:3" {
		t.Errorf("unresolved read back as %+v", app.Unresolved)
	}
	blocked := 0
	for _, d := range tools.Keep {
		if d.Action == retention.Blocked {
			blocked++
		}
	}
	if blocked != 1 {
		t.Errorf("%d blocked versions among the kept, want 1", blocked)
	}
}
