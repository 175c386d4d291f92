package retention

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// pkgBuilder makes snapshots by hand: names stand for digests, so tests read
// like the package they describe.
type pkgBuilder struct {
	snap  Snapshot
	names map[string]string // digest -> name
	next  int64
}

func newPkg() *pkgBuilder {
	return &pkgBuilder{snap: Snapshot{Package: "app", Manifests: map[string]*manifest.Manifest{}}, names: map[string]string{}, next: 100}
}

func dig(name string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(name)))
}

func (b *pkgBuilder) add(name string, age time.Duration, m *manifest.Manifest, tags ...string) *pkgBuilder {
	b.next++
	d := dig(name)
	m.Digest = d
	b.names[d] = name
	b.snap.Manifests[d] = m
	b.snap.Versions = append(b.snap.Versions, Version{ID: b.next, Digest: d, Tags: tags, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age)})
	return b
}

func (b *pkgBuilder) image(name string, age time.Duration, tags ...string) *pkgBuilder {
	return b.add(name, age, &manifest.Manifest{Kind: manifest.KindImage}, tags...)
}

// index adds an index over children; "attest:x" entries are attestation
// manifests for child x (they are added too when not present).
func (b *pkgBuilder) index(name string, age time.Duration, children []string, tags ...string) *pkgBuilder {
	m := &manifest.Manifest{Kind: manifest.KindIndex}
	for i, c := range children {
		if of, ok := strings.CutPrefix(c, "attest:"); ok {
			m.Children = append(m.Children, manifest.Descriptor{Digest: dig(c), Platform: "unknown/unknown", Attests: dig(of)})
			continue
		}
		m.Children = append(m.Children, manifest.Descriptor{Digest: dig(c), Platform: []string{"linux/amd64", "linux/arm64"}[i%2]})
	}
	return b.add(name, age, m, tags...)
}

func (b *pkgBuilder) referrer(name string, age time.Duration, subject string, kind manifest.Kind, tags ...string) *pkgBuilder {
	return b.add(name, age, &manifest.Manifest{Kind: kind, Subject: dig(subject)}, tags...)
}

// sig is a cosign signature: linked to its subject only by its tag.
func (b *pkgBuilder) sig(name string, age time.Duration, subject string) *pkgBuilder {
	return b.add(name, age, &manifest.Manifest{Kind: manifest.KindSignature}, "sha256-"+strings.TrimPrefix(dig(subject), "sha256:")+".sig")
}

// multiArch adds an index with two platform images and their attestations.
func (b *pkgBuilder) multiArch(name string, age, childAge time.Duration, tags ...string) *pkgBuilder {
	kids := []string{name + "/amd64", name + "/arm64"}
	for _, k := range kids {
		b.image(k, childAge)
		b.add("attest:"+k, childAge, &manifest.Manifest{Kind: manifest.KindAttestation})
	}
	return b.index(name, age, []string{kids[0], kids[1], "attest:" + kids[0], "attest:" + kids[1]}, tags...)
}

func policy(mod func(*Policy)) Policy {
	p := Policy{KeepNTagged: -1, KeepNUntagged: -1}
	if mod != nil {
		mod(&p)
	}
	return p
}

