package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Outcome is what happened to a version the plan deletes.
type Outcome string

const (
	Deleted      Outcome = "deleted"
	AlreadyGone  Outcome = "already gone"
	Refused      Outcome = "refused"
	Skipped      Outcome = "skipped"
	Failed       Outcome = "failed"
	NotAttempted Outcome = "not attempted"
	Untagged     Outcome = "untagged"
)

// Deletion is a planned deletion and, once the run tried it, how it went.
type Deletion struct {
	retention.Decision
	Outcome Outcome `json:"outcome,omitempty"`
	Detail  string  `json:"detail,omitempty"`
}

// TagRemoval is one tag the plan removes and how it went.
type UntagResult struct {
	ID      int64   `json:"id"`
	Digest  string  `json:"digest"`
	Tag     string  `json:"tag"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// Result is the plan as carried out.
type Result struct {
	Deletions []Deletion
	Untags    []UntagResult
	Err       error // the failure that stopped the run, if any
}

// Count is how many deletions ended in o.
func (r *Result) Count(o Outcome) int {
	n := 0
	for _, a := range r.Deletions {
		if a.Outcome == o {
			n++
		}
	}
	return n
}

// Replanner reads the package again and plans the deletions not yet made
// anew (see Sweep). gone is what this run has deleted so far. A full read
// lists the whole package; a quick one (every CheckEvery deletions within a
// wave) merges just the newest page into what was read, which is where a
// push shows up first.
type Replanner func(ctx context.Context, remaining map[string]retention.Decision, gone map[string]bool, full bool) (*retention.Plan, error)

// Apply deletes the plan's versions in order. A version is deleted only once
// everything that points at it is gone, so a refusal or a failure leaves
// nothing it still needs deleted. An unexpected error stops the run: what is
// left is reported, not guessed at.
func Apply(ctx context.Context, p *retention.Plan, del Writer) *Result {
	return ApplyWaves(ctx, p, del, nil)
}

// CheckEvery is how many deletions a wave makes between two quick reads:
// with DELETEs paced at 150 a minute, about every 20 seconds.
const CheckEvery = 50

// ApplyWaves deletes in waves: first the versions nothing else in the plan
// points at (indexes, referrers), then, after replan has read the package
// again in full, the next layer (their children and subjects), and so on;
// within a wave, every CheckEvery deletions, a quick read. A push that lands
// meanwhile and reuses a planned version, or a tag added to one, takes it
// out of the plan instead of being broken by it. With a nil replan the waves
// run on the original plan.
func ApplyWaves(ctx context.Context, p *retention.Plan, del Writer, replan Replanner) *Result {
	w := newWaves(p, del, replan)
	w.progress = ProgressFrom(ctx)
	w.progress.deleting(p.Package, len(p.Delete))
	defer w.progress.deletingDone()
	for w.res.Err == nil {
		pending, inPlan := w.pending()
		if len(pending) == 0 {
			break
		}
		full := w.deleteWave(ctx, pending, inPlan)
		if replan == nil || w.res.Err != nil || len(w.done) == len(p.Delete) {
			continue
		}
		w.replanRest(ctx, full)
	}
	for _, d := range p.Delete {
		a, ok := w.done[d.Digest]
		if !ok {
			a = Deletion{Decision: d, Outcome: NotAttempted}
		}
		w.res.Deletions = append(w.res.Deletions, a)
	}
	applyUntags(ctx, p, del, w.res)
	return w.res
}

// waves is one ApplyWaves: the plan as made, the plan as last re-made, and
// what has been done.
type waves struct {
	del      Writer
	replan   Replanner
	pkg      string
	original map[string]retention.Decision // the plan's decisions, by digest
	current  *retention.Plan
	res      *Result
	gone     map[string]bool     // deleted, or found gone, by this run
	done     map[string]Deletion // every deletion tried or dropped
	progress *Progress
}

func newWaves(p *retention.Plan, del Writer, replan Replanner) *waves {
	w := &waves{del: del, replan: replan, pkg: p.Package, current: p, res: &Result{},
		original: make(map[string]retention.Decision, len(p.Delete)), gone: map[string]bool{}, done: make(map[string]Deletion, len(p.Delete))}
	for _, d := range p.Delete {
		w.original[d.Digest] = d
	}
	return w
}

// pending is the current plan's deletions not yet done, in plan order.
func (w *waves) pending() ([]retention.Decision, map[string]bool) {
	var pending []retention.Decision
	inPlan := map[string]bool{}
	for _, d := range w.current.Delete {
		if _, ok := w.done[d.Digest]; !ok {
			pending = append(pending, d)
			inPlan[d.Digest] = true
		}
	}
	return pending, inPlan
}

// deleteWave deletes the top layer of pending, or its first CheckEvery
// versions, and says whether it went through the whole wave (then the next
// read is a full one).
func (w *waves) deleteWave(ctx context.Context, pending []retention.Decision, inPlan map[string]bool) (full bool) {
	for i, d := range w.current.Wave(pending, inPlan) {
		if i > 0 && i%CheckEvery == 0 && w.replan != nil {
			// A wave of thousands takes many minutes at GitHub's pace:
			// look for pushes before deleting more.
			return false
		}
		if ctx.Err() != nil {
			// Stopped (Ctrl-C, a cancelled job): the deletions made so
			// far are reported, and nothing more is deleted.
			w.res.Err = fmt.Errorf("stopped before deleting version %d (%s): %w", d.ID, d.Digest, context.Cause(ctx))
			break
		}
		a := Deletion{Decision: w.original[d.Digest]}
		if blocker := w.current.Blocker(d.Digest, w.gone); blocker != "" {
			a.Outcome, a.Detail = Skipped, fmt.Sprintf("kept: %s that points at it was not deleted", retention.ShortDigest(blocker))
		} else {
			a.Outcome, a.Detail = deleteOne(ctx, w.pkg, d, w.del, w.res)
			if a.Outcome == Deleted || a.Outcome == AlreadyGone {
				w.gone[d.Digest] = true
			}
		}
		w.done[d.Digest] = a
		w.progress.deletions(len(w.done))
		if w.res.Err != nil {
			break
		}
	}
	return true
}

// replanRest reads the package again and plans the deletions not yet done.
func (w *waves) replanRest(ctx context.Context, full bool) {
	remaining := map[string]retention.Decision{}
	for _, d := range w.current.Delete {
		if _, ok := w.done[d.Digest]; !ok {
			remaining[d.Digest] = d
		}
	}
	next, err := w.replan(ctx, remaining, w.gone, full)
	if err != nil {
		w.res.Err = fmt.Errorf("reading the package again between deletions: %w", err)
		return
	}
	skipDropped(next, remaining, w.done, w.original)
	w.progress.deletions(len(w.done))
	w.current = next
}

func deleteOne(ctx context.Context, pkg string, d retention.Decision, del Writer, res *Result) (Outcome, string) {
	// A DELETE is never cut off mid-flight: GitHub may carry out one whose
	// connection dropped, and the run would then not know it had deleted
	// the version (nor list it for restore-from). A stop is honoured
	// between deletions instead.
	err := del.DeleteVersion(context.WithoutCancel(ctx), pkg, d.ID)
	var refused *RefusedError
	switch {
	case err == nil:
		return Deleted, ""
	case errors.Is(err, ErrGone):
		return AlreadyGone, ""
	case errors.As(err, &refused):
		return Refused, refused.Message
	}
	res.Err = fmt.Errorf("deleting version %d (%s): %w", d.ID, d.Digest, err)
	return Failed, err.Error()
}

// skipDropped records why versions of the remaining plan dropped out of the
// new one: something kept reaches them now, or they are gone.
func skipDropped(next *retention.Plan, remaining map[string]retention.Decision, done map[string]Deletion, original map[string]retention.Decision) {
	still := map[string]bool{}
	for _, d := range next.Delete {
		still[d.Digest] = true
	}
	kept := map[string]retention.Decision{}
	for _, d := range append(slices.Clone(next.Keep), next.Deferred...) {
		kept[d.Digest] = d
	}
	for digest := range remaining {
		if still[digest] {
			continue
		}
		a := Deletion{Decision: original[digest], Outcome: Skipped, Detail: "no longer a version of the package"}
		if k, ok := kept[digest]; ok {
			root := k.KeptBy
			if root == "" {
				root = digest
			}
			if r, ok := done[root]; ok && r.Outcome != Deleted && r.Outcome != AlreadyGone {
				a.Detail = fmt.Sprintf("kept: %s that points at it was not deleted", retention.ShortDigest(root))
			} else {
				a.Detail = "kept now: " + k.Reason
			}
			if k.ID != original[digest].ID {
				a.Detail = fmt.Sprintf("re-pushed as version %d", k.ID)
			}
		}
		done[digest] = a
	}
}

// applyUntags removes tags after the deletions: an untag pushes to the
// registry, and a failure there should not hold back the deletions.
func applyUntags(ctx context.Context, p *retention.Plan, del Writer, res *Result) {
	progress := ProgressFrom(ctx)
	n := 0
	for _, op := range p.Untag {
		n += len(op.Tags)
	}
	progress.untagging(n)
	for _, op := range p.Untag {
		for _, tag := range op.Tags {
			r := UntagResult{ID: op.ID, Digest: op.Digest, Tag: tag}
			switch {
			case res.Err != nil:
				r.Outcome = NotAttempted
			case ctx.Err() != nil:
				r.Outcome = NotAttempted
				res.Err = fmt.Errorf("stopped before removing tag %s from %s: %w", tag, op.Digest, context.Cause(ctx))
			default:
				// Like a DELETE, a tag removal (a push, then a DELETE)
				// runs to its end once begun.
				if err := del.Untag(context.WithoutCancel(ctx), p.Package, tag, op.Digest); err != nil {
					r.Outcome, r.Detail = Failed, err.Error()
					res.Err = fmt.Errorf("removing tag %s from %s: %w", tag, op.Digest, err)
				} else {
					r.Outcome = Untagged
				}
			}
			res.Untags = append(res.Untags, r)
			progress.untagged(len(res.Untags))
		}
	}
}
