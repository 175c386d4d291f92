package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// End-to-end tests of the reference graph: shared children, nested indexes,
// tagged children, cosign and OCI 1.1 referrers, broken images, GitHub's
// refusals and the deletion order, each against the fake GHCR as a runner
// runs the action.

// taggedDigest is the digest of the active version carrying tag.
func taggedDigest(e *e2e, tag string) string {
	e.t.Helper()
	for _, v := range e.srv.Versions(e.owner, e.pkg) {
		if !v.Deleted && slices.Contains(v.Tags, tag) {
			return v.Digest
		}
	}
	e.t.Fatalf("no active version tagged %s", tag)
	return ""
}

// fallbackIndex is the referrers fallback index go-containerregistry keeps
// under the tag "sha256-<hex>" of subject.
func fallbackIndex(e *e2e, subject string) string {
	e.t.Helper()
	return taggedDigest(e, strings.Replace(subject, ":", "-", 1))
}

// expectDeletedCount checks the number of versions the outputs say were
// deleted.
func expectDeletedCount(e *e2e, r runResult, want int) {
	e.t.Helper()
	expectOutput(e.t, r, "deleted-count", strconv.Itoa(want))
}

func TestE2EGraphSharedChildren(t *testing.T) {
	t.Parallel()
	t.Run("tagged and untagged old index", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		idxA, ch := e.multiArch("v1", twoPlatforms, false)
		unshared := e.must(e.push.Image(""))
		idxB := e.must(e.push.Index("", []string{ch[0], unshared}))
		e.age(idxA, 30*day)
		e.age(idxB, 10*day)
		e.age(unshared, 10*day)

		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(idxA, ch[0], ch[1])
		e.expectPullable()
		expectDeletedCount(e, r, 2)
	})
	t.Run("both untagged and old", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := e.must(e.push.Image("keep"))
		idxA, ch := e.multiArch("", twoPlatforms, false)
		unshared := e.must(e.push.Image(""))
		idxB := e.must(e.push.Index("", []string{ch[0], ch[1], unshared}))
		e.age(idxA, 10*day)
		e.age(idxB, 5*day)
		for _, d := range append(ch, unshared) {
			e.age(d, 10*day) // pushed with idxA, past min-age
		}

		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(keep)
		e.expectPullable()
		expectDeletedCount(e, r, 5)
	})
	t.Run("one untagged index still young", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := e.must(e.push.Image("keep"))
		idxA, ch := e.multiArch("", twoPlatforms, false)
		unshared := e.must(e.push.Image(""))
		idxB := e.must(e.push.Index("", []string{ch[1], unshared}))
		e.age(idxA, 10*day)
		e.age(idxB, 1*day) // younger than older-than: kept, and with it ch[1]
		for _, d := range append(ch, unshared) {
			e.age(d, 10*day) // pushed with idxA, past min-age
		}

		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(keep, idxB, ch[1], unshared)
		e.expectPullable()
	})
}

