package retention_test

import (
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestParseTagGroups(t *testing.T) {
	tests := []struct {
		expr    string
		tags    []string
		want    string // the groups of tags, joined
		wantErr string
	}{
		{expr: `^(.+)-[0-9a-f]{7,40}$`, tags: []string{"main-1a2b3c4", "latest", "feature-x-0123abcd"}, want: "main,feature-x"},
		{expr: `^v?(\d+\.\d+)\.\d+$`, tags: []string{"v1.2.3", "1.2.4", "v1.3.0", "v1.3"}, want: "1.2,1.3"},
		{expr: `^(?:rel)-(\d+)-(?P<group>[a-z]+)$`, tags: []string{"rel-1-arm", "rel-2-arm", "rel-3-amd"}, want: "arm,amd"},
		{expr: `pr-(\d+)`, tags: []string{"build-pr-12-final"}, want: "12"},
		{expr: `^(x)?y$`, tags: []string{"y"}, want: ""},
		{expr: `^v\d+$`, wantErr: "no capture group"},
		{expr: `^(v`, wantErr: "invalid regular expression"},
	}
	for _, tt := range tests {
		g, err := retention.ParseTagGroups(tt.expr)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.expr, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		if got := strings.Join(g.Of(tt.tags), ","); got != tt.want {
			t.Errorf("%s: groups of %v = %q, want %q", tt.expr, tt.tags, got, tt.want)
		}
	}
}

func groups(t *testing.T, expr string) *retention.TagGroups {
	t.Helper()
	g, err := retention.ParseTagGroups(expr)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGroupTags(t *testing.T) {
	const branch, minor = `^(.+)-[0-9a-f]{7,40}$`, `^v?(\d+\.\d+)\.\d+$`
	d := retentiontest.Day
	tests := []struct {
		name   string
		pkg    *retentiontest.Builder
		policy func(t *testing.T) retention.Policy
		want   map[string]string // name -> "action: reason", for the versions named
	}{
		{
			name: "keep 2 per branch; tags in no group are untouched",
			pkg: retentiontest.New().Image("m1", 1*d, "main-aaaaaaa").Image("m2", 2*d, "main-bbbbbbb").Image("m3", 3*d, "main-ccccccc").
				Image("f1", 4*d, "feature-x-ddddddd").Image("f2", 5*d, "feature-x-eeeeeee").Image("f3", 6*d, "feature-x-fffffff").
				Image("latest", 30*d, "latest").Image("prod", 40*d, "prod"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNTagged = 2; p.GroupTags = groups(t, branch) })
			},
			want: map[string]string{
				"m1":     "keep: tag main-aaaaaaa, among the 2 newest of group main",
				"m2":     "keep: tag main-bbbbbbb, among the 2 newest of group main",
				"m3":     "delete: tag main-ccccccc, beyond the 2 newest of group main, 3 days old",
				"f2":     "keep: tag feature-x-eeeeeee, among the 2 newest of group feature-x",
				"f3":     "delete: tag feature-x-fffffff, beyond the 2 newest of group feature-x, 6 days old",
				"latest": "keep: tag latest, in no group of group-tags",
				"prod":   "keep: tag prod, in no group of group-tags",
			},
		},
		{
			name: "the newest patch of each minor",
			pkg: retentiontest.New().Image("1.3.4", 1*d, "v1.3.4").Image("1.2.9", 2*d, "v1.2.9").Image("1.3.3", 3*d, "v1.3.3").
				Image("1.2.8", 4*d, "v1.2.8").Image("1.3", 5*d, "v1.3"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNTagged = 1; p.GroupTags = groups(t, minor) })
			},
			want: map[string]string{
				"1.3.4": "keep: tag v1.3.4, among the 1 newest of group 1.3",
				"1.2.9": "keep: tag v1.2.9, among the 1 newest of group 1.2",
				"1.3.3": "delete: tag v1.3.3, beyond the 1 newest of group 1.3, 3 days old",
				"1.2.8": "delete: tag v1.2.8, beyond the 1 newest of group 1.2, 4 days old",
				"1.3":   "keep: tag v1.3, in no group of group-tags",
			},
		},
		{
			name: "an image in several groups is kept if any group keeps it",
			pkg: retentiontest.New().Image("new-main", 1*d, "main-aaaaaaa").Image("both", 2*d, "main-bbbbbbb", "dev-bbbbbbb").
				Image("new-dev", 3*d, "dev-ccccccc").Image("old-both", 4*d, "main-ddddddd", "dev-ddddddd"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNTagged = 1; p.GroupTags = groups(t, branch) })
			},
			want: map[string]string{
				"new-main": "keep: tag main-aaaaaaa, among the 1 newest of group main",
				"both":     "keep: tags main-bbbbbbb, dev-bbbbbbb, among the 1 newest of group dev",
				"new-dev":  "delete: tag dev-ccccccc, beyond the 1 newest of group dev, 3 days old",
				"old-both": "delete: tags main-ddddddd, dev-ddddddd, beyond the 1 newest of groups main, dev, 4 days old",
			},
		},
		{
			name: "with delete-tags, keep-n-tagged ranks the matching set per group and leaves the ungrouped to delete-tags",
			pkg: retentiontest.New().Image("a1", 1*d, "pr-1-aaaaaaa").Image("a2", 2*d, "pr-1-bbbbbbb").Image("b1", 3*d, "pr-2-ccccccc").
				Image("odd", 4*d, "pr-nightly").Image("rel", 5*d, "v1"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) {
					p.KeepNTagged = 1
					p.GroupTags = groups(t, branch)
					p.DeleteTags = retentiontest.Patterns(t, "pr-*")
				})
			},
			want: map[string]string{
				"a1":  "keep: tag pr-1-aaaaaaa, among the 1 newest of group pr-1",
				"a2":  "delete: tag pr-1-bbbbbbb matches delete-tags, 2 days old",
				"b1":  "keep: tag pr-2-ccccccc, among the 1 newest of group pr-2",
				"odd": "delete: tag pr-nightly matches delete-tags, 4 days old",
				"rel": "keep: tag v1",
			},
		},
		{
			name: "older-than and exclude-tags work as without groups",
			pkg:  retentiontest.New().Image("m1", 1*d, "main-aaaaaaa").Image("m2", 2*d, "main-bbbbbbb").Image("m3", 9*d, "main-ccccccc", "keep-me"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) {
					p.KeepNTagged = 1
					p.GroupTags = groups(t, branch)
					p.OlderThan = 3 * d
					p.ExcludeTags = retentiontest.Patterns(t, "keep-*")
				})
			},
			want: map[string]string{
				"m2": "keep: tag main-bbbbbbb, beyond the 1 newest of group main, but only 2 days old (older-than 3 days)",
				"m3": "keep: tag keep-me matches exclude-tags",
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

// Untagging works as without groups: an image that keep-n-tagged does not
// keep loses the tags delete-tags matches.
func TestGroupTagsUntag(t *testing.T) {
	b := retentiontest.New().Image("new", 1*retentiontest.Day, "pr-1-aaaaaaa").Image("old", 2*retentiontest.Day, "pr-1-bbbbbbb", "v1")
	p := retentiontest.Policy(func(p *retention.Policy) {
		p.KeepNTagged = 1
		p.GroupTags = groups(t, `^(.+)-[0-9a-f]{7,40}$`)
		p.DeleteTags = retentiontest.Patterns(t, "pr-*")
	})
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Delete) != 0 || len(plan.Untag) != 1 || b.Names[plan.Untag[0].Digest] != "old" || plan.Untag[0].Tags[0] != "pr-1-bbbbbbb" {
		t.Errorf("delete %v, untag %+v; want pr-1-bbbbbbb removed from old", plan.Delete, plan.Untag)
	}
}
