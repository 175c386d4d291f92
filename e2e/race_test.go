package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

// onFirstDelete runs f (once) when the action sends its first DELETE, before
// GitHub answers it: the moment a concurrent push lands mid-run.
func (e *e2e) onFirstDelete(f func()) {
	var once sync.Once
	e.srv.SetFault(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/versions/") {
			once.Do(f)
		}
		return false
	})
}

// buildx with a registry cache can push a new index that reuses a platform
// manifest the run is about to delete. The run deletes in waves and reads
// the package again between them, so the reused child stays.
func TestE2ERaceNewIndexReusesAPlannedChild(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keep := e.must(e.push.Image("v1"))
	_, children := e.multi("", true, 10*day, 10*day)
	var fresh string
	e.onFirstDelete(func() {
		fresh = e.must(e.push.Index("v2", children[:1])) // reuses the amd64 image
	})
	r := e.run(applied())
	e.ok(r)
	e.expectRemaining(keep, fresh, children[0])
	e.expectPullable()
	if !strings.Contains(r.summary, "kept now: in index") {
		t.Errorf("the summary does not say why the reused child was kept:\n%s", r.summary)
	}
}

// A planned version that gains a tag while the run deletes is kept.
func TestE2ERaceTagAddedMidRun(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keep := e.must(e.push.Image("v1"))
	_, children := e.multi("", false, 10*day, 10*day)
	e.onFirstDelete(func() {
		if err := e.push.Tag(children[1], "arm64-hotfix"); err != nil {
			t.Error(err)
		}
	})
	r := e.run(applied())
	e.ok(r)
	e.expectRemaining(keep, children[1])
	e.expectPullable()
	if !strings.Contains(r.summary, "arm64-hotfix") {
		t.Errorf("the summary does not mention the new tag:\n%s", r.summary)
	}
}

// max-deletions takes whole images, oldest first, and leaves the rest (with
// every child they need) for the next run.
func TestE2EMaxDeletions(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	keep := e.must(e.push.Image("v1"))
	var images [][]string
	for i := range 3 {
		age := time.Duration(30-i) * day // images[0] oldest
		idx, children := e.multi("", false, age, age)
		images = append(images, append([]string{idx}, children...))
	}
	r := e.run(applied("max-deletions", "7"))
	e.ok(r)
	// 3 versions an image: two whole images fit in 7, the third waits.
	e.expectRemaining(append([]string{keep}, images[2]...)...)
	e.expectPullable()
	if r.outputs["deleted-count"] != "6" || r.outputs["deferred-count"] != "3" {
		t.Errorf("outputs %v", r.outputs)
	}
	if !strings.Contains(r.summary, "Left 3 versions for the next run") {
		t.Errorf("summary:\n%s", r.summary)
	}
	r = e.run(applied("max-deletions", "7"))
	e.ok(r)
	e.expectRemaining(keep)
}

// When the primary rate limit will not cover the plan, the run shrinks the
// same way max-deletions does instead of failing halfway.
func TestE2ERateBudgetShrinksTheRun(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true, fakeghcr.WithPrimaryBudget(25))
	keep := e.must(e.push.Image("v1"))
	var images [][]string
	for i := range 3 {
		age := time.Duration(30-i) * day
		idx, children := e.multi("", false, age, age)
		images = append(images, append([]string{idx}, children...))
	}
	r := e.run(applied())
	e.ok(r)
	// 25 requests: 4 before the plan leave 21, of which 16 are held back
	// for the listings between waves and one in 51 for the checks within
	// them: 4 deletions, one whole image.
	e.expectRemaining(append(append([]string{keep}, images[1]...), images[2]...)...)
	e.expectPullable()
	if !strings.Contains(r.log, "the rate limit has 21 requests left, enough for 4 of 9 deletions") {
		t.Errorf("log:\n%s", r.log)
	}
}

// With GitHub failing some requests (502s, and requests that hang and drop
// the connection), the run either finishes with exactly the planned result
// or fails; either way nothing kept is broken and nothing else is deleted.
func TestE2EFaultsAndTimeouts(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{3, 4, 5} { // seeds whose faults include both kinds
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true, fakeghcr.WithFaults(seed, 0.06), fakeghcr.WithTimeouts(0.06, 20*time.Millisecond))
			prod, prodChildren := e.multi("prod", true, 20*day, 20*day)
			prev, prevChildren := e.multi("", true, 4*day, 25*day)
			r := e.run(applied("older-than", "3d"))
			st := e.srv.Stats()
			t.Logf("seed %d: run error: %v; %d requests, %d answered 502, %d timed out", seed, r.err, st.Total, st.Injected502, st.TimedOut)
			kept := append([]string{prod}, prodChildren...)
			if r.err == nil {
				e.expectRemaining(kept...)
			}
			for _, d := range kept {
				if !slices.Contains(e.remaining(), d) {
					t.Errorf("kept version %s was deleted (run error: %v)", d, r.err)
				}
			}
			for _, d := range e.remaining() {
				if !slices.Contains(append(kept, append([]string{prev}, prevChildren...)...), d) {
					t.Errorf("unexpected version %s", d)
				}
			}
			e.expectPullable()
			if slices.Contains(e.remaining(), prev) {
				for _, c := range prevChildren {
					if !slices.Contains(e.remaining(), c) {
						t.Errorf("the previous image lost its child %s while it stays", c)
					}
				}
			}
		})
	}
}