func TestE2EGraphNestedIndex(t *testing.T) {
	t.Parallel()
	build := func(e *e2e, tag string) (outer string, all []string) {
		inner1, ch1 := e.multiArch("", twoPlatforms, true)
		inner2, ch2 := e.multiArch("", []string{"linux/s390x"}, false)
		outer = e.must(e.push.Index(tag, []string{inner1, inner2}))
		for _, d := range append([]string{outer, inner1, inner2}, append(ch1, ch2...)...) {
			e.age(d, 20*day)
		}
		return outer, append([]string{outer, inner1, inner2}, append(ch1, ch2...)...)
	}
	t.Run("tagged outer keeps everything under it", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		_, all := build(e, "v1")
		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(all...)
		e.expectPullable()
		expectDeletedCount(e, r, 0)
	})
	t.Run("untagged old outer goes with everything under it", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := e.must(e.push.Image("keep"))
		outer, all := build(e, "")
		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(keep)
		e.expectPullable()
		expectDeletedCount(e, r, len(all))
		// The outer index goes first, its inner indexes before their children.
		plan := r.report.Packages[0].Plan
		if plan.Delete[0].Digest != outer {
			t.Errorf("first deletion is %s, want the outer index %s", plan.Delete[0].Digest, outer)
		}
	})
	t.Run("inner index with its own tag survives its outer", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		inner1, ch1 := e.multiArch("inner", twoPlatforms, true)
		inner2, ch2 := e.multiArch("", []string{"linux/s390x"}, false)
		outer := e.must(e.push.Index("", []string{inner1, inner2}))
		for _, d := range append([]string{outer, inner1, inner2}, append(ch1, ch2...)...) {
			e.age(d, 20*day)
		}
		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(append([]string{inner1}, ch1...)...)
		e.expectPullable()
		expectDeletedCount(e, r, 2+len(ch2))
	})
	t.Run("inner index shared with a tagged outer is kept", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		inner1, ch1 := e.multiArch("", twoPlatforms, false)
		inner2, ch2 := e.multiArch("", []string{"linux/s390x"}, false)
		tagged := e.must(e.push.Index("v1", []string{inner1}))
		old := e.must(e.push.Index("", []string{inner1, inner2}))
		for _, d := range flat(old, inner2, ch2) {
			e.age(d, 10*day) // inner2 was pushed with old, past min-age
		}
		r := e.run(applied("older-than", "3d"))
		e.ok(r)
		e.expectRemaining(append([]string{tagged, inner1}, ch1...)...)
		e.expectPullable()
		_ = ch2
	})
}

func TestE2EGraphTaggedPlatformChild(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	idx, ch := e.multiArch("", twoPlatforms, true)
	e.tag(ch[0], "amd64-only")
	for _, d := range append([]string{idx}, ch...) {
		e.age(d, 10*day)
	}
	r := e.run(applied("older-than", "3d"))
	e.ok(r)
	// ch[0] keeps its own tag; the other platform and both attestations go.
	e.expectRemaining(ch[0])
	e.expectPullable()
	expectDeletedCount(e, r, 4)
}

func TestE2EGraphCosign(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	// Tagged single image, signed and attested: kept with everything.
	img := e.must(e.push.Image("v1"))
	sig := e.must(e.push.CosignSignature(img))
	att := e.must(e.push.CosignAttestation(img))
	// Untagged old single image, signed and attested: deleted with them.
	old := e.must(e.push.Image(""))
	oldSig := e.must(e.push.CosignSignature(old))
	oldAtt := e.must(e.push.CosignAttestation(old))
	// A kept multi-arch index with a signature on one platform digest and
	// one on the index.
	idx, ch := e.multiArch("v2", twoPlatforms, true)
	platSig := e.must(e.push.CosignSignature(ch[1]))
	idxSig := e.must(e.push.CosignSignature(idx))
	// A deleted multi-arch index with a signature on a platform digest.
	idx2, ch2 := e.multiArch("", twoPlatforms, false)
	platSig2 := e.must(e.push.CosignSignature(ch2[0]))
	for _, d := range flat(img, sig, att, old, oldSig, oldAtt, idx, idx2, platSig, platSig2, idxSig, ch, ch2) {
		e.age(d, 10*day)
	}

	r := e.run(applied("older-than", "3d"))
	e.ok(r)
	want := []string{img, sig, att, idx, platSig, idxSig}
	e.expectRemaining(append(want, ch...)...)
	e.expectPullable()
	expectDeletedCount(e, r, 7)

	// A referrer is deleted before its subject.
	pos := map[string]int{}
	for i, d := range r.report.Packages[0].Plan.Delete {
		pos[d.Digest] = i
	}
	for ref, subject := range map[string]string{oldSig: old, oldAtt: old, platSig2: ch2[0]} {
		if pos[ref] > pos[subject] {
			t.Errorf("referrer %s deleted after its subject %s", ref, subject)
		}
	}
}

