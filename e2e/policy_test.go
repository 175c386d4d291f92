package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// expectCounts checks planned-count, deleted-count and kept-count.
func expectCounts(t *testing.T, r runResult, planned, deleted, kept int) {
	t.Helper()
	for name, want := range map[string]int{"planned-count": planned, "deleted-count": deleted, "kept-count": kept} {
		if got := r.outputs[name]; got != strconv.Itoa(want) {
			t.Errorf("output %s = %q, want %d", name, got, want)
		}
	}
}

// apply runs with dry-run false plus inputs, failing on a run error.
func (e *e2e) apply(inputs map[string]string) runResult {
	e.t.Helper()
	in := applied()
	maps.Copy(in, inputs)
	r := e.run(in)
	e.ok(r)
	return r
}

// expectDeleted asserts that exactly gone was deleted: what remains is
// before minus gone, every tag pulls, and the counts agree.
func (e *e2e) expectDeleted(r runResult, before []string, gone ...string) {
	e.t.Helper()
	e.expectRemaining(without(before, gone...)...)
	e.expectPullable()
	expectCounts(e.t, r, len(gone), len(gone), len(before)-len(gone))
	expectDeletedIDs(e, r, gone...)
}

func equalSorted(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// 1. The Logto incident.
func TestE2EPolicyLogtoIncident(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "logto-io", "logto", true)
	prev, prevChildren := e.multi("prod", true, 4*day, 25*day)
	prod, prodChildren := e.multi("prod", true, 1*day, 20*day)
	if len(prodChildren) != 4 || len(prevChildren) != 4 {
		t.Fatalf("want 4 children each, got %d and %d", len(prodChildren), len(prevChildren))
	}
	before := e.remaining()
	if len(before) != 10 {
		t.Fatalf("setup: %d versions, want 10", len(before))
	}
	r := e.apply(map[string]string{"older-than": "3d"})
	e.expectDeleted(r, before, flat(prev, prevChildren)...)
	e.expectRemaining(flat(prod, prodChildren)...)
	expectSummary(t, r, "5 versions deleted", "untagged, 4 days old")
}

// 2. Untagged single- and multi-arch images go (delete-untagged by default);
// tagged images, single or multi-arch, stay whole.
func TestE2EPolicyUntaggedSingleAndMultiArch(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	untaggedImg := e.image("", 2*day)
	moved := e.image("latest", 3*day)
	latest := e.image("latest", 1*day)
	untaggedIdx, untaggedChildren := e.multi("", true, 5*day, 5*day)
	tagged, taggedChildren := e.multi("v1", true, 30*day, 30*day)
	before := e.remaining()
	r := e.apply(nil)
	e.expectDeleted(r, before, flat(untaggedImg, moved, untaggedIdx, untaggedChildren)...)
	e.expectRemaining(flat(latest, tagged, taggedChildren)...)
	expectSummary(t, r, "untagged, 2 days old", "untagged, 5 days old")
}

// 3. A dry run (the default) deletes nothing but plans what an applied run
// would delete.
func TestE2EPolicyDryRunDefault(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	e.image("", 2*day)
	e.multi("", false, 5*day, 5*day)
	e.image("v1", 1*day)
	before := e.remaining()
	r := e.run(nil)
	e.ok(r)
	e.expectRemaining(before...)
	e.expectPullable()
	expectCounts(t, r, 4, 0, 1)
	if r.outputs["deleted-ids"] != "" {
		t.Errorf("deleted-ids = %q in a dry run", r.outputs["deleted-ids"])
	}
	expectSummary(t, r, "dry run, 4 versions would be deleted", "Nothing was deleted")
	if n := e.srv.Stats().REST["DELETE"]; n != 0 {
		t.Errorf("a dry run sent %d DELETE requests", n)
	}
}

