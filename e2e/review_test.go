package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// End-to-end tests of review and undo: apply-plan (apply exactly a reviewed
// plan), restore-from (undo), untagging, validate / fail-on-broken, and the
// deleted-ids record, each against the fake GHCR as a runner runs the action.

// savePlan copies the plan file a run wrote (plan-path) to a path that
// outlives the run's RUNNER_TEMP, as an uploaded artifact would.
func savePlan(e *e2e, r runResult) string {
	e.t.Helper()
	p := r.outputs["plan-path"]
	if p == "" {
		e.t.Fatalf("no plan-path output; outputs %v", r.outputs)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	if string(data) != string(r.plan) {
		e.t.Errorf("plan-path %s does not hold the run's plan file", p)
	}
	out := filepath.Join(e.t.TempDir(), "reviewed-plan.json")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func expectOutput(t *testing.T, r runResult, name, want string) {
	t.Helper()
	if got := r.outputs[name]; got != want {
		t.Errorf("output %s = %q, want %q", name, got, want)
	}
}

// expectDeletedIDs checks the deleted-ids output against digests (any order).
func expectDeletedIDs(e *e2e, r runResult, digests ...string) {
	e.t.Helper()
	want := e.ids(digests...)
	var got []string
	if s := r.outputs["deleted-ids"]; s != "" {
		got = strings.Split(s, ",")
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		e.t.Errorf("deleted-ids = %v, want %v", got, want)
	}
}

// resolveTag is the digest tag resolves to in the registry, or an error.
func resolveTag(e *e2e, tag string) (string, error) {
	e.t.Helper()
	repo, auth := e.repo()
	desc, err := remote.Get(repo.Tag(tag), auth)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

func expectTag(e *e2e, tag, digest string) {
	e.t.Helper()
	got, err := resolveTag(e, tag)
	if err != nil {
		e.t.Errorf("tag %s does not resolve: %v", tag, err)
	} else if got != digest {
		e.t.Errorf("tag %s resolves to %s, want %s", tag, got, digest)
	}
}

func expectNoTag(e *e2e, tag string) {
	e.t.Helper()
	if got, err := resolveTag(e, tag); err == nil {
		e.t.Errorf("tag %s still resolves (to %s)", tag, got)
	}
}

// expectPulls asserts that digest pulls completely: its manifest and,
// recursively, every manifest it lists.
func expectPulls(e *e2e, digest string) {
	e.t.Helper()
	repo, auth := e.repo()
	if _, err := fakeghcr.Pull(repo.Digest(digest), auth); err != nil {
		e.t.Errorf("%s does not pull: %v", digest, err)
	}
}

// tagsOf is the tags the fake's version of digest carries.
func tagsOf(e *e2e, digest string) []string {
	e.t.Helper()
	tags := e.version(digest).Tags
	slices.Sort(tags)
	return tags
}

func expectTags(e *e2e, digest string, want ...string) {
	e.t.Helper()
	slices.Sort(want)
	if got := tagsOf(e, digest); !slices.Equal(got, want) {
		e.t.Errorf("tags of %s = %v, want %v", digest, got, want)
	}
}

func deleteCount(e *e2e) int { return e.srv.Stats().REST[http.MethodDelete] }

// ---------------------------------------------------------------------------
// 1. apply-plan

func TestE2EReviewApplyPlan(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	v1 := e.image("v1", 1*day)
	retag := e.image("", 10*day) // re-tagged after the review
	oldIdx, oldChildren := e.multi("", false, 10*day, 10*day)
	gone := e.image("", 10*day)         // deleted by hand after the review
	still := e.image("", 10*day)        // unchanged: deleted
	stable := e.image("stable", 10*day) // loses its tag after the review
	young := e.image("", 1*day)         // too young when reviewed

	dry := e.run(inputsOf("older-than", "3d"))
	e.ok(dry)
	planPath := savePlan(e, dry)
	planned := []string{retag, oldIdx, oldChildren[0], oldChildren[1], gone, still}
	expectOutput(t, dry, "planned-count", strconv.Itoa(len(planned)))
	for _, d := range dry.report.Packages[0].Plan.Delete {
		if !slices.Contains(planned, d.Digest) {
			t.Errorf("dry run plans %s, not expected", d.Digest)
		}
	}
	if f, err := prune.ReadPlanFile(dry.plan); err != nil || f.Inputs["older-than"] != "3d" {
		t.Errorf("plan file does not record its inputs (%v):\n%s", err, dry.plan)
	}

	// The package changes between review and apply.
	e.tag(retag, "keepme")
	newIdx := e.must(e.push.Index("newidx", []string{oldChildren[0]}))
	e.restDelete(gone)
	stableNew := e.image("stable", 1*day) // stable moves: the old one is now untagged and old
	late := e.image("", 10*day)           // pushed after the review, old enough
	deletesBefore := deleteCount(e)

	// apply-plan recomputes with this run's rules, the plan's own.
	r := e.run(applied("apply-plan", planPath, "older-than", "3d"))
	e.ok(r)
	e.expectRemaining(v1, retag, oldChildren[0], newIdx, stable, stableNew, young, late)
	e.expectPullable()
	expectPulls(e, newIdx)
	expectDeletedIDs(e, r, oldIdx, oldChildren[1], still)
	expectOutput(t, r, "deleted-count", "3")
	if n := deleteCount(e) - deletesBefore; n != 3 {
		t.Errorf("%d DELETE requests, want 3", n)
	}
	expectSummary(t, r, "Confined to a reviewed plan",
		"now kept: tag keepme", "gone", "(tag newidx)")
	// "Skipped 3 entries" is checked by TestE2EReviewSkippedEntriesPlural.
	expectSummary(t, r, "Skipped 3 entr")
	skipped := map[string]string{}
	for _, s := range r.report.Packages[0].Withdrawn {
		skipped[s.Digest] = s.Reason
	}
	for d, want := range map[string]string{retag: "now kept: tag keepme", gone: "gone", oldChildren[0]: "now kept: in index"} {
		if !strings.HasPrefix(skipped[d], want) {
			t.Errorf("skip reason of %s = %q, want prefix %q", d, skipped[d], want)
		}
	}
	if len(skipped) != 3 {
		t.Errorf("skipped %v, want 3 entries", skipped)
	}
	for _, d := range []string{retag, gone, oldChildren[0]} {
		if id := e.ids(d)[0]; !strings.Contains(r.summary, "| "+id+" |") {
			t.Errorf("summary does not list skipped version %s", id)
		}
	}
}

// The issue and README: with apply-plan, "leave the rule inputs out"; the
// plan's rules are used.
// apply-plan recomputes with the run's own rules: a run that leaves out the
// rules the plan was made with is refused before any DELETE (the plan file
// could come from anyone who can open a pull request; it may only narrow a
// run), and the same rules apply the plan.
func TestE2EReviewApplyPlanNeedsTheSameRules(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	v1 := e.image("v1", 1*day)
	old := e.image("", 10*day)
	young := e.image("", 1*day)
	pr := e.image("pr-1", 10*day)
	rules := []string{"older-than", "3d", "delete-tags", "pr-*", "delete-untagged", "true", "keep-n-untagged", "0"}
	dry := e.run(inputsOf(rules...))
	e.ok(dry)
	planPath := savePlan(e, dry)
	e.srv.ResetStats()
	r := e.run(applied("apply-plan", planPath))
	if r.err == nil || !strings.Contains(r.err.Error(), "older-than:") || !strings.Contains(r.err.Error(), "delete-tags:") {
		t.Fatalf("rules left out: error %v, want one naming older-than and delete-tags", r.err)
	}
	if n := e.srv.Stats().REST["DELETE"]; n != 0 {
		t.Fatalf("%d DELETEs after refusing the inputs", n)
	}
	r = e.run(applied(append([]string{"apply-plan", planPath}, rules...)...))
	e.ok(r)
	e.expectRemaining(v1, young)
	e.expectPullable()
	expectDeletedIDs(e, r, old, pr)
}

func TestE2EReviewApplyPlanUnchanged(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	v1 := e.image("v1", 1*day)
	idx, children := e.multi("", true, 10*day, 10*day)
	stray := e.image("", 10*day)
	dry := e.run(nil)
	e.ok(dry)
	planPath := savePlan(e, dry)
	r := e.run(applied("apply-plan", planPath))
	e.ok(r)
	e.expectRemaining(v1)
	e.expectPullable()
	expectDeletedIDs(e, r, append([]string{idx, stray}, children...)...)
	if n := len(r.report.Packages[0].Withdrawn); n != 0 {
		t.Errorf("%d skipped entries, want none: %v", n, r.report.Packages[0].Withdrawn)
	}
}

func TestE2EReviewApplyPlanErrors(t *testing.T) {
	t.Parallel()
	build := func(t *testing.T) (*e2e, string, []string) {
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 1*day)
		e.image("", 10*day)
		e.image("", 5*day)
		dry := e.run(inputsOf("older-than", "3d"))
		e.ok(dry)
		return e, savePlan(e, dry), e.remaining()
	}
	t.Run("conflicting rule input", func(t *testing.T) {
		t.Parallel()
		e, plan, before := build(t)
		d0 := deleteCount(e)
		r := e.run(applied("apply-plan", plan, "older-than", "7d"))
		if r.err == nil {
			t.Fatalf("apply-plan with a different older-than succeeded\n%s", r.summary)
		}
		if !strings.Contains(r.err.Error(), "older-than") {
			t.Errorf("error does not name older-than: %v", r.err)
		}
		if n := deleteCount(e) - d0; n != 0 {
			t.Errorf("%d DELETE requests after an input error", n)
		}
		e.expectRemaining(before...)
	})
	t.Run("conflicting delete-tags", func(t *testing.T) {
		t.Parallel()
		e, plan, before := build(t)
		r := e.run(applied("apply-plan", plan, "delete-tags", "v*"))
		if r.err == nil || !strings.Contains(r.err.Error(), "delete-tags") {
			t.Fatalf("want an error naming delete-tags, got %v", r.err)
		}
		e.expectRemaining(before...)
	})
	t.Run("same rule input is fine", func(t *testing.T) {
		t.Parallel()
		e, plan, before := build(t)
		r := e.run(applied("apply-plan", plan, "older-than", "3d"))
		e.ok(r)
		expectOutput(t, r, "deleted-count", "2")
		if got := len(e.remaining()); got != len(before)-2 {
			t.Errorf("%d versions remain, want %d", got, len(before)-2)
		}
	})
	t.Run("garbage file", func(t *testing.T) {
		t.Parallel()
		e, _, before := build(t)
		bad := filepath.Join(t.TempDir(), "garbage.json")
		if err := os.WriteFile(bad, []byte("this is not { a plan"), 0o644); err != nil {
			t.Fatal(err)
		}
		d0 := deleteCount(e)
		r := e.run(applied("apply-plan", bad))
		if r.err == nil || !strings.Contains(r.err.Error(), "apply-plan") {
			t.Fatalf("want an error naming apply-plan, got %v", r.err)
		}
		if n := deleteCount(e) - d0; n != 0 {
			t.Errorf("%d DELETE requests after an input error", n)
		}
		e.expectRemaining(before...)
	})
	t.Run("other JSON", func(t *testing.T) {
		t.Parallel()
		e, _, before := build(t)
		bad := filepath.Join(t.TempDir(), "other.json")
		if err := os.WriteFile(bad, []byte(`{"format":"something-else","version":1}`), 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.run(applied("apply-plan", bad))
		if r.err == nil || !strings.Contains(r.err.Error(), "apply-plan") {
			t.Fatalf("want an error naming apply-plan, got %v", r.err)
		}
		e.expectRemaining(before...)
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		e, _, before := build(t)
		r := e.run(applied("apply-plan", filepath.Join(t.TempDir(), "nope.json")))
		if r.err == nil || !strings.Contains(r.err.Error(), "apply-plan") {
			t.Fatalf("want an error naming apply-plan, got %v", r.err)
		}
		e.expectRemaining(before...)
	})
}

// ---------------------------------------------------------------------------
// 2. restore-from

// restoreFixture deletes a tagged and an untagged multi-arch image in an
// applied run and records the order of restore requests.
type restoreFixture struct {
	e          *e2e
	keep       string
	tagged     string
	taggedKids []string
	idx        string
	idxKids    []string
	applied    runResult
	mu         sync.Mutex
	restores   []string // version ids, in request order
}

func restoreSetup(t *testing.T) *restoreFixture {
	t.Helper()
	e := newE2E(t, "acme", "app", true)
	f := &restoreFixture{e: e}
	f.keep = e.image("v1", 1*day)
	f.tagged, f.taggedKids = e.multi("old", true, 10*day, 10*day)
	f.idx, f.idxKids = e.multi("", true, 10*day, 10*day)
	f.applied = e.run(applied("delete-tags", "old", "delete-untagged", "true"))
	e.ok(f.applied)
	e.expectRemaining(f.keep)
	expectDeletedIDs(e, f.applied, f.all()...)
	e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/restore") {
			parts := strings.Split(r.URL.Path, "/")
			f.mu.Lock()
			f.restores = append(f.restores, parts[len(parts)-2])
			f.mu.Unlock()
		}
		return false
	})
	return f
}

