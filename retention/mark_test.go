package retention_test

import (
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestDeletionOrderParentsFirst(t *testing.T) {
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day).Sig("sig", 9*retentiontest.Day, "idx")
	got := b.Deleted(t, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true }))
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for _, child := range []string{"idx/amd64", "idx/arm64", "attest:idx/amd64", "attest:idx/arm64"} {
		if pos["idx"] > pos[child] {
			t.Errorf("index deleted after its child %s: %v", child, got)
		}
	}
	if pos["sig"] > pos["idx"] {
		t.Errorf("signature deleted after its subject: %v", got)
	}
}

func TestRefusalsPredicted(t *testing.T) {
	d := retentiontest.Day
	short := func(n string) string { return retention.ShortDigest(retentiontest.Digest(n)) }
	tests := []struct {
		name   string
		pkg    *retentiontest.Builder
		policy func(t *testing.T) retention.Policy
		want   map[string]string
	}{
		{
			name: "every tagged image deleted: the newest is blocked, with what it reaches",
			pkg:  retentiontest.New().MultiArch("new", 2*d, 2*d, "v2").Image("old", 9*d, "v1").Image("u", 9*d),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.DeleteTags = retentiontest.Patterns(t, "v*") })
			},
			want: map[string]string{
				"new":       "blocked: tag v2 matches delete-tags, 2 days old; " + lastTagged,
				"new/amd64": "keep: in index " + short("new") + " (tag v2 matches delete-tags, 2 days old; " + lastTagged + ")",
				"old":       "delete: tag v1 matches delete-tags, 9 days old",
				"u":         "delete: untagged, 9 days old",
			},
		},
		{
			name: "a tagged image stays: nothing is blocked",
			pkg:  retentiontest.New().Image("a", 2*d, "pr-2").Image("b", 9*d, "pr-1").Image("c", 9*d, "v1"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*") })
			},
			want: map[string]string{"a": "delete: tag pr-2 matches delete-tags, 2 days old", "c": "keep: tag v1"},
		},
		{
			name: "a signature's sha256- tag is a tag to GitHub",
			pkg:  retentiontest.New().Image("img", 9*d).Sig("sig", 9*d, "img"),
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: map[string]string{
				"sig": "blocked: " + lastTagged,
				"img": "keep: subject of " + short("sig") + " (" + lastTagged + ")",
			},
		},
		{
			name: "every version deleted: the newest image is blocked",
			pkg:  retentiontest.New().Image("a", 4*d).Image("b", 9*d),
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: map[string]string{
				"a": "blocked: untagged, 4 days old; " + lastVersion,
				"b": "delete: untagged, 9 days old",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.pkg.Decisions(t, tt.policy(t))
			for n, w := range tt.want {
				if got[n] != w {
					t.Errorf("%s: got %q, want %q", n, got[n], w)
				}
			}
		})
	}
}

const (
	lastTagged  = "blocked: GitHub refuses to delete the last tagged version of a package; delete the package instead, or keep one tagged image (keep-n-tagged, exclude-tags)"
	lastVersion = "blocked: GitHub refuses to delete the last version of a package; delete the package instead, or keep one image"
)

// A blocked version is kept: it counts as kept everywhere a kept version
// does, and max-deletions and the invariants see it so.
func TestBlockedIsKept(t *testing.T) {
	b := retentiontest.New().MultiArch("new", 2*retentiontest.Day, 2*retentiontest.Day, "v2").Image("old", 9*retentiontest.Day, "v1")
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "v*") })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	var blocked []string
	for _, d := range plan.Keep {
		if d.Action == retention.Blocked {
			blocked = append(blocked, b.Names[d.Digest])
		}
	}
	if len(blocked) != 1 || blocked[0] != "new" || len(plan.Keep) != 5 || len(plan.Delete) != 1 {
		t.Fatalf("blocked %v, kept %d, deleted %d", blocked, len(plan.Keep), len(plan.Delete))
	}
	if err := plan.Limit(0, "max-deletions 0").Check(p); err != nil {
		t.Error(err)
	}
}