// 4. delete-tags: wildcards, regexes, every tag must match, digests.
func TestE2EPolicyDeleteTags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		// gone picks what is deleted among the pushed digests.
		gone    func(s map[string][]string) []string
		summary string
	}{
		{
			name:   "wildcard",
			inputs: map[string]string{"delete-tags": "pr-*"},
			gone: func(s map[string][]string) []string {
				return flat(s["pr-1"], s["pr-22"], s["pr-multi"], s["pr-foo"])
			},
			summary: "tag pr-1 matches delete-tags",
		},
		{
			name:   "regex",
			inputs: map[string]string{"delete-tags": "pr-[0-9]+", "use-regex": "true"},
			gone: func(s map[string][]string) []string {
				return flat(s["pr-1"], s["pr-22"])
			},
			summary: "tag pr-22 matches delete-tags",
		},
		{
			name:   "digest",
			inputs: map[string]string{"delete-tags": "DIGEST:pr-22"},
			gone: func(s map[string][]string) []string {
				return flat(s["pr-22"])
			},
			summary: "digest listed in delete-tags",
		},
		{
			name:   "no match deletes nothing",
			inputs: map[string]string{"delete-tags": "nothing-*"},
			gone: func(s map[string][]string) []string {
				return nil
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			s := map[string][]string{}
			s["pr-1"] = []string{e.image("pr-1", 3*day)}
			s["pr-22"] = []string{e.image("pr-22", 2*day)}
			idx, ch := e.multi("pr-multi", true, 4*day, 4*day)
			s["pr-multi"] = flat(idx, ch)
			s["pr-foo"] = []string{e.image("pr-foo", 1*day)}
			mixed := e.image("pr-9", 5*day)
			e.tag(mixed, "v1")
			s["mixed"] = []string{mixed}
			s["v2"] = []string{e.image("v2", 6*day)}
			s["untagged"] = []string{e.image("", 10*day)}
			in := map[string]string{}
			for k, v := range tc.inputs {
				if name, ok := strings.CutPrefix(v, "DIGEST:"); ok {
					v = s[name][0]
				}
				in[k] = v
			}
			before := e.remaining()
			r := e.apply(in)
			e.expectDeleted(r, before, tc.gone(s)...)
			if tc.summary != "" {
				expectSummary(t, r, tc.summary)
			}
		})
	}
}

// 5. exclude-tags, by tag and by digest, wins over delete-tags and over
// delete-untagged.
func TestE2EPolicyExcludeTags(t *testing.T) {
	t.Parallel()
	t.Run("tag wins over delete-tags", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		pr1 := e.image("pr-1", 3*day)
		e.multi("pr-2", true, 3*day, 3*day)
		pr3 := e.image("pr-3", 3*day)
		e.image("main", 1*day)
		before := e.remaining()
		r := e.apply(map[string]string{"delete-tags": "pr-*", "exclude-tags": "pr-2"})
		e.expectDeleted(r, before, pr1, pr3)
		expectSummary(t, r, "matches exclude-tags")
	})
	t.Run("digest wins over delete-tags", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		pr1 := e.image("pr-1", 3*day)
		pr2 := e.image("pr-2", 3*day)
		e.image("main", 1*day)
		before := e.remaining()
		r := e.apply(map[string]string{"delete-tags": "pr-*", "exclude-tags": pr2})
		e.expectDeleted(r, before, pr1)
		expectSummary(t, r, "digest listed in exclude-tags")
	})
	t.Run("digest wins over delete-untagged", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		u1 := e.image("", 3*day)
		u2idx, _ := e.multi("", true, 3*day, 3*day)
		u3idx, u3ch := e.multi("", false, 3*day, 3*day)
		e.image("main", 1*day)
		before := e.remaining()
		r := e.apply(map[string]string{"exclude-tags": u2idx + "\n" + u1})
		e.expectDeleted(r, before, flat(u3idx, u3ch)...)
		expectSummary(t, r, "digest listed in exclude-tags")
	})
	t.Run("wildcard wins over delete-tags everything", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		old := e.image("v1", 3*day)
		v1 := e.image("v1", 1*day)
		e.image("release-1", 2*day)
		e.multi("release-2", true, 20*day, 20*day)
		before := e.remaining()
		r := e.apply(map[string]string{"delete-tags": "*", "exclude-tags": "release-*", "delete-untagged": "true"})
		e.expectDeleted(r, before, old, v1)
	})
}

// 6a. keep-n-tagged over all tagged images; children are never counted.
func TestE2EPolicyKeepNTagged(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	t1 := e.image("v1", 1*day)
	m2, m2ch := e.multi("v2", true, 2*day, 40*day)
	t3 := e.image("v3", 3*day)
	m4, m4ch := e.multi("v4", false, 4*day, 4*day)
	t5 := e.image("v5", 5*day)
	u := e.image("", 9*day)
	before := e.remaining()
	r := e.apply(map[string]string{"keep-n-tagged": "2"})
	// v1 and v2 are the 2 newest tagged; v3, v4 (with its children) and v5
	// go; the untagged image stays since delete-untagged is off by default
	// once another rule is given.
	e.expectDeleted(r, before, flat(t3, m4, m4ch, t5)...)
	e.expectRemaining(flat(t1, m2, m2ch, u)...)
	expectSummary(t, r, "beyond the 2 newest tagged", "among the 2 newest tagged")
}

