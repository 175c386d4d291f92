package prune

import (
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

func TestRestoreItems(t *testing.T) {
	d := func(id int64, digest string, o Outcome) Deletion {
		v := &retention.Version{ID: id, Digest: "sha256:" + strings.Repeat(digest, 64)}
		return Deletion{Decision: retention.Decision{Version: v}, Outcome: o}
	}
	plan := func(owner string, dryRun bool) *PlanFile {
		return &PlanFile{
			PlanHeader: PlanHeader{Format: PlanFormat, Version: PlanFormatVersion, Owner: owner, DryRun: dryRun},
			Packages: []PackageFile{
				{Package: "app", Delete: []Deletion{d(3, "a", Deleted), d(2, "b", Refused), d(1, "c", Deleted)}},
				{Package: "team/app", Delete: []Deletion{d(9, "d", Deleted)}},
				{Package: "kept", Delete: []Deletion{d(8, "e", NotAttempted)}},
				{Package: "app", Delete: []Deletion{d(3, "a", Deleted)}}, // listed twice
			},
		}
	}
	all := func(string) bool { return true }
	only := func(names ...string) func(string) bool {
		return func(p string) bool {
			for _, n := range names {
				if n == p {
					return true
				}
			}
			return false
		}
	}

	items, err := RestoreItems(plan("acme", false), "ACME", all)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, it := range items {
		got = append(got, it.ID)
	}
	if want := []int64{1, 3, 9}; len(got) != len(want) || got[0] != 1 || got[1] != 3 || got[2] != 9 {
		t.Errorf("restores %v, want %v: children first, each once, only what was deleted", got, want)
	}

	// A package with nothing deleted needs no naming.
	if _, err := RestoreItems(plan("acme", false), "acme", only("app", "team/app")); err != nil {
		t.Errorf("kept needs no naming: %v", err)
	}
	for name, tt := range map[string]struct {
		f     *PlanFile
		owner string
		named func(string) bool
		want  string
	}{
		"dry run":           {plan("acme", true), "acme", all, "dry run"},
		"no owner":          {plan("", false), "acme", all, "names no owner"},
		"another owner":     {plan("evil", false), "acme", all, "evil's, not acme's"},
		"unnamed package":   {plan("acme", false), "acme", only("app"), "team/app"},
		"nothing named":     {plan("acme", false), "acme", only(), "app, team/app"},
		"unnamed, not kept": {plan("acme", false), "acme", only("team/app"), "deleted versions of app,"},
	} {
		items, err := RestoreItems(tt.f, tt.owner, tt.named)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %d items, error %v; want one saying %q", name, len(items), err, tt.want)
		}
	}
}