func patterns(t *testing.T, s string) Patterns {
	t.Helper()
	p, err := ParsePatterns(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// deleted returns the plan's deletions as names, in order.
func (b *pkgBuilder) deleted(t *testing.T, p Policy) []string {
	t.Helper()
	plan, err := Compute(b.snap, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range plan.Delete {
		out = append(out, b.names[d.Digest])
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestComputePolicyRules(t *testing.T) {
	tests := []struct {
		name   string
		pkg    func() *pkgBuilder
		policy func(t *testing.T) Policy
		want   []string // deleted, any order
	}{
		{
			name: "logto incident: untagged children of prod stay",
			pkg: func() *pkgBuilder {
				return newPkg().multiArch("prev", 4*day, 25*day).multiArch("prod", 20*day, 20*day, "prod")
			},
			policy: func(*testing.T) Policy {
				return policy(func(p *Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * day })
			},
			want: []string{"prev", "prev/amd64", "prev/arm64", "attest:prev/amd64", "attest:prev/arm64"},
		},
		{
			name:   "no rule deletes nothing",
			pkg:    func() *pkgBuilder { return newPkg().image("a", 9*day).image("b", 9*day, "v1") },
			policy: func(*testing.T) Policy { return policy(nil) },
		},
		{
			name: "older-than spares young untagged images",
			pkg:  func() *pkgBuilder { return newPkg().image("old", 9*day).image("young", 1*day) },
			policy: func(*testing.T) Policy {
				return policy(func(p *Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * day })
			},
			want: []string{"old"},
		},
		{
			name: "delete-tags needs every tag to match",
			pkg: func() *pkgBuilder {
				return newPkg().image("a", day, "pr-1").image("b", day, "pr-2", "v2")
			},
			policy: func(t *testing.T) Policy { return policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*") }) },
			want:   []string{"a"},
		},
		{
			name:   "delete-tags by digest",
			pkg:    func() *pkgBuilder { return newPkg().image("a", day, "v1").image("b", day, "v2") },
			policy: func(t *testing.T) Policy { return policy(func(p *Policy) { p.DeleteTags = patterns(t, dig("b")) }) },
			want:   []string{"b"},
		},
		{
			name: "exclude-tags wins over delete-tags",
			pkg:  func() *pkgBuilder { return newPkg().image("a", day, "pr-1").image("b", day, "pr-2") },
			policy: func(t *testing.T) Policy {
				return policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*"); p.ExcludeTags = patterns(t, "pr-2") })
			},
			want: []string{"a"},
		},
		{
			name: "exclude-tags by digest keeps an untagged index and its children",
			pkg:  func() *pkgBuilder { return newPkg().multiArch("x", 9*day, 9*day).image("y", 9*day) },
			policy: func(t *testing.T) Policy {
				return policy(func(p *Policy) { p.DeleteUntagged = true; p.ExcludeTags = patterns(t, dig("x")) })
			},
			want: []string{"y"},
		},
		{
			name: "keep-n-untagged counts top-level images only",
			pkg: func() *pkgBuilder {
				return newPkg().multiArch("a", 1*day, 9*day).multiArch("b", 2*day, 9*day).multiArch("c", 3*day, 9*day)
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.KeepNUntagged = 2 }) },
			want:   []string{"c", "c/amd64", "c/arm64", "attest:c/amd64", "attest:c/arm64"},
		},
		{
			name:   "keep-n-untagged 0 deletes all untagged",
			pkg:    func() *pkgBuilder { return newPkg().image("a", day).image("b", day, "v1") },
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.KeepNUntagged = 0 }) },
			want:   []string{"a"},
		},
		{
			name: "keep-n-tagged without delete-tags ranks all tagged images",
			pkg: func() *pkgBuilder {
				return newPkg().image("v3", 1*day, "v3").multiArch("v2", 2*day, 2*day, "v2").image("v1", 3*day, "v1").image("u", 9*day)
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.KeepNTagged = 1 }) },
			want:   []string{"v2", "v2/amd64", "v2/arm64", "attest:v2/amd64", "attest:v2/arm64", "v1"},
		},
		{
			name: "keep-n-tagged with delete-tags ranks the matching set",
			pkg: func() *pkgBuilder {
				return newPkg().image("pr3", 1*day, "pr-3").image("rel", 2*day, "v1").image("pr2", 3*day, "pr-2").image("pr1", 4*day, "pr-1")
			},
			policy: func(t *testing.T) Policy {
				return policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*"); p.KeepNTagged = 2 })
			},
			want: []string{"pr1"},
		},
		{
			name: "keep-n and older-than must both allow deletion",
			pkg: func() *pkgBuilder {
				return newPkg().image("a", 1*day).image("b", 2*day).image("c", 5*day).image("d", 6*day)
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.KeepNUntagged = 1; p.OlderThan = 3 * day }) },
			want:   []string{"c", "d"},
		},
		{
			name: "shared children survive with the tagged index",
			pkg: func() *pkgBuilder {
				return newPkg().image("s1", 9*day).image("s2", 9*day).image("own", 9*day).
					index("old", 9*day, []string{"s1", "s2", "own"}).index("new", 9*day, []string{"s1", "s2"}, "latest")
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
			want:   []string{"old", "own"},
		},
		{
			name: "nested index",
			pkg: func() *pkgBuilder {
				return newPkg().multiArch("inner1", 9*day, 9*day).image("i2", 9*day).index("inner2", 9*day, []string{"i2"}).
					index("outer", 9*day, []string{"inner1", "inner2"})
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
			want:   []string{"outer", "inner1", "inner2", "i2", "inner1/amd64", "inner1/arm64", "attest:inner1/amd64", "attest:inner1/arm64"},
		},
		{
			name: "a tagged child outlives its index",
			pkg: func() *pkgBuilder {
				return newPkg().image("amd", 9*day, "amd64-only").image("arm", 9*day).index("idx", 9*day, []string{"amd", "arm"})
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
			want:   []string{"idx", "arm"},
		},
		{
			name: "signatures follow their subject, including platform digests",
			pkg: func() *pkgBuilder {
				return newPkg().multiArch("keep", 9*day, 9*day, "v1").multiArch("gone", 9*day, 9*day).
					sig("sig-keep", 9*day, "keep").sig("sig-keep-amd", 9*day, "keep/amd64").
					sig("sig-gone", 9*day, "gone").sig("sig-gone-arm", 9*day, "gone/arm64")
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
			want:   []string{"gone", "gone/amd64", "gone/arm64", "attest:gone/amd64", "attest:gone/arm64", "sig-gone", "sig-gone-arm"},
		},
		{
			name: "OCI referrers follow their subject",
			pkg: func() *pkgBuilder {
				return newPkg().image("kept", 9*day, "v1").image("old", 9*day).
					referrer("sbom-kept", 9*day, "kept", manifest.KindReferrer).referrer("sbom-old", 9*day, "old", manifest.KindReferrer)
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
			want:   []string{"old", "sbom-old"},
		},
		{
			name:   "orphans stay unless asked",
			pkg:    func() *pkgBuilder { return newPkg().image("v1", day, "v1").sig("orphan", 9*day, "missing") },
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
		},
		{
			name:   "orphans go when asked",
			pkg:    func() *pkgBuilder { return newPkg().image("v1", day, "v1").sig("orphan", 9*day, "missing") },
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteOrphaned = true }) },
			want:   []string{"orphan"},
		},
		{
			name: "ghost and partial images stay unless asked",
			pkg: func() *pkgBuilder {
				return newPkg().index("ghost", 9*day, []string{"m1", "m2"}, "g").image("p1", 9*day).index("partial", 9*day, []string{"p1", "m3"}, "p")
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteUntagged = true }) },
		},
		{
			name: "ghost images go when asked",
			pkg: func() *pkgBuilder {
				return newPkg().index("ghost", 9*day, []string{"m1", "m2"}, "g").image("p1", 9*day).index("partial", 9*day, []string{"p1", "m3"}, "p")
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeleteGhost = true }) },
			want:   []string{"ghost"},
		},
		{
			name: "partial images go with their children when asked",
			pkg: func() *pkgBuilder {
				return newPkg().index("ghost", 9*day, []string{"m1", "m2"}, "g").image("p1", 9*day).index("partial", 9*day, []string{"p1", "m3"}, "p")
			},
			policy: func(*testing.T) Policy { return policy(func(p *Policy) { p.DeletePartial = true }) },
			want:   []string{"partial", "p1"},
		},
		{
			name: "ghost images respect exclude-tags and older-than",
			pkg: func() *pkgBuilder {
				return newPkg().index("g1", 9*day, []string{"m1"}, "keep-me").index("g2", 1*day, []string{"m2"}, "young").index("g3", 9*day, []string{"m3"}, "old")
			},
			policy: func(t *testing.T) Policy {
				return policy(func(p *Policy) { p.DeleteGhost = true; p.ExcludeTags = patterns(t, "keep-*"); p.OlderThan = 3 * day })
			},
			want: []string{"g3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.pkg()
			got := sorted(b.deleted(t, tt.policy(t)))
			if want := sorted(tt.want); !slices.Equal(got, want) {
				t.Errorf("deleted %v, want %v", got, want)
			}
		})
	}
}