func (f *restoreFixture) all() []string {
	return flat(f.tagged, f.taggedKids, f.idx, f.idxKids)
}

// checkRestored asserts everything is back, pulls, and came back children first.
func (f *restoreFixture) checkRestored(t *testing.T, r runResult) {
	t.Helper()
	e := f.e
	e.ok(r)
	e.expectRemaining(append([]string{f.keep}, f.all()...)...)
	e.expectPullable()
	expectPulls(e, f.idx)
	expectPulls(e, f.tagged)
	expectTag(e, "old", f.tagged)
	expectOutput(t, r, "restored-count", strconv.Itoa(len(f.all())))
	f.mu.Lock()
	order := slices.Clone(f.restores)
	f.mu.Unlock()
	if len(order) != len(f.all()) {
		t.Fatalf("%d restore requests, want %d: %v", len(order), len(f.all()), order)
	}
	pos := func(d string) int { return slices.Index(order, e.ids(d)[0]) }
	for parent, kids := range map[string][]string{f.tagged: f.taggedKids, f.idx: f.idxKids} {
		for _, k := range kids {
			if pos(k) > pos(parent) {
				t.Errorf("index %s restored before its child %s (order %v)", parent, k, order)
			}
		}
	}
}

func TestE2EReviewRestore(t *testing.T) {
	t.Parallel()
	t.Run("from the plan file", func(t *testing.T) {
		t.Parallel()
		f := restoreSetup(t)
		path := savePlan(f.e, f.applied)
		r := f.e.run(applied("restore-from", path))
		f.checkRestored(t, r)
		expectSummary(t, r, fmt.Sprintf("%d versions restored", len(f.all())))
	})
	t.Run("from deleted-ids", func(t *testing.T) {
		t.Parallel()
		f := restoreSetup(t)
		ids := f.applied.outputs["deleted-ids"]
		r := f.e.run(applied("restore-from", ids))
		f.checkRestored(t, r)
	})
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		f := restoreSetup(t)
		path := savePlan(f.e, f.applied)
		r := f.e.run(inputsOf("restore-from", path))
		f.e.ok(r)
		f.e.expectRemaining(f.keep)
		expectOutput(t, r, "restored-count", "0")
		expectSummary(t, r, fmt.Sprintf("dry run, %d versions would be restored", len(f.all())), "Nothing was restored")
		for _, id := range f.e.ids(f.all()...) {
			if !strings.Contains(r.summary, "| "+id+" |") {
				t.Errorf("dry-run summary does not list version %s", id)
			}
		}
		if len(f.restores) != 0 {
			t.Errorf("restore requests in a dry run: %v", f.restores)
		}
	})
	t.Run("from a dry-run plan", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := e.image("v1", 1*day)
		stray := e.image("", 10*day)
		dry := e.run(nil)
		e.ok(dry)
		path := savePlan(e, dry)
		r := e.run(applied("restore-from", path))
		if r.err == nil {
			t.Fatalf("restoring from a dry-run plan succeeded:\n%s", r.summary)
		}
		if !strings.Contains(r.err.Error(), "restore-from") || !strings.Contains(r.err.Error(), "dry run") {
			t.Errorf("error should name restore-from and say the plan is a dry run: %v", r.err)
		}
		e.expectRemaining(keep, stray)
	})
	t.Run("with apply-plan", func(t *testing.T) {
		t.Parallel()
		f := restoreSetup(t)
		path := savePlan(f.e, f.applied)
		r := f.e.run(applied("restore-from", path, "apply-plan", path))
		if r.err == nil || !strings.Contains(r.err.Error(), "restore-from") {
			t.Fatalf("want an error naming restore-from, got %v", r.err)
		}
		f.e.expectRemaining(f.keep)
	})
	t.Run("twice: already restored is reported", func(t *testing.T) {
		t.Parallel()
		f := restoreSetup(t)
		path := savePlan(f.e, f.applied)
		f.checkRestored(t, f.e.run(applied("restore-from", path)))
		r := f.e.run(applied("restore-from", path))
		if r.err == nil {
			t.Errorf("restoring active versions again reported success")
		}
		f.e.expectRemaining(append([]string{f.keep}, f.all()...)...)
		expectOutput(t, r, "restored-count", "0")
	})
}