func TestE2EGraphSigstoreBundleReferrer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tag  string
	}{{"tagged subject keeps bundle and fallback", "v1"}, {"untagged old subject takes them along", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			keep := e.must(e.push.Image("keep"))
			idx, ch := e.multiArch(tc.tag, twoPlatforms, true)
			bundle := e.must(e.push.Referrer(idx, fakeghcr.SigstoreBundle))
			fallback := fallbackIndex(e, idx)
			if fallback == bundle {
				t.Fatal("the fallback index is the bundle itself")
			}
			for _, d := range flat(idx, bundle, fallback, ch) {
				e.age(d, 10*day)
			}
			r := e.run(applied("older-than", "3d"))
			e.ok(r)
			if tc.tag != "" {
				e.expectRemaining(append([]string{keep, idx, bundle, fallback}, ch...)...)
				expectDeletedCount(e, r, 0)
			} else {
				e.expectRemaining(keep)
				expectDeletedCount(e, r, 3+len(ch))
			}
			e.expectPullable()
		})
	}
}

// Each referrer pushed moves the "sha256-<hex>" fallback tag to a new index
// listing all referrers so far; the previous fallback index is left untagged.
// That leftover is junk once old, but the referrers it lists stay with
// their subject.
func TestE2EGraphSecondReferrerLeavesOldFallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tag  string
	}{{"tagged subject", "v1"}, {"untagged old subject", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			keep := e.must(e.push.Image("keep"))
			idx, ch := e.multiArch(tc.tag, twoPlatforms, true)
			bundle := e.must(e.push.Referrer(idx, fakeghcr.SigstoreBundle))
			oldFallback := fallbackIndex(e, idx)
			sbom := e.must(e.push.Referrer(idx, "application/spdx+json"))
			fallback := fallbackIndex(e, idx)
			if fallback == oldFallback {
				t.Fatal("the second referrer did not move the fallback tag")
			}
			if v := e.version(oldFallback); len(v.Tags) != 0 {
				t.Fatalf("the previous fallback index still has tags %v", v.Tags)
			}
			for _, d := range append([]string{idx, bundle, oldFallback, sbom, fallback}, ch...) {
				e.age(d, 10*day)
			}
			r := e.run(applied("older-than", "3d"))
			e.ok(r)
			if tc.tag != "" {
				e.expectRemaining(append([]string{keep, idx, bundle, sbom, fallback}, ch...)...)
				expectDeletedCount(e, r, 1)
			} else {
				e.expectRemaining(keep)
				expectDeletedCount(e, r, 5+len(ch))
			}
			e.expectPullable()
		})
	}
}

func TestE2EGraphUntaggedSubjectReferrer(t *testing.T) {
	t.Parallel()
	const sbom = "application/vnd.example.sbom.v1+json"
	t.Run("pushing a referrer adds it and a fallback index", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		img := e.must(e.push.Image("v1"))
		ref := e.must(e.push.Referrer(img, sbom))
		fallback := fallbackIndex(e, img)
		if v := e.version(ref); len(v.Tags) != 0 {
			t.Errorf("the referrer has tags %v, want none", v.Tags)
		}
		e.expectRemaining(img, ref, fallback)
		r := e.run(applied())
		e.ok(r)
		e.expectRemaining(img, ref, fallback)
		e.expectPullable()
	})
	// Without its fallback index the referrer is linked to its subject only
	// by the manifest's subject field.
	for _, tc := range []struct {
		name string
		tag  string
	}{{"subject field alone keeps it with a tagged subject", "v1"}, {"subject field alone deletes it with an untagged old subject", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			keep := e.must(e.push.Image("keep"))
			idx, ch := e.multiArch(tc.tag, twoPlatforms, false)
			ref := e.must(e.push.Referrer(idx, sbom))
			e.restDelete(fallbackIndex(e, idx))
			for _, d := range flat(idx, ref, ch) {
				e.age(d, 10*day)
			}
			r := e.run(applied("older-than", "3d"))
			e.ok(r)
			if tc.tag != "" {
				e.expectRemaining(append([]string{keep, idx, ref}, ch...)...)
			} else {
				e.expectRemaining(keep)
				pos := map[string]int{}
				for i, d := range r.report.Packages[0].Plan.Delete {
					pos[d.Digest] = i
				}
				if pos[ref] > pos[idx] {
					t.Errorf("referrer deleted after its subject")
				}
			}
			e.expectPullable()
		})
	}
}

