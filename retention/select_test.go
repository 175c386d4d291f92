package retention_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestUntag(t *testing.T) {
	tests := []struct {
		name       string
		pkg        *retentiontest.Builder
		policy     retention.Policy
		wantDelete []string
		wantUntag  map[string][]string
	}{
		{
			name:       "some tags match: remove them, keep the image",
			pkg:        retentiontest.New().Image("a", 9*retentiontest.Day, "pr-1", "v1").Image("b", 9*retentiontest.Day, "pr-2"),
			policy:     retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*") }),
			wantDelete: []string{"b"},
			wantUntag:  map[string][]string{"a": {"pr-1"}},
		},
		{
			name:      "keep-n-tagged counts the image before untagging",
			pkg:       retentiontest.New().Image("new", 1*retentiontest.Day, "pr-3", "v3").Image("mid", 2*retentiontest.Day, "pr-2", "v2").Image("old", 3*retentiontest.Day, "pr-1", "v1"),
			policy:    retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*"); p.KeepNTagged = 2 }),
			wantUntag: map[string][]string{"old": {"pr-1"}},
		},
		{
			name: "exclude-tags wins over untagging",
			pkg:  retentiontest.New().Image("a", 9*retentiontest.Day, "pr-1", "latest"),
			policy: retentiontest.Policy(func(p *retention.Policy) {
				p.DeleteTags = retentiontest.Patterns(t, "pr-*")
				p.ExcludeTags = retentiontest.Patterns(t, "latest")
			}),
		},
		{
			name: "older-than spares young images' tags",
			pkg:  retentiontest.New().Image("a", 1*retentiontest.Day, "pr-1", "v1"),
			policy: retentiontest.Policy(func(p *retention.Policy) {
				p.DeleteTags = retentiontest.Patterns(t, "pr-*")
				p.OlderThan = 3 * retentiontest.Day
			}),
		},
		{
			name:       "an index loses a tag and keeps its children",
			pkg:        retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day, "pr-1", "v1"),
			policy:     retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*") }),
			wantUntag:  map[string][]string{"idx": {"pr-1"}},
			wantDelete: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := retention.Compute(tt.pkg.Snap, tt.policy, retentiontest.Now)
			if err != nil {
				t.Fatal(err)
			}
			if err := plan.Check(tt.policy); err != nil {
				t.Fatal(err)
			}
			var del []string
			for _, d := range plan.Delete {
				del = append(del, tt.pkg.Names[d.Digest])
			}
			if !slices.Equal(sorted(del), sorted(tt.wantDelete)) {
				t.Errorf("deleted %v, want %v", del, tt.wantDelete)
			}
			untag := map[string][]string{}
			for _, u := range plan.Untag {
				untag[tt.pkg.Names[u.Digest]] = u.Tags
			}
			if fmt.Sprint(untag) != fmt.Sprint(orEmpty(tt.wantUntag)) {
				t.Errorf("untag %v, want %v", untag, tt.wantUntag)
			}
		})
	}
}

