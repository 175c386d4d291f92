package retention_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestComputePolicyRules(t *testing.T) {
	tests := []struct {
		name   string
		pkg    func() *retentiontest.Builder
		policy func(t *testing.T) retention.Policy
		want   []string // deleted, any order
	}{
		{
			name: "logto incident: untagged children of prod stay",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().MultiArch("prev", 4*retentiontest.Day, 25*retentiontest.Day).MultiArch("prod", 20*retentiontest.Day, 20*retentiontest.Day, "prod")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * retentiontest.Day })
			},
			want: []string{"prev", "prev/amd64", "prev/arm64", "attest:prev/amd64", "attest:prev/arm64"},
		},
		{
			name: "no rule deletes nothing",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("a", 9*retentiontest.Day).Image("b", 9*retentiontest.Day, "v1")
			},
			policy: func(*testing.T) retention.Policy { return retentiontest.Policy(nil) },
		},
		{
			name: "older-than spares young untagged images",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("old", 9*retentiontest.Day).Image("young", 1*retentiontest.Day)
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * retentiontest.Day })
			},
			want: []string{"old"},
		},
		{
			name: "delete-tags needs every tag to match",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("a", retentiontest.Day, "pr-1").Image("b", retentiontest.Day, "pr-2", "v2")
			},
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*") })
			},
			want: []string{"a"},
		},
		{
			name: "delete-tags by digest",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("a", retentiontest.Day, "v1").Image("b", retentiontest.Day, "v2")
			},
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, retentiontest.Digest("b")) })
			},
			want: []string{"b"},
		},
		{
			name: "exclude-tags wins over delete-tags",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("a", retentiontest.Day, "pr-1").Image("b", retentiontest.Day, "pr-2")
			},
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) {
					p.DeleteTags = retentiontest.Patterns(t, "pr-*")
					p.ExcludeTags = retentiontest.Patterns(t, "pr-2")
				})
			},
			want: []string{"a"},
		},
		{
			name: "exclude-tags by digest keeps an untagged index and its children",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().MultiArch("x", 9*retentiontest.Day, 9*retentiontest.Day).Image("y", 9*retentiontest.Day)
			},
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) {
					p.DeleteUntagged = true
					p.ExcludeTags = retentiontest.Patterns(t, retentiontest.Digest("x"))
				})
			},
			want: []string{"y"},
		},
		{
			name: "keep-n-untagged counts top-level images only",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().MultiArch("a", 1*retentiontest.Day, 9*retentiontest.Day).MultiArch("b", 2*retentiontest.Day, 9*retentiontest.Day).MultiArch("c", 3*retentiontest.Day, 9*retentiontest.Day)
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNUntagged = 2 })
			},
			want: []string{"c", "c/amd64", "c/arm64", "attest:c/amd64", "attest:c/arm64"},
		},
		{
			name: "keep-n-untagged 0 deletes all untagged",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("a", retentiontest.Day).Image("b", retentiontest.Day, "v1")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNUntagged = 0 })
			},
			want: []string{"a"},
		},
		{
			name: "keep-n-tagged without delete-tags ranks all tagged images",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("v3", 1*retentiontest.Day, "v3").MultiArch("v2", 2*retentiontest.Day, 2*retentiontest.Day, "v2").Image("v1", 3*retentiontest.Day, "v1").Image("u", 9*retentiontest.Day)
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNTagged = 1 })
			},
			want: []string{"v2", "v2/amd64", "v2/arm64", "attest:v2/amd64", "attest:v2/arm64", "v1"},
		},
		{
			name: "keep-n-tagged with delete-tags ranks the matching set",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("pr3", 1*retentiontest.Day, "pr-3").Image("rel", 2*retentiontest.Day, "v1").Image("pr2", 3*retentiontest.Day, "pr-2").Image("pr1", 4*retentiontest.Day, "pr-1")
			},
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*"); p.KeepNTagged = 2 })
			},
			want: []string{"pr1"},
		},
		{
			name: "keep-n and older-than must both allow deletion",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("a", 1*retentiontest.Day).Image("b", 2*retentiontest.Day).Image("c", 5*retentiontest.Day).Image("d", 6*retentiontest.Day)
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.KeepNUntagged = 1; p.OlderThan = 3 * retentiontest.Day })
			},
			want: []string{"c", "d"},
		},
		{
			name: "shared children survive with the tagged index",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("s1", 9*retentiontest.Day).Image("s2", 9*retentiontest.Day).Image("own", 9*retentiontest.Day).
					Index("old", 9*retentiontest.Day, []string{"s1", "s2", "own"}).Index("new", 9*retentiontest.Day, []string{"s1", "s2"}, "latest")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: []string{"old", "own"},
		},
		{
			name: "nested index",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().MultiArch("inner1", 9*retentiontest.Day, 9*retentiontest.Day).Image("i2", 9*retentiontest.Day).Index("inner2", 9*retentiontest.Day, []string{"i2"}).
					Index("outer", 9*retentiontest.Day, []string{"inner1", "inner2"}).Image("v1", 9*retentiontest.Day, "v1") // GitHub keeps a package's last version
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: []string{"outer", "inner1", "inner2", "i2", "inner1/amd64", "inner1/arm64", "attest:inner1/amd64", "attest:inner1/arm64"},
		},
		{
			name: "a tagged child outlives its index",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("amd", 9*retentiontest.Day, "amd64-only").Image("arm", 9*retentiontest.Day).Index("idx", 9*retentiontest.Day, []string{"amd", "arm"})
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: []string{"idx", "arm"},
		},
		{
			name: "signatures follow their subject, including platform digests",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().MultiArch("keep", 9*retentiontest.Day, 9*retentiontest.Day, "v1").MultiArch("gone", 9*retentiontest.Day, 9*retentiontest.Day).
					Sig("sig-keep", 9*retentiontest.Day, "keep").Sig("sig-keep-amd", 9*retentiontest.Day, "keep/amd64").
					Sig("sig-gone", 9*retentiontest.Day, "gone").Sig("sig-gone-arm", 9*retentiontest.Day, "gone/arm64")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: []string{"gone", "gone/amd64", "gone/arm64", "attest:gone/amd64", "attest:gone/arm64", "sig-gone", "sig-gone-arm"},
		},
		{
			name: "OCI referrers follow their subject",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("kept", 9*retentiontest.Day, "v1").Image("old", 9*retentiontest.Day).
					Referrer("sbom-kept", 9*retentiontest.Day, "kept", manifest.KindReferrer).Referrer("sbom-old", 9*retentiontest.Day, "old", manifest.KindReferrer)
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: []string{"old", "sbom-old"},
		},
		{
			name: "orphans stay unless asked",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("v1", retentiontest.Day, "v1").Sig("orphan", 9*retentiontest.Day, "missing")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
		},
		{
			name: "orphans go when asked",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Image("v1", retentiontest.Day, "v1").Sig("orphan", 9*retentiontest.Day, "missing")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteOrphaned = true })
			},
			want: []string{"orphan"},
		},
		{
			name: "ghost and partial images stay unless asked",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Index("ghost", 9*retentiontest.Day, []string{"m1", "m2"}, "g").Image("p1", 9*retentiontest.Day).Index("partial", 9*retentiontest.Day, []string{"p1", "m3"}, "p")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
		},
		{
			name: "ghost images go when asked",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Index("ghost", 9*retentiontest.Day, []string{"m1", "m2"}, "g").Image("p1", 9*retentiontest.Day).Index("partial", 9*retentiontest.Day, []string{"p1", "m3"}, "p")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteGhost = true })
			},
			want: []string{"ghost"},
		},
		{
			name: "partial images go with their children when asked",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Index("ghost", 9*retentiontest.Day, []string{"m1", "m2"}, "g").Image("p1", 9*retentiontest.Day).Index("partial", 9*retentiontest.Day, []string{"p1", "m3"}, "p")
			},
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeletePartial = true })
			},
			want: []string{"partial", "p1"},
		},
		{
			name: "ghost images respect exclude-tags and older-than",
			pkg: func() *retentiontest.Builder {
				return retentiontest.New().Index("g1", 9*retentiontest.Day, []string{"m1"}, "keep-me").Index("g2", 1*retentiontest.Day, []string{"m2"}, "young").Index("g3", 9*retentiontest.Day, []string{"m3"}, "old")
			},
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) {
					p.DeleteGhost = true
					p.ExcludeTags = retentiontest.Patterns(t, "keep-*")
					p.OlderThan = 3 * retentiontest.Day
				})
			},
			want: []string{"g3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.pkg()
			got := sorted(b.Deleted(t, tt.policy(t)))
			if want := sorted(tt.want); !slices.Equal(got, want) {
				t.Errorf("deleted %v, want %v", got, want)
			}
		})
	}
}

func TestComputeRejectsIncompleteSnapshots(t *testing.T) {
	b := retentiontest.New().Image("a", retentiontest.Day)
	delete(b.Snap.Manifests, retentiontest.Digest("a"))
	if _, err := retention.Compute(b.Snap, retentiontest.Policy(nil), retentiontest.Now); err == nil {
		t.Error("a version without a manifest was planned")
	}
	b = retentiontest.New().Image("a", retentiontest.Day)
	b.Snap.Versions = append(b.Snap.Versions, b.Snap.Versions[0])
	if _, err := retention.Compute(b.Snap, retentiontest.Policy(nil), retentiontest.Now); err == nil {
		t.Error("a digest listed twice was planned")
	}
}