func TestE2EGraphBrokenImages(t *testing.T) {
	t.Parallel()
	// fixture: a tagged ghost (both children deleted through REST), a tagged
	// partial (one child deleted) and an untagged old single image.
	type fixture struct {
		e                           *e2e
		keep, ghost, partial, stray string
		partialLeft                 []string
	}
	build := func(t *testing.T) fixture {
		e := newE2E(t, "acme", "app", true)
		f := fixture{e: e}
		f.keep = e.must(e.push.Image("keep"))
		var gch, pch []string
		f.ghost, gch = e.multiArch("ghost", twoPlatforms, false)
		f.partial, pch = e.multiArch("partial", twoPlatforms, false)
		for _, d := range gch {
			e.restDelete(d)
		}
		e.restDelete(pch[0])
		f.partialLeft = pch[1:]
		f.stray = e.must(e.push.Image(""))
		for _, d := range flat(f.stray, f.ghost, f.partial, f.partialLeft) {
			e.age(d, 10*day)
		}
		return f
	}
	t.Run("switches off: kept, with warnings", func(t *testing.T) {
		t.Parallel()
		f := build(t)
		e := f.e
		r := e.run(applied("delete-ghost-images", "false", "delete-partial-images", "false", "delete-untagged", "false"))
		e.ok(r)
		e.expectRemaining(append([]string{f.keep, f.ghost, f.partial, f.stray}, f.partialLeft...)...)
		for _, w := range []string{"ghost image", "partial image", "manifest unknown"} {
			if !strings.Contains(r.summary, w) {
				t.Errorf("summary does not warn %q:\n%s", w, r.summary)
			}
		}
		if n := len(r.report.Packages[0].Plan.Broken); n != 2 {
			t.Errorf("%d broken images reported, want 2", n)
		}
	})
	t.Run("delete-ghost-images", func(t *testing.T) {
		t.Parallel()
		f := build(t)
		e := f.e
		// delete-ghost-images turns delete-untagged's default off: the stray stays.
		r := e.run(applied("delete-ghost-images", "true"))
		e.ok(r)
		e.expectRemaining(append([]string{f.keep, f.partial, f.stray}, f.partialLeft...)...)
		if !strings.Contains(r.summary, "ghost image") {
			t.Errorf("summary does not mention the ghost image:\n%s", r.summary)
		}
		expectDeletedCount(e, r, 1)
	})
	t.Run("delete-partial-images", func(t *testing.T) {
		t.Parallel()
		f := build(t)
		e := f.e
		r := e.run(applied("delete-partial-images", "true"))
		e.ok(r)
		e.expectRemaining(f.keep, f.ghost, f.stray)
		expectDeletedCount(e, r, 1+len(f.partialLeft))
	})
	t.Run("both switches and untagged", func(t *testing.T) {
		t.Parallel()
		f := build(t)
		e := f.e
		r := e.run(applied("delete-ghost-images", "true", "delete-partial-images", "true", "delete-untagged", "true"))
		e.ok(r)
		e.expectRemaining(f.keep)
		e.expectPullable()
	})
}

func TestE2EGraphOrphanedReferrer(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("delete-orphaned-images=%v", on), func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			keep := e.must(e.push.Image("keep"))
			subject := e.must(e.push.Image(""))
			sig := e.must(e.push.CosignSignature(subject))
			keptSig := e.must(e.push.CosignSignature(keep))
			// An OCI 1.1 referrer and its fallback index, orphaned too.
			subject2 := e.must(e.push.Image(""))
			bundle := e.must(e.push.Referrer(subject2, fakeghcr.SigstoreBundle))
			fallback := fallbackIndex(e, subject2)
			e.restDelete(subject)
			e.restDelete(subject2)
			for _, d := range flat(sig, bundle, fallback) {
				e.age(d, 10*day)
			}
			r := e.run(applied("delete-orphaned-images", strconv.FormatBool(on)))
			e.ok(r)
			if on {
				e.expectRemaining(keep, keptSig)
				expectDeletedCount(e, r, 3)
			} else {
				e.expectRemaining(keep, keptSig, sig, bundle, fallback)
				expectDeletedCount(e, r, 0)
			}
			e.expectPullable()
		})
	}
}

