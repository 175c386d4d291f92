package retention_test

import (
	"fmt"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestKeepReferenced(t *testing.T) {
	d := retentiontest.Day
	short := retention.ShortDigest
	deleteAll := func(refs retention.References) func(t *testing.T) retention.Policy {
		return func(t *testing.T) retention.Policy {
			return retentiontest.Policy(func(p *retention.Policy) {
				p.DeleteUntagged = true
				p.DeleteTags = retentiontest.Patterns(t, "*")
				p.Referenced = refs
			})
		}
	}
	tests := []struct {
		name   string
		pkg    *retentiontest.Builder
		policy func(t *testing.T) retention.Policy
		want   map[string]string
	}{
		{
			name:   "a digest keeps an untagged index with everything it reaches",
			pkg:    retentiontest.New().MultiArch("deployed", 9*d, 9*d).Image("other", 9*d).Image("v1", 9*d, "v1"),
			policy: deleteAll(retention.References{"app": {retentiontest.Digest("deployed"): "deploy/prod.yaml:12"}}),
			want: map[string]string{
				"deployed":       "keep: referenced in deploy/prod.yaml:12",
				"deployed/amd64": "keep: in index " + short(retentiontest.Digest("deployed")) + " (referenced in deploy/prod.yaml:12)",
				"other":          "delete: untagged, 9 days old",
			},
		},
		{
			name:   "a tag keeps its image against delete-tags",
			pkg:    retentiontest.New().Image("a", 9*d, "1.0").Image("b", 9*d, "1.1").Image("c", 9*d, "latest"),
			policy: deleteAll(retention.References{"app": {"1.0": "k8s/app.yaml:3"}}),
			want: map[string]string{
				"a": "keep: referenced in k8s/app.yaml:3",
				"b": "delete: tag 1.1 matches delete-tags, 9 days old",
			},
		},
		{
			name:   "a platform's digest keeps the platform, not its index",
			pkg:    retentiontest.New().MultiArch("idx", 9*d, 9*d).Image("v1", 9*d, "v1"),
			policy: deleteAll(retention.References{"app": {retentiontest.Digest("idx/arm64"): "compose.yaml:7"}}),
			want: map[string]string{
				"idx":       "delete: untagged, 9 days old",
				"idx/arm64": "keep: referenced in compose.yaml:7",
				"idx/amd64": "delete: in deleted index " + short(retentiontest.Digest("idx")),
			},
		},
		{
			name: "exclude-tags says why first; references to other packages do nothing",
			pkg:  retentiontest.New().Image("a", 9*d, "prod").Image("b", 9*d, "1.2"),
			policy: func(t *testing.T) retention.Policy {
				p := deleteAll(retention.References{"app": {"prod": "a.yaml:1"}, "other": {"1.2": "b.yaml:2"}})(t)
				p.ExcludeTags = retentiontest.Patterns(t, "prod")
				return p
			},
			want: map[string]string{
				"a": "keep: tag prod matches exclude-tags",
				"b": "delete: tag 1.2 matches delete-tags, 9 days old",
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

func TestUnresolvedReferences(t *testing.T) {
	b := retentiontest.New().Image("a", 9*retentiontest.Day, "1.0").Image("b", 9*retentiontest.Day)
	gone := retentiontest.Digest("gone")
	refs := retention.References{"app": {"1.0": "a.yaml:1", "2.0": "a.yaml:2", retentiontest.Digest("b"): "b.yaml:1", gone: "b.yaml:9"}}
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.Referenced = refs })
	b.Snap.Package = "App" // package names compare case-insensitively
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	want := []retention.Reference{{Target: "2.0", Where: "a.yaml:2"}, {Target: gone, Where: "b.yaml:9"}}
	if fmt.Sprint(plan.Unresolved) != fmt.Sprint(want) || len(plan.Delete) != 0 {
		t.Errorf("unresolved %v, deleted %d; want %v and nothing deleted", plan.Unresolved, len(plan.Delete), want)
	}
}