// ---------------------------------------------------------------------------
// 3. Untag

func TestE2EReviewUntag(t *testing.T) {
	t.Parallel()
	t.Run("applied", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		img := e.image("pr-1", 10*day)
		e.tag(img, "v1")
		e.age(img, 10*day)
		other := e.image("main", 1*day)
		nVersions := len(e.srv.Versions(e.owner, e.pkg))
		r := e.run(applied("delete-tags", "pr-*"))
		e.ok(r)
		e.expectRemaining(img, other)
		e.expectPullable()
		expectNoTag(e, "pr-1")
		expectTag(e, "v1", img)
		expectTags(e, img, "v1")
		expectOutput(t, r, "deleted-count", "0")
		expectOutput(t, r, "deleted-ids", "")
		// The placeholder exists, deleted: one extra version, inactive.
		all := e.srv.Versions(e.owner, e.pkg)
		if len(all) != nVersions+1 {
			t.Errorf("%d versions, want %d (one deleted placeholder)", len(all), nVersions+1)
		}
		for _, v := range all {
			if v.Digest != img && v.Digest != other && !v.Deleted {
				t.Errorf("placeholder %s left active", v.Digest)
			}
		}
		expectSummary(t, r, "Removed 1 of 1 tag from images that stay", "pr-1")
	})
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		img := e.image("pr-1", 10*day)
		e.tag(img, "v1")
		e.age(img, 10*day)
		before := e.srv.Versions(e.owner, e.pkg)
		d0 := deleteCount(e)
		r := e.run(inputsOf("delete-tags", "pr-*"))
		e.ok(r)
		e.expectRemaining(img)
		expectTag(e, "pr-1", img)
		expectTag(e, "v1", img)
		if n := len(e.srv.Versions(e.owner, e.pkg)); n != len(before) {
			t.Errorf("a dry run pushed %d versions", n-len(before))
		}
		if n := deleteCount(e) - d0; n != 0 {
			t.Errorf("%d DELETE requests in a dry run", n)
		}
		if w := e.srv.Stats().ManifestPuts; w != 0 {
			t.Errorf("%d manifest PUTs in a dry run", w)
		}
		expectSummary(t, r, "Would remove 1 tag from images that stay", "pr-1", "v1")
	})
	t.Run("keep-n, exclude-tags, whole deletion, multi-arch", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		// a: newest matching image, kept by keep-n-tagged 1 with every tag.
		a := e.image("pr-1", 0)
		e.tag(a, "v1")
		e.age(a, 2*day)
		// b: older, loses pr-2 but keeps v2.
		b := e.image("pr-2", 0)
		e.tag(b, "v2")
		e.age(b, 3*day)
		// c: every tag matches: deleted whole.
		c := e.image("pr-3", 0)
		e.tag(c, "pr-4")
		e.age(c, 4*day)
		// l: latest is excluded: keeps pr-5.
		l := e.image("latest", 0)
		e.tag(l, "pr-5")
		e.age(l, 5*day)
		// m: a multi-arch index losing one of two tags keeps its children.
		m, mKids := e.multi("pr-6", true, 0, 0)
		e.tag(m, "v6")
		e.age(m, 6*day)
		for _, k := range mKids {
			e.age(k, 6*day)
		}
		r := e.run(applied("delete-tags", "pr-*", "keep-n-tagged", "1", "exclude-tags", "latest"))
		e.ok(r)
		e.expectRemaining(flat(a, b, l, m, mKids)...)
		e.expectPullable()
		expectDeletedIDs(e, r, c)
		expectTags(e, a, "pr-1", "v1")
		expectTags(e, b, "v2")
		expectTags(e, l, "latest", "pr-5")
		expectTags(e, m, "v6")
		for _, tag := range []string{"pr-2", "pr-3", "pr-4", "pr-6"} {
			expectNoTag(e, tag)
		}
		expectTag(e, "pr-1", a)
		expectTag(e, "pr-5", l)
		expectTag(e, "v6", m)
		expectPulls(e, m)
		expectSummary(t, r, "Removed 2 of 2 tags from images that stay")
	})
	t.Run("older-than spares a young image's tags", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		young := e.image("pr-1", 0)
		e.tag(young, "v1")
		e.age(young, 1*day)
		r := e.run(applied("delete-tags", "pr-*", "older-than", "3d"))
		e.ok(r)
		e.expectRemaining(young)
		expectTags(e, young, "pr-1", "v1")
	})
}

