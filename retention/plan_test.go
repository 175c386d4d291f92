package retention_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
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
					Index("outer", 9*retentiontest.Day, []string{"inner1", "inner2"})
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

func TestReasons(t *testing.T) {
	b := retentiontest.New().MultiArch("prev", 4*retentiontest.Day, 25*retentiontest.Day).MultiArch("prod", 20*retentiontest.Day, 20*retentiontest.Day, "prod").Sig("sig", 20*retentiontest.Day, "prod")
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * retentiontest.Day }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range append(plan.Delete, plan.Keep...) {
		reasons[b.Names[d.Digest]] = string(d.Action) + ": " + d.Reason
	}
	want := map[string]string{
		"prev":              "delete: untagged, 4 days old",
		"prev/arm64":        "delete: platform linux/arm64 of deleted index " + retention.ShortDigest(retentiontest.Digest("prev")),
		"attest:prev/amd64": "delete: attestation for linux/amd64 of deleted index " + retention.ShortDigest(retentiontest.Digest("prev")),
		"prod":              "keep: tag prod",
		"prod/arm64":        "keep: platform linux/arm64 of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
		"attest:prod/arm64": "keep: attestation for linux/arm64 of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
		"sig":               "keep: signature of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
	}
	for n, w := range want {
		if reasons[n] != w {
			t.Errorf("%s: got %q, want %q", n, reasons[n], w)
		}
	}
}

func TestCheckCatchesBrokenPlans(t *testing.T) {
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day, "v1").Image("x", 9*retentiontest.Day)
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(p); err != nil {
		t.Fatalf("good plan fails Check: %v", err)
	}
	// Move a child of the kept index into the deletions, as a bug would.
	bad := *plan
	bad.Keep = nil
	for _, d := range plan.Keep {
		if b.Names[d.Digest] == "idx/amd64" {
			bad.Delete = append(bad.Delete, d)
		} else {
			bad.Keep = append(bad.Keep, d)
		}
	}
	if err := bad.Check(p); err == nil || !strings.Contains(err.Error(), "would lose its child") {
		t.Errorf("Check = %v, want a lost-child violation", err)
	}
	excl := p
	excl.ExcludeTags = retentiontest.Patterns(t, retentiontest.Digest("x"))
	if err := plan.Check(excl); err == nil || !strings.Contains(err.Error(), "exclude-tags") {
		t.Errorf("Check = %v, want an exclude-tags violation", err)
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

func TestLimitKeepsWholeImagesOldestFirst(t *testing.T) {
	b := retentiontest.New().MultiArch("old", 30*retentiontest.Day, 30*retentiontest.Day).MultiArch("mid", 20*retentiontest.Day, 20*retentiontest.Day).MultiArch("new", 10*retentiontest.Day, 10*retentiontest.Day).
		Image("shared", 30*retentiontest.Day).Index("a", 30*retentiontest.Day, []string{"shared"}).Index("z", 5*retentiontest.Day, []string{"shared"})
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	limited := plan.Limit(11, "max-deletions 11")
	if err := limited.Check(p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range limited.Delete {
		got = append(got, b.Names[d.Digest])
	}
	// "old" (5) and "a" (1: "shared" is also z's) fit; "mid" (5) would
	// make 11 — it fits exactly; "shared" waits for "z", the youngest.
	want := []string{"old", "old/amd64", "old/arm64", "attest:old/amd64", "attest:old/arm64", "a",
		"mid", "mid/amd64", "mid/arm64", "attest:mid/amd64", "attest:mid/arm64"}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("limited to %v, want %v", got, want)
	}
	if len(limited.Deferred) != len(plan.Delete)-len(want) {
		t.Errorf("%d deferred, want %d", len(limited.Deferred), len(plan.Delete)-len(want))
	}
}

// A version no image reaches can hang from one that is deferred: it waits
// too, and the limited plan still passes Check.
func TestLimitDefersWhatADeferredVersionPointsAt(t *testing.T) {
	b := retentiontest.New().Image("c", 9*retentiontest.Day).Image("x", 9*retentiontest.Day).Index("a", 9*retentiontest.Day, []string{"x"})
	// p lists c and x and names c as its subject: no image reaches it.
	b.Add("p", 9*retentiontest.Day, &manifest.Manifest{Kind: manifest.KindIndex, Subject: retentiontest.Digest("c"), Children: []manifest.Descriptor{{Digest: retentiontest.Digest("c")}, {Digest: retentiontest.Digest("x")}}})
	pol := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, pol, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(plan.Delete) {
		if err := plan.Limit(n, "test").Check(pol); err != nil {
			t.Errorf("Limit(%d): %v", n, err)
		}
	}
}

// The same, with an attestation of x: a deferred x keeps it.
func TestLimitDefersTheReferrersOfWhatItDefers(t *testing.T) {
	b := retentiontest.New().Image("c", 9*retentiontest.Day).Image("x", 9*retentiontest.Day).Index("a", 9*retentiontest.Day, []string{"x"})
	b.Add("p", 9*retentiontest.Day, &manifest.Manifest{Kind: manifest.KindIndex, Subject: retentiontest.Digest("c"), Children: []manifest.Descriptor{{Digest: retentiontest.Digest("c")}, {Digest: retentiontest.Digest("x")}}})
	b.Referrer("r", 9*retentiontest.Day, "x", manifest.KindAttestation)
	pol := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, pol, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(plan.Delete) {
		if err := plan.Limit(n, "test").Check(pol); err != nil {
			t.Errorf("Limit(%d): %v", n, err)
		}
	}
}