// 6b. keep-n-tagged ranks only the delete-tags candidates.
func TestE2EPolicyKeepNTaggedWithDeleteTags(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	pr1 := e.image("pr-1", 1*day)
	pr2, pr2ch := e.multi("pr-2", true, 2*day, 2*day)
	pr3, pr3ch := e.multi("pr-3", true, 3*day, 3*day)
	pr4 := e.image("pr-4", 4*day)
	v1 := e.image("v1", 30*day)
	u := e.image("", 30*day)
	before := e.remaining()
	r := e.apply(map[string]string{"delete-tags": "pr-*", "keep-n-tagged": "2"})
	e.expectDeleted(r, before, flat(pr3, pr3ch, pr4)...)
	e.expectRemaining(flat(pr1, pr2, pr2ch, v1, u)...)
}

// 6c. keep-n-untagged counts untagged top-level images, never children.
func TestE2EPolicyKeepNUntagged(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	var idx []string
	var children [][]string
	for i := 1; i <= 5; i++ {
		d, ch := e.multi("", true, time.Duration(i)*day, time.Duration(i)*day)
		idx = append(idx, d)
		children = append(children, ch)
	}
	tagged := e.image("latest", 50*day)
	before := e.remaining()
	r := e.apply(map[string]string{"keep-n-untagged": "2"})
	gone := flat(idx[2], children[2], idx[3], children[3], idx[4], children[4])
	if len(gone) != 15 {
		t.Fatalf("setup: %d to go", len(gone))
	}
	e.expectDeleted(r, before, gone...)
	e.expectRemaining(flat(idx[0], children[0], idx[1], children[1], tagged)...)
	expectSummary(t, r, "among the 2 newest untagged")
}

// 6d. keep-n and older-than combine: deleted only outside the newest N and
// older than the cut-off.
func TestE2EPolicyKeepNWithOlderThan(t *testing.T) {
	t.Parallel()
	t.Run("untagged", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("", 1*day)                          // newest: kept by N
		e.image("", 2*day)                          // too young
		u4 := e.image("", 4*day)                    // goes
		u5, u5ch := e.multi("", true, 5*day, 5*day) // goes with children
		e.image("latest", 60*day)
		before := e.remaining()
		r := e.apply(map[string]string{"keep-n-untagged": "1", "older-than": "3d"})
		e.expectDeleted(r, before, flat(u4, u5, u5ch)...)
		expectSummary(t, r, "older-than 3 days")
	})
	t.Run("tagged", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v5", 10*day) // newest: kept by N although old
		e.image("v4", 11*day) // kept by N
		e.image("v3", 1*day)  // actually newest; kept by N
		v2 := e.image("v2", 12*day)
		v1, v1ch := e.multi("v1", true, 13*day, 13*day)
		before := e.remaining()
		r := e.apply(map[string]string{"keep-n-tagged": "3", "older-than": "1w"})
		e.expectDeleted(r, before, flat(v2, v1, v1ch)...)
	})
	t.Run("tagged young outside N", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v3", 1*day)
		e.image("v2", 2*day)       // outside N but young: kept
		v1 := e.image("v1", 9*day) // outside N and old: goes
		before := e.remaining()
		r := e.apply(map[string]string{"keep-n-tagged": "1", "older-than": "5d"})
		e.expectDeleted(r, before, v1)
	})
}

// 7. older-than in compact and word forms.
func TestE2EPolicyOlderThanForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		input      string
		young, old time.Duration
	}{
		{"2w", 13 * day, 15 * day},
		{"5 days", 4 * day, 6 * day},
		{"36h", 35 * time.Hour, 37 * time.Hour},
		{"1w2d", 8 * day, 10 * day},
		{"90m", 80 * time.Minute, 100 * time.Minute},
		{"1 second", 0, 2 * time.Hour}, // past min-age's hour, the later cut-off
	}
	for _, tc := range cases {
		t.Run(tc.input, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			e.image("", tc.young)
			old := e.image("", tc.old)
			oldIdx, oldCh := e.multi("", false, tc.old, tc.old)
			e.image("latest", 100*day)
			before := e.remaining()
			r := e.apply(map[string]string{"older-than": tc.input})
			e.expectDeleted(r, before, flat(old, oldIdx, oldCh)...)
		})
	}
}