func TestE2EGraphRefusals(t *testing.T) {
	t.Parallel()
	t.Run("last tagged version", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		idx, ch := e.multi("v1", true, 10*day, 10*day)
		e.srv.ResetStats()
		r := e.run(applied("delete-tags", "v1"))
		if r.err != nil {
			t.Fatalf("a refusal failed the run: %v", r.err)
		}
		e.expectRemaining(append([]string{idx}, ch...)...)
		e.expectPullable()
		// The plan predicts the refusal: it keeps the version, blocked,
		// and sends no DELETE that GitHub would answer with it.
		if !strings.Contains(r.summary, "GitHub refuses to delete the last tagged version of a package") {
			t.Errorf("summary does not report the refusal:\n%s", r.summary)
		}
		if !strings.Contains(r.log, "::warning") {
			t.Errorf("no warning logged:\n%s", r.log)
		}
		expectDeletedCount(e, r, 0)
		if n := e.srv.Stats().REST[http.MethodDelete]; n != 0 {
			t.Errorf("%d DELETEs, want none", n)
		}
	})
	t.Run("more than 5000 downloads", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		keep := e.must(e.push.Image("keep"))
		popular, ch := e.multiArch("", twoPlatforms, false)
		// The signature points at the index, so it is deleted before the
		// index is tried (deletion order), refusal or not.
		sig := e.must(e.push.CosignSignature(popular))
		other := e.must(e.push.Image(""))
		for _, d := range flat(popular, other, sig, ch) {
			e.age(d, 10*day)
		}
		e.srv.SetPublicDownloads(e.owner, e.pkg, popular, 6000)
		_ = sig
		r := e.run(applied("older-than", "3d"))
		if r.err != nil {
			t.Fatalf("a refusal failed the run: %v", r.err)
		}
		e.expectRemaining(append([]string{keep, popular}, ch...)...)
		e.expectPullable()
		if !strings.Contains(r.summary, "Publicly visible package versions with more than 5000 downloads cannot be deleted") {
			t.Errorf("summary does not report the refusal:\n%s", r.summary)
		}
		expectDeletedCount(e, r, 2)
		res := r.report.Packages[0].Result
		if res.Count(prune.Refused) != 1 || res.Count(prune.Skipped) != len(ch) {
			t.Errorf("outcomes: %+v", res.Deletions)
		}
	})
}