// ---------------------------------------------------------------------------
// 4. validate

func TestE2EReviewValidate(t *testing.T) {
	t.Parallel()
	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		v1, kids := e.multi("v1", true, 1*day, 1*day)
		stray := e.image("", 10*day)
		r := e.run(applied("validate", "true", "fail-on-broken", "true"))
		e.ok(r)
		e.expectRemaining(flat(v1, kids)...)
		e.expectPullable()
		expectDeletedIDs(e, r, stray)
		expectOutput(t, r, "broken-count", "0")
		expectSummary(t, r, "every image is whole")
	})
	// broken builds a package with a ghost, a partial image and an orphaned
	// cosign signature, all made by hand through the REST API.
	broken := func(t *testing.T) (*e2e, []string) {
		e := newE2E(t, "acme", "app", true)
		keep := e.image("keep", 1*day)
		ghost, gKids := e.multi("ghost", false, 1*day, 1*day)
		partial, pKids := e.multi("partial", false, 1*day, 1*day)
		subject := e.image("", 1*day)
		sig := e.must(e.push.CosignSignature(subject))
		e.age(sig, 1*day)
		for _, k := range gKids {
			e.restDelete(k)
		}
		e.restDelete(pKids[0])
		e.restDelete(subject)
		return e, []string{keep, ghost, partial, pKids[1], sig}
	}
	t.Run("broken: warnings", func(t *testing.T) {
		t.Parallel()
		e, left := broken(t)
		r := e.run(applied("validate", "true"))
		e.ok(r)
		e.expectRemaining(left...)
		expectOutput(t, r, "broken-count", "3")
		expectSummary(t, r, "ghost image", "partial image", "orphaned")
		if !strings.Contains(r.log, "::warning") || !strings.Contains(r.log, "after the run") {
			t.Errorf("log has no validation warnings:\n%s", r.log)
		}
		after := r.report.Packages[0].After
		if after == nil || len(after.Broken) != 2 || len(after.Orphans) != 1 {
			t.Errorf("after = %+v, want 2 broken and 1 orphan", after)
		}
	})
	t.Run("broken: dry run, validate alone", func(t *testing.T) {
		t.Parallel()
		e, left := broken(t)
		r := e.run(inputsOf("validate", "true", "delete-untagged", "false"))
		e.ok(r)
		e.expectRemaining(left...)
		expectOutput(t, r, "broken-count", "3")
	})
	t.Run("broken: fail-on-broken", func(t *testing.T) {
		t.Parallel()
		e, left := broken(t)
		r := e.run(applied("validate", "true", "fail-on-broken", "true"))
		if r.err == nil || !strings.Contains(r.err.Error(), "fail-on-broken") {
			t.Fatalf("want an error mentioning fail-on-broken, got %v", r.err)
		}
		e.expectRemaining(left...)
		expectOutput(t, r, "broken-count", "3")
	})
	t.Run("repaired by the run", func(t *testing.T) {
		t.Parallel()
		e, left := broken(t)
		r := e.run(applied("validate", "true", "fail-on-broken", "true",
			"delete-ghost-images", "true", "delete-partial-images", "true", "delete-orphaned-images", "true"))
		if waveBug(r) {
			t.Fatal(waveReplanFailure)
		}
		e.ok(r)
		e.expectRemaining(left[0])
		e.expectPullable()
		expectOutput(t, r, "broken-count", "0")
		expectSummary(t, r, "every image is whole")
	})
}