func TestDeletionOrderParentsFirst(t *testing.T) {
	b := newPkg().multiArch("idx", 9*day, 9*day).sig("sig", 9*day, "idx")
	got := b.deleted(t, policy(func(p *Policy) { p.DeleteUntagged = true }))
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
	b := newPkg().multiArch("prev", 4*day, 25*day).multiArch("prod", 20*day, 20*day, "prod").sig("sig", 20*day, "prod")
	plan, err := Compute(b.snap, policy(func(p *Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * day }), now)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range append(plan.Delete, plan.Keep...) {
		reasons[b.names[d.Digest]] = string(d.Action) + ": " + d.Reason
	}
	want := map[string]string{
		"prev":              "delete: untagged, 4 days old",
		"prev/arm64":        "delete: platform linux/arm64 of deleted index " + shortDigest(dig("prev")),
		"attest:prev/amd64": "delete: attestation for linux/amd64 of deleted index " + shortDigest(dig("prev")),
		"prod":              "keep: tag prod",
		"prod/arm64":        "keep: platform linux/arm64 of " + shortDigest(dig("prod")) + " (tag prod)",
		"attest:prod/arm64": "keep: attestation for linux/arm64 of " + shortDigest(dig("prod")) + " (tag prod)",
		"sig":               "keep: signature of " + shortDigest(dig("prod")) + " (tag prod)",
	}
	for n, w := range want {
		if reasons[n] != w {
			t.Errorf("%s: got %q, want %q", n, reasons[n], w)
		}
	}
}

