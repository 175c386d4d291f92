package retention_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

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