func TestE2EGraphDeletionOrderFailure(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keepIdx, keepCh := e.multiArch("v1", twoPlatforms, true)
	idx, ch := e.multiArch("", twoPlatforms, true)
	sig := e.must(e.push.CosignSignature(idx))
	// Children are as old as their index, so that once the index is gone
	// they are old untagged images for the next run.
	for _, d := range append([]string{idx, sig}, ch...) {
		e.age(d, 10*day)
	}
	dry := e.run(inputsOf("older-than", "3d"))
	e.ok(dry)
	plan := dry.report.Packages[0].Plan
	if len(plan.Delete) != 2+len(ch) {
		t.Fatalf("dry run plans %d deletions, want %d", len(plan.Delete), 2+len(ch))
	}
	// Fail the third deletion: a child, after the signature and the index.
	failID := plan.Delete[2].ID
	var mu sync.Mutex
	var deletes []int64
	e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		id, _ := strconv.ParseInt(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], 10, 64)
		mu.Lock()
		deletes = append(deletes, id)
		mu.Unlock()
		if id != failID {
			return false
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/packages/packages#delete-package-version-for-an-organization","status":"403"}`)
		return true
	})

	start := time.Now()
	r := e.run(applied("older-than", "3d"))
	if time.Since(start) > 2*time.Second {
		t.Errorf("the failing run took %v: was the 403 retried?", time.Since(start))
	}
	if r.err == nil {
		t.Fatal("the run succeeded although a DELETE failed")
	}
	e.srv.SetFault(nil)

	// Same plan as the dry run; the first two went, the rest is left.
	outcomes := r.report.Packages[0].Result.Deletions
	var want []string
	want = append(want, keepIdx)
	want = append(want, keepCh...)
	for i, a := range outcomes {
		if a.Digest != plan.Delete[i].Digest {
			t.Fatalf("run %d deletes %s, dry run planned %s", i, a.Digest, plan.Delete[i].Digest)
		}
		wantOutcome := prune.NotAttempted
		switch {
		case i < 2:
			wantOutcome = prune.Deleted
		case i == 2:
			wantOutcome = prune.Failed
		}
		if a.Outcome != wantOutcome {
			t.Errorf("deletion %d (%s): outcome %s, want %s", i, a.Digest, a.Outcome, wantOutcome)
		}
		if i >= 2 {
			want = append(want, a.Digest)
		}
	}
	e.expectRemaining(want...)
	e.expectPullable()
	expectDeletedCount(e, r, 2)
	if len(deletes) != 3 {
		t.Errorf("DELETE requests for ids %v, want 3 (no retry of the 403, nothing after it)", deletes)
	}

	// Order: the signature before the index, the index before any child.
	pos := map[int64]int{}
	for i, id := range deletes {
		pos[id] = i
	}
	sigID, idxID := plan.Delete[0].ID, plan.Delete[1].ID
	if plan.Delete[0].Digest != sig || plan.Delete[1].Digest != idx {
		t.Errorf("deletion order starts %s, %s; want signature %s then index %s", plan.Delete[0].Digest, plan.Delete[1].Digest, sig, idx)
	}
	if pos[sigID] > pos[idxID] || pos[idxID] > pos[failID] {
		t.Errorf("DELETE order %v: want signature %d, index %d, then child %d", deletes, sigID, idxID, failID)
	}

	// The summary says what was and was not deleted.
	for _, s := range []string{"Deleted 2 of 6 planned versions", "| deleted |", "failed: ", "Resource not accessible by integration", "not attempted", "**failed**"} {
		if !strings.Contains(r.summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, r.summary)
		}
	}

	// Nothing left behind is broken, and a second run finishes the job.
	again := e.run(applied("older-than", "3d"))
	e.ok(again)
	if b := again.report.Packages[0].Plan.Broken; len(b) != 0 {
		t.Errorf("broken images after the failed run: %+v", b)
	}
	e.expectRemaining(append([]string{keepIdx}, keepCh...)...)
	e.expectPullable()
}

func TestE2EGraphHelm(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "chart", true)
	chart := e.must(e.push.Helm("1.0.0"))
	old := e.must(e.push.Helm(""))
	e.age(chart, 30*day)
	e.age(old, 10*day)
	r := e.run(applied("older-than", "3d"))
	e.ok(r)
	e.expectRemaining(chart)
	e.expectPullable()
	expectDeletedCount(e, r, 1)
	if d := r.report.Packages[0].Plan.Delete; len(d) != 1 || !strings.Contains(d[0].Kind.String(), "helm") {
		t.Errorf("deletions %+v, want the old chart as a helm chart", d)
	}
}

// A referrer that carries a user tag of its own (someone tagged an SBOM
// "sbom-latest") is a root. Its subject is untagged and old.
//
// A kept referrer keeps its subject, and so the subject's other referrers:
// the subject and its fallback index stay and nothing is planned: a plan
// that deleted the subject would have Apply refuse it, on every run.
func TestE2EGraphTaggedReferrerOfOldSubject(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keep := e.must(e.push.Image("keep"))
	subject := e.must(e.push.Image(""))
	ref := e.must(e.push.Referrer(subject, "application/spdx+json"))
	fallback := fallbackIndex(e, subject)
	e.tag(ref, "sbom-latest")
	for _, d := range []string{subject, ref, fallback} {
		e.age(d, 10*day)
	}
	r := e.run(applied("older-than", "3d"))
	e.ok(r)
	e.expectRemaining(keep, subject, ref, fallback)
	e.expectPullable()
	if n := len(r.report.Packages[0].Plan.Delete); n != 0 {
		t.Errorf("%d deletions planned, want none", n)
	}
	if res := r.report.Packages[0].Result; res != nil && res.Count(prune.Skipped) > 0 {
		t.Errorf("planned deletions were skipped: %+v", res.Deletions)
	}
}