func TestCheckCatchesBrokenPlans(t *testing.T) {
	b := newPkg().multiArch("idx", 9*day, 9*day, "v1").image("x", 9*day)
	p := policy(func(p *Policy) { p.DeleteUntagged = true })
	plan, err := Compute(b.snap, p, now)
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
		if b.names[d.Digest] == "idx/amd64" {
			bad.Delete = append(bad.Delete, d)
		} else {
			bad.Keep = append(bad.Keep, d)
		}
	}
	if err := bad.Check(p); err == nil || !strings.Contains(err.Error(), "would lose its child") {
		t.Errorf("Check = %v, want a lost-child violation", err)
	}
	excl := p
	excl.ExcludeTags = patterns(t, dig("x"))
	if err := plan.Check(excl); err == nil || !strings.Contains(err.Error(), "exclude-tags") {
		t.Errorf("Check = %v, want an exclude-tags violation", err)
	}
}

func TestComputeRejectsIncompleteSnapshots(t *testing.T) {
	b := newPkg().image("a", day)
	delete(b.snap.Manifests, dig("a"))
	if _, err := Compute(b.snap, policy(nil), now); err == nil {
		t.Error("a version without a manifest was planned")
	}
	b = newPkg().image("a", day)
	b.snap.Versions = append(b.snap.Versions, b.snap.Versions[0])
	if _, err := Compute(b.snap, policy(nil), now); err == nil {
		t.Error("a digest listed twice was planned")
	}
}