// 8. The same scenario on a user's and an organization's package, and on
// a package whose name contains "/".
func TestE2EPolicyOwnersAndNestedNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, owner, pkg string
		org              bool
	}{
		{"user", "alice", "app", false},
		{"org", "acme", "app", true},
		{"user nested name", "alice", "team/app", false},
		{"org nested name", "acme", "team/app", true},
		{"org mixed case owner", "AcmeCorp", "app", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, tc.owner, tc.pkg, tc.org)
			prev, prevCh := e.multi("prod", true, 4*day, 25*day)
			e.multi("prod", true, 1*day, 20*day)
			u := e.image("", 10*day)
			e.image("v1", 10*day)
			before := e.remaining()
			r := e.apply(map[string]string{"older-than": "3d"})
			e.expectDeleted(r, before, flat(prev, prevCh, u)...)
		})
	}
}

// 9. Bad inputs fail before any DELETE, naming the input.
func TestE2EPolicyBadInputs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"dry-run", map[string]string{"dry-run": "maybe"}, "dry-run"},
		{"older-than", applied("older-than", "5 dayz"), "older-than"},
		{"keep-n-tagged", applied("keep-n-tagged", "-1"), "keep-n-tagged"},
		{"keep-n-untagged", applied("keep-n-untagged", "two"), "keep-n-untagged"},
		{"delete-tags regex", applied("delete-tags", "pr-(", "use-regex", "true"), "delete-tags"},
		{"exclude-tags regex", applied("exclude-tags", "v[", "use-regex", "true"), "exclude-tags"},
		{"use-regex", applied("use-regex", "yes"), "use-regex"},
		{"delete-untagged", applied("delete-untagged", "on"), "delete-untagged"},
		{"owner", applied("owner", "nobody-here"), "owner"},
		{"packages", applied("packages", "no-such-package"), "packages"},
		{"packages wildcard", applied("packages", "zzz-*"), "packages"},
		{"packages one of two", applied("packages", "app, no-such-package"), "packages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			e.image("", 10*day)
			e.multi("", true, 10*day, 10*day)
			e.image("v1", 1*day)
			before := e.remaining()
			e.srv.ResetStats()
			r := e.run(tc.inputs)
			if r.err == nil {
				t.Fatalf("run succeeded; want an error naming %s\nlog:\n%s", tc.want, r.log)
			}
			if !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", r.err, tc.want)
			}
			if n := e.srv.Stats().REST["DELETE"]; n != 0 {
				t.Errorf("%d DELETE requests before failing", n)
			}
			e.expectRemaining(before...)
			e.expectPullable()
		})
	}
}