func orEmpty(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

func TestReviewedPlanConfinesDeletions(t *testing.T) {
	b := retentiontest.New().MultiArch("a", 9*retentiontest.Day, 9*retentiontest.Day).MultiArch("b", 9*retentiontest.Day, 9*retentiontest.Day).Image("c", 9*retentiontest.Day)
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	full, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	// The reviewer saw a plan that deleted "a" and its children, but only
	// the children of "b" (as if "b" had been tagged then): "b"'s children
	// must not go while "b" stays.
	p.Allow = &retention.Allowlist{Delete: map[string]int64{}, Untag: map[string][]string{}}
	for _, d := range full.Delete {
		n := b.Names[d.Digest]
		if strings.HasPrefix(n, "a") || strings.Contains(n, "a/") || strings.HasPrefix(n, "b/") || strings.Contains(n, ":b/") {
			p.Allow.Delete[d.Digest] = d.ID
		}
	}
	got := sorted(b.Deleted(t, p))
	want := sorted([]string{"a", "a/amd64", "a/arm64", "attest:a/amd64", "attest:a/arm64"})
	if !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
}

func TestMinAge(t *testing.T) {
	const m = time.Minute
	d := retentiontest.Day
	untagged := func(olderThan time.Duration) func(t *testing.T) retention.Policy {
		return func(*testing.T) retention.Policy {
			return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.MinAge = time.Hour; p.OlderThan = olderThan })
		}
	}
	tests := []struct {
		name   string
		pkg    *retentiontest.Builder
		policy func(t *testing.T) retention.Policy
		want   map[string]string
	}{
		{
			name:   "platform manifests that landed before their index",
			pkg:    retentiontest.New().Image("amd64", 12*m).Image("arm64", 11*m).Image("old", 9*d).Image("v1", 9*d, "v1"),
			policy: untagged(0),
			want: map[string]string{
				"amd64": "keep: untagged, but only 12 minutes old (min-age 1 hour)",
				"arm64": "keep: untagged, but only 11 minutes old (min-age 1 hour)",
				"old":   "delete: untagged, 9 days old",
			},
		},
		{
			name:   "a young child outlives its old index; an old child goes",
			pkg:    retentiontest.New().Image("new", 5*m).Image("reused", 9*d).Index("idx", 9*d, []string{"new", "reused"}).Image("v1", 9*d, "v1"),
			policy: untagged(0),
			want: map[string]string{
				"idx":    "delete: untagged, 9 days old",
				"new":    "keep: only 5 minutes old (min-age 1 hour)",
				"reused": "delete: in deleted index " + retention.ShortDigest(retentiontest.Digest("idx")),
			},
		},
		{
			name:   "a young signature keeps its subject",
			pkg:    retentiontest.New().Image("img", 9*d).Sig("sig", 3*m, "img").Image("v1", 9*d, "v1"),
			policy: untagged(0),
			want: map[string]string{
				"sig": "keep: only 3 minutes old (min-age 1 hour)",
				"img": "keep: subject of " + retention.ShortDigest(retentiontest.Digest("sig")) + " (only 3 minutes old (min-age 1 hour))",
			},
		},
		{
			name:   "the children of a young index hang from it",
			pkg:    retentiontest.New().MultiArch("idx", 20*m, 25*m).Image("v1", 9*d, "v1"),
			policy: untagged(0),
			want: map[string]string{
				"idx":       "keep: untagged, but only 20 minutes old (min-age 1 hour)",
				"idx/amd64": "keep: in index " + retention.ShortDigest(retentiontest.Digest("idx")) + " (untagged, but only 20 minutes old (min-age 1 hour))",
			},
		},
		{
			name:   "the later cut-off decides: min-age",
			pkg:    retentiontest.New().Image("a", 45*m).Image("b", 70*m).Image("v1", 9*d, "v1"),
			policy: untagged(30 * m),
			want: map[string]string{
				"a": "keep: untagged, but only 45 minutes old (min-age 1 hour)",
				"b": "delete: untagged, 70 minutes old",
			},
		},
		{
			name:   "the later cut-off decides: older-than",
			pkg:    retentiontest.New().Image("a", 45*m).Image("b", 2*d).Image("v1", 9*d, "v1"),
			policy: untagged(3 * d),
			want: map[string]string{
				"a": "keep: untagged, but only 45 minutes old (older-than 3 days)",
				"b": "keep: untagged, but only 2 days old (older-than 3 days)",
			},
		},
		{
			name: "no tag is removed from a young image",
			pkg:  retentiontest.New().Image("a", 10*m, "pr-1", "v1").Image("b", 9*d, "v2"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*"); p.MinAge = time.Hour })
			},
			want: map[string]string{"a": "keep: tags pr-1, v1, only 10 minutes old (min-age 1 hour)"},
		},
		{
			name: "ghcr-prune's own placeholder is no push in flight",
			pkg:  retentiontest.New().Placeholder("holder", 2*m, "pr-1").Image("v1", 9*d, "v1"),
			policy: func(t *testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteTags = retentiontest.Patterns(t, "pr-*"); p.MinAge = time.Hour })
			},
			want: map[string]string{"holder": "delete: tag pr-1 matches delete-tags, 2 minutes old"},
		},
		{
			name: "min-age 0 is off",
			pkg:  retentiontest.New().Image("a", time.Second).Image("v1", 9*d, "v1"),
			policy: func(*testing.T) retention.Policy {
				return retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
			},
			want: map[string]string{"a": "delete: untagged, 1 second old"},
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
