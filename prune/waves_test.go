package prune

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

// recordingDeleter deletes in memory and answers by version name.
type recordingDeleter struct {
	names   map[int64]string
	answers map[string]error
	calls   []string
}

func (r *recordingDeleter) DeleteVersion(_ context.Context, _ string, id int64) error {
	n := r.names[id]
	r.calls = append(r.calls, n)
	return r.answers[n]
}

func (r *recordingDeleter) Untag(_ context.Context, _ string, tag, _ string) error {
	r.calls = append(r.calls, "untag "+tag)
	return r.answers["untag "+tag]
}

func deleterFor(b *retentiontest.Builder, answers map[string]error) *recordingDeleter {
	names := map[int64]string{}
	for _, v := range b.Snap.Versions {
		names[v.ID] = b.Names[v.Digest]
	}
	return &recordingDeleter{names: names, answers: answers}
}

func outcomes(b *retentiontest.Builder, r *Result) map[string]Outcome {
	out := map[string]Outcome{}
	for _, a := range r.Deletions {
		out[b.Names[a.Digest]] = a.Outcome
	}
	return out
}

func TestApplyRefusalKeepsWhatTheRefusedVersionNeeds(t *testing.T) {
	// v1 stays, or the plan would not send the last version's DELETE.
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day).Image("other", 9*retentiontest.Day).Image("v1", 9*retentiontest.Day, "v1")
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	del := deleterFor(b, map[string]error{
		"idx":   &RefusedError{Message: "You cannot delete the last tagged version of a package. You must delete the package instead."},
		"other": ErrGone,
	})
	res := Apply(context.Background(), plan, del)
	if res.Err != nil {
		t.Fatalf("a refusal failed the run: %v", res.Err)
	}
	got := outcomes(b, res)
	want := map[string]Outcome{
		"idx": Refused, "idx/amd64": Skipped, "idx/arm64": Skipped, "attest:idx/amd64": Skipped, "attest:idx/arm64": Skipped,
		"other": AlreadyGone,
	}
	for n, o := range want {
		if got[n] != o {
			t.Errorf("%s: %s, want %s", n, got[n], o)
		}
	}
	if len(del.calls) != 2 {
		t.Errorf("DELETE calls %v, want only idx and other", del.calls)
	}
}

func TestApplyStopsAtTheFirstFailure(t *testing.T) {
	b := retentiontest.New().Image("a", 9*retentiontest.Day).Image("b", 8*retentiontest.Day).Image("c", 7*retentiontest.Day).Image("v1", 9*retentiontest.Day, "v1")
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	second := b.Names[plan.Delete[1].Digest]
	res := Apply(context.Background(), plan, deleterFor(b, map[string]error{second: errors.New("boom")}))
	if res.Err == nil {
		t.Fatal("a failed DELETE did not fail the run")
	}
	if res.Count(Deleted) != 1 || res.Count(Failed) != 1 || res.Count(NotAttempted) != 1 {
		t.Errorf("outcomes %v", outcomes(b, res))
	}
}

// A wave of thousands takes many minutes at GitHub's pace: every CheckEvery
// deletions the run reads the newest versions again before deleting more,
// so a push that reuses a planned image saves it.
func TestApplyWavesReadsAgainWithinALongWave(t *testing.T) {
	b := retentiontest.New()
	for i := range 3 * CheckEvery {
		b.Image(fmt.Sprintf("img-%03d", i), 9*retentiontest.Day)
	}
	policy := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, policy, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	last := plan.Delete[len(plan.Delete)-1] // a new index will reuse it
	del := deleterFor(b, nil)
	var quick, full int
	replan := func(_ context.Context, remaining map[string]retention.Decision, gone map[string]bool, whole bool) (*retention.Plan, error) {
		if whole {
			full++
		} else {
			quick++
		}
		next := retentiontest.New()
		for _, v := range b.Snap.Versions {
			if !gone[v.Digest] {
				next.Snap.Versions = append(next.Snap.Versions, v)
				next.Snap.Manifests[v.Digest] = b.Snap.Manifests[v.Digest]
			}
		}
		// The push landed before the first quick read.
		next.Add("new-index", 0, &manifest.Manifest{Kind: manifest.KindIndex, Children: []manifest.Descriptor{{Digest: last.Digest}}}, "latest")
		return retention.Sweep(next.Snap, remaining, retention.Patterns{})
	}
	res := ApplyWaves(context.Background(), plan, del, replan)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if quick == 0 {
		t.Fatalf("%d quick and %d full reads: the wave never looked again", quick, full)
	}
	for _, c := range del.calls {
		if c == b.Names[last.Digest] {
			t.Fatalf("deleted %s, which a push reused mid-wave", c)
		}
	}
	if got := len(del.calls); got != len(plan.Delete)-1 {
		t.Errorf("%d DELETEs, want %d", got, len(plan.Delete)-1)
	}
	if got := outcomes(b, res)[b.Names[last.Digest]]; got != Skipped {
		t.Errorf("the reused image: %s, want skipped", got)
	}
}

// stoppingDeleter stops the run (a Ctrl-C) while its first DELETE is in
// flight, and records whether that DELETE's context was cancelled.
type stoppingDeleter struct {
	stop      context.CancelCauseFunc
	calls     int
	cancelled bool
	untags    int
}

func (d *stoppingDeleter) DeleteVersion(ctx context.Context, _ string, _ int64) error {
	d.calls++
	d.stop(errors.New("interrupted"))
	d.cancelled = d.cancelled || ctx.Err() != nil
	return nil
}

func (d *stoppingDeleter) Untag(context.Context, string, string, string) error {
	d.untags++
	return nil
}

// A stop mid-run lets the DELETE in flight finish (GitHub may carry it out
// either way) and sends no other request.
func TestApplyStopsAfterTheDeleteInFlight(t *testing.T) {
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day).Image("other", 9*retentiontest.Day).Image("mixed", 9*retentiontest.Day, "pr-1", "v1")
	p := retentiontest.Policy(func(p *retention.Policy) {
		p.DeleteUntagged = true
		p.DeleteTags = retentiontest.Patterns(t, "pr-*")
	})
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Delete) < 2 || len(plan.Untag) == 0 {
		t.Fatalf("the fixture plans %d deletions and %d tag removals", len(plan.Delete), len(plan.Untag))
	}
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	del := &stoppingDeleter{stop: stop}
	res := ApplyWaves(ctx, plan, del, nil)
	if del.calls != 1 || del.cancelled || del.untags != 0 {
		t.Errorf("%d DELETEs (cancelled in flight: %v), %d tag removals; want the one in flight, uncancelled", del.calls, del.cancelled, del.untags)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "stopped before deleting") || !strings.Contains(res.Err.Error(), "interrupted") {
		t.Errorf("err %v", res.Err)
	}
	if res.Count(Deleted) != 1 || res.Count(NotAttempted) != len(plan.Delete)-1 {
		t.Errorf("%d deleted, %d not attempted, of %d", res.Count(Deleted), res.Count(NotAttempted), len(plan.Delete))
	}
	for _, u := range res.Untags {
		if u.Outcome != NotAttempted {
			t.Errorf("tag %s: %s after the stop", u.Tag, u.Outcome)
		}
	}
}