func TestUntag(t *testing.T) {
	tests := []struct {
		name       string
		pkg        *pkgBuilder
		policy     Policy
		wantDelete []string
		wantUntag  map[string][]string
	}{
		{
			name:       "some tags match: remove them, keep the image",
			pkg:        newPkg().image("a", 9*day, "pr-1", "v1").image("b", 9*day, "pr-2"),
			policy:     policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*") }),
			wantDelete: []string{"b"},
			wantUntag:  map[string][]string{"a": {"pr-1"}},
		},
		{
			name:      "keep-n-tagged counts the image before untagging",
			pkg:       newPkg().image("new", 1*day, "pr-3", "v3").image("mid", 2*day, "pr-2", "v2").image("old", 3*day, "pr-1", "v1"),
			policy:    policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*"); p.KeepNTagged = 2 }),
			wantUntag: map[string][]string{"old": {"pr-1"}},
		},
		{
			name:   "exclude-tags wins over untagging",
			pkg:    newPkg().image("a", 9*day, "pr-1", "latest"),
			policy: policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*"); p.ExcludeTags = patterns(t, "latest") }),
		},
		{
			name:   "older-than spares young images' tags",
			pkg:    newPkg().image("a", 1*day, "pr-1", "v1"),
			policy: policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*"); p.OlderThan = 3 * day }),
		},
		{
			name:       "an index loses a tag and keeps its children",
			pkg:        newPkg().multiArch("idx", 9*day, 9*day, "pr-1", "v1"),
			policy:     policy(func(p *Policy) { p.DeleteTags = patterns(t, "pr-*") }),
			wantUntag:  map[string][]string{"idx": {"pr-1"}},
			wantDelete: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Compute(tt.pkg.snap, tt.policy, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := plan.Check(tt.policy); err != nil {
				t.Fatal(err)
			}
			var del []string
			for _, d := range plan.Delete {
				del = append(del, tt.pkg.names[d.Digest])
			}
			if !slices.Equal(sorted(del), sorted(tt.wantDelete)) {
				t.Errorf("deleted %v, want %v", del, tt.wantDelete)
			}
			untag := map[string][]string{}
			for _, u := range plan.Untag {
				untag[tt.pkg.names[u.Digest]] = u.Tags
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
	b := newPkg().multiArch("a", 9*day, 9*day).multiArch("b", 9*day, 9*day).image("c", 9*day)
	p := policy(func(p *Policy) { p.DeleteUntagged = true })
	full, err := Compute(b.snap, p, now)
	if err != nil {
		t.Fatal(err)
	}
	// The reviewer saw a plan that deleted "a" and its children, but only
	// the children of "b" (as if "b" had been tagged then): "b"'s children
	// must not go while "b" stays.
	p.Reviewed = &Reviewed{Delete: map[string]int64{}, Untag: map[string][]string{}}
	for _, d := range full.Delete {
		n := b.names[d.Digest]
		if strings.HasPrefix(n, "a") || strings.Contains(n, "a/") || strings.HasPrefix(n, "b/") || strings.Contains(n, ":b/") {
			p.Reviewed.Delete[d.Digest] = d.ID
		}
	}
	got := sorted(b.deleted(t, p))
	want := sorted([]string{"a", "a/amd64", "a/arm64", "attest:a/amd64", "attest:a/arm64"})
	if !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
}

func TestLimitKeepsWholeImagesOldestFirst(t *testing.T) {
	b := newPkg().multiArch("old", 30*day, 30*day).multiArch("mid", 20*day, 20*day).multiArch("new", 10*day, 10*day).
		image("shared", 30*day).index("a", 30*day, []string{"shared"}).index("z", 5*day, []string{"shared"})
	p := policy(func(p *Policy) { p.DeleteUntagged = true })
	plan, err := Compute(b.snap, p, now)
	if err != nil {
		t.Fatal(err)
	}
	limited := plan.Limit(11, "max-deletions 11")
	if err := limited.Check(p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range limited.Delete {
		got = append(got, b.names[d.Digest])
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
	b := newPkg().image("c", 9*day).image("x", 9*day).index("a", 9*day, []string{"x"})
	// p lists c and x and names c as its subject: no image reaches it.
	b.add("p", 9*day, &manifest.Manifest{Kind: manifest.KindIndex, Subject: dig("c"), Children: []manifest.Descriptor{{Digest: dig("c")}, {Digest: dig("x")}}})
	pol := policy(func(p *Policy) { p.DeleteUntagged = true })
	plan, err := Compute(b.snap, pol, now)
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
	b := newPkg().image("c", 9*day).image("x", 9*day).index("a", 9*day, []string{"x"})
	b.add("p", 9*day, &manifest.Manifest{Kind: manifest.KindIndex, Subject: dig("c"), Children: []manifest.Descriptor{{Digest: dig("c")}, {Digest: dig("x")}}})
	b.referrer("r", 9*day, "x", manifest.KindAttestation)
	pol := policy(func(p *Policy) { p.DeleteUntagged = true })
	plan, err := Compute(b.snap, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(plan.Delete) {
		if err := plan.Limit(n, "test").Check(pol); err != nil {
			t.Errorf("Limit(%d): %v", n, err)
		}
	}
}