// ---------------------------------------------------------------------------
// 5. deleted-ids in the summary

func TestE2EReviewDeletedIDsInSummary(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keep := e.image("v1", 1*day)
	idx, kids := e.multi("", true, 10*day, 10*day)
	stray := e.image("", 10*day)

	dry := e.run(nil)
	e.ok(dry)
	if strings.Contains(dry.summary, "Deleted version ids") {
		t.Errorf("a dry run lists deleted version ids:\n%s", dry.summary)
	}
	expectOutput(t, dry, "deleted-ids", "")

	r := e.run(applied())
	e.ok(r)
	e.expectRemaining(keep)
	gone := flat(idx, kids, stray)
	expectDeletedIDs(e, r, gone...)
	ids := r.outputs["deleted-ids"]
	block := "<details><summary>Deleted version ids"
	i := strings.Index(r.summary, block)
	if i < 0 {
		t.Fatalf("summary has no deleted-ids <details> block:\n%s", r.summary)
	}
	rest := r.summary[i:]
	end := strings.Index(rest, "</details>")
	if end < 0 || !strings.Contains(rest[:end], "```\n"+ids+"\n```") {
		t.Errorf("the <details> block does not hold deleted-ids %q:\n%s", ids, rest)
	}
	for _, id := range e.ids(gone...) {
		if !slices.Contains(strings.Split(ids, ","), id) {
			t.Errorf("deleted-ids lacks %s", id)
		}
	}
}