// 10. plan-path and deleted-ids.
func TestE2EPolicyOutputs(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	u := e.image("", 10*day)
	idx, ch := e.multi("", true, 10*day, 10*day)
	e.image("v1", 1*day)
	before := e.remaining()
	r := e.apply(map[string]string{"older-than": "3d"})
	gone := flat(u, idx, ch)
	e.expectDeleted(r, before, gone...)

	path := r.outputs["plan-path"]
	if path == "" {
		t.Fatal("no plan-path output")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("plan-path %q: %v", path, err)
	}
	var plan struct {
		Format   string            `json:"format"`
		Version  int               `json:"version"`
		DryRun   bool              `json:"dry_run"`
		Inputs   map[string]string `json:"inputs"`
		Packages []struct {
			Package string `json:"package"`
			Delete  []struct {
				ID      int64  `json:"id"`
				Digest  string `json:"digest"`
				Outcome string `json:"outcome"`
			} `json:"delete"`
			Keep []struct {
				Digest string `json:"digest"`
			} `json:"keep"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatalf("plan file does not parse: %v\n%s", err, raw)
	}
	if plan.Format != "ghcr-prune-plan" || plan.DryRun || len(plan.Packages) != 1 {
		t.Fatalf("plan file header: format %q dry_run %v packages %d", plan.Format, plan.DryRun, len(plan.Packages))
	}
	if _, ok := plan.Inputs["token"]; ok {
		t.Error("the plan file records the token input")
	}
	if plan.Inputs["older-than"] != "3d" {
		t.Errorf("plan inputs = %v", plan.Inputs)
	}
	p := plan.Packages[0]
	var planned, ids []string
	for _, d := range p.Delete {
		planned = append(planned, d.Digest)
		ids = append(ids, strconv.FormatInt(d.ID, 10))
		if d.Outcome == "" {
			t.Errorf("deletion %s has no outcome", d.Digest)
		}
	}
	if !equalSorted(planned, gone) {
		t.Errorf("plan deletes %v, want %v", planned, gone)
	}
	if len(p.Keep) != len(before)-len(gone) {
		t.Errorf("plan keeps %d, want %d", len(p.Keep), len(before)-len(gone))
	}
	if got := strings.Split(r.outputs["deleted-ids"], ","); !equalSorted(got, ids) {
		t.Errorf("deleted-ids %v, plan ids %v", got, ids)
	}
	if !equalSorted(ids, e.ids(gone...)) {
		t.Errorf("plan ids %v, fake ids %v", ids, e.ids(gone...))
	}
	if string(raw) != string(r.plan) {
		t.Error("plan-path is not the plan file under RUNNER_TEMP")
	}
}

// Patterns: ? wildcards, several patterns, anchored regexes.
func TestE2EPolicyDeleteTagsPatternForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		gone   []string // tags whose images go
	}{
		{"question mark", map[string]string{"delete-tags": "pr-?"}, []string{"pr-1"}},
		{"comma list", map[string]string{"delete-tags": "pr-1, rc-*"}, []string{"pr-1", "rc-1"}},
		{"newline list", map[string]string{"delete-tags": "pr-22\nrc-1"}, []string{"pr-22", "rc-1"}},
		{"regex is anchored", map[string]string{"delete-tags": "pr-[0-9]", "use-regex": "true"}, []string{"pr-1"}},
		{"regex list", map[string]string{"delete-tags": "pr-2+\nrc-.*", "use-regex": "true"}, []string{"pr-22", "rc-1"}},
		{"wildcard does not match a substring", map[string]string{"delete-tags": "pr"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			byTag := map[string]string{}
			for i, tag := range []string{"pr-1", "pr-22", "rc-1", "v1"} {
				byTag[tag] = e.image(tag, time.Duration(i+2)*day)
			}
			before := e.remaining()
			var gone []string
			for _, tag := range tc.gone {
				gone = append(gone, byTag[tag])
			}
			r := e.apply(tc.inputs)
			e.expectDeleted(r, before, gone...)
		})
	}
}

// A platform child named in delete-tags is still kept while its tagged
// index is; an excluded child survives the deletion of its untagged index.
func TestE2EPolicyChildDigests(t *testing.T) {
	t.Parallel()
	t.Run("delete-tags names a child of a kept index", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		_, ch := e.multi("prod", true, 30*day, 30*day)
		e.image("v1", 30*day)
		before := e.remaining()
		r := e.apply(map[string]string{"delete-tags": ch[0] + "\n" + ch[2]})
		e.expectDeleted(r, before)
	})
	t.Run("exclude-tags names a child of a deleted index", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		idx, ch := e.multi("", false, 30*day, 30*day)
		e.image("v1", 1*day)
		before := e.remaining()
		r := e.apply(map[string]string{"exclude-tags": ch[1]})
		e.expectDeleted(r, before, idx, ch[0])
		expectSummary(t, r, "digest listed in exclude-tags")
	})
}

// As in dataaxiom, use-regex with expand-packages makes packages regexes
// over the owner's packages; wildcards work without either.
func TestE2EPolicyPackagesByRegexAndWildcard(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app1", true)
	for _, pkg := range []string{"app1", "app2", "app10", "web"} {
		p := e.srv.Pusher("acme", pkg)
		if _, err := p.Image("v1"); err != nil {
			t.Fatal(err)
		}
	}
	names := func(r runResult) []string {
		var out []string
		for _, p := range r.report.Packages {
			out = append(out, p.Package)
		}
		sort.Strings(out)
		return out
	}
	r := e.run(inputsOf("packages", `^app[12]$`, "use-regex", "true", "expand-packages", "true"))
	e.ok(r)
	if got := names(r); !slices.Equal(got, []string{"app1", "app2"}) {
		t.Errorf("regex selected %v", got)
	}
	r = e.run(inputsOf("packages", "app*"))
	e.ok(r)
	if got := names(r); !slices.Equal(got, []string{"app1", "app10", "app2"}) {
		t.Errorf("wildcard selected %v", got)
	}
}