// waveReplanFailure is the failure when the re-plan between deletion waves
// skipped a planned deletion.
const waveReplanFailure = `regression: between deletion waves the re-read must only drop planned versions that something kept now reaches (or that are gone); here the children of a deleted index were left behind as untagged orphans, which is what a re-plan that asks the policy again (retention.Sweep) does`

// waveBug reports the symptom of waveReplanFailure: a planned deletion
// skipped because the mid-run replan asked the policy about an orphaned child.
func waveBug(r runResult) bool {
	if r.report == nil {
		return false
	}
	for _, p := range r.report.Packages {
		if p.Result == nil {
			continue
		}
		for _, a := range p.Result.Deletions {
			if a.Outcome == "skipped" && strings.Contains(a.Detail, "kept now: untagged; no rule deletes untagged images") {
				return true
			}
		}
	}
	return false
}

// An image deleted by delete-tags goes whole: its platform manifests and
// attestations go with the index even though delete-untagged is off.
func TestE2EReviewDeleteTagsMultiArchWhole(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keep := e.image("v1", 1*day)
	idx, kids := e.multi("pr-1", true, 10*day, 10*day)
	dry := e.run(inputsOf("delete-tags", "pr-*"))
	e.ok(dry)
	expectOutput(t, dry, "planned-count", strconv.Itoa(1+len(kids)))
	r := e.run(applied("delete-tags", "pr-*"))
	e.ok(r)
	if waveBug(r) {
		t.Fatal(waveReplanFailure)
	}
	e.expectRemaining(keep)
	e.expectPullable()
	expectDeletedIDs(e, r, flat(idx, kids)...)
}

// The summary's count of skipped reviewed entries.
func TestE2EReviewSkippedEntriesPlural(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	e.image("v1", 1*day)
	a := e.image("", 10*day)
	b := e.image("", 10*day)
	dry := e.run(nil)
	e.ok(dry)
	plan := savePlan(e, dry)
	e.tag(a, "x")
	e.tag(b, "y")
	r := e.run(applied("apply-plan", plan))
	e.ok(r)
	expectOutput(t, r, "deleted-count", "0")
	if strings.Contains(r.summary, "Skipped 2 entrys") {
		t.Fatal(`regression: the summary says "entrys" (plural of "entry")`)
	}
	expectSummary(t, r, "Skipped 2 entries of the reviewed plan")
}

// apply-plan confines tag removals too: only tags the reviewed plan removed
// are removed, and a planned removal whose tag moved away is reported.
func TestE2EReviewApplyPlanUntag(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	x := e.image("pr-1", 0)
	e.tag(x, "v1")
	e.age(x, 10*day)
	y := e.image("pr-2", 0)
	e.tag(y, "v2")
	e.age(y, 10*day)
	dry := e.run(inputsOf("delete-tags", "pr-*"))
	e.ok(dry)
	plan := savePlan(e, dry)
	if n := len(dry.report.Packages[0].Plan.Untag); n != 2 {
		t.Fatalf("dry run plans %d untags, want 2", n)
	}
	expectSummary(t, dry, "Would remove 2 tags from images that stay")

	e.tag(x, "pr-3")             // added after the review: stays
	e.age(x, day/12)             // and applied two hours later, past min-age
	z := e.image("pr-2", 10*day) // pr-2 moves off y to a new image
	// The same rules as the plan's (see TestE2EReviewApplyPlanNeedsTheSameRules).
	r := e.run(applied("apply-plan", plan, "delete-tags", "pr-*"))
	e.ok(r)
	e.expectRemaining(x, y, z)
	e.expectPullable()
	expectOutput(t, r, "deleted-count", "0")
	expectTags(e, x, "pr-3", "v1")
	expectTags(e, y, "v2")
	expectTags(e, z, "pr-2")
	expectNoTag(e, "pr-1")
	expectTag(e, "pr-3", x)
	expectTag(e, "pr-2", z)
	var skips []string
	for _, s := range r.report.Packages[0].Withdrawn {
		skips = append(skips, s.Digest+" "+s.Tag+": "+s.Reason)
	}
	if len(skips) != 1 || !strings.HasPrefix(skips[0], y+" pr-2: tag no longer on the image") {
		t.Errorf("skipped %q, want y's pr-2 removal", skips)
	}
}
