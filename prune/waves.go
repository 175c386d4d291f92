package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// ErrGone marks a delete of a version that no longer exists. The Packages
// API can list a version that then 404s on DELETE; either way it is gone.
var ErrGone = errors.New("version already gone")

// RefusedError is GitHub declining to delete a version, for example the last
// tagged version of a package or a public version with more than 5000
// downloads. It is a warning, not a failure: the version stays.
type RefusedError struct{ Message string }

func (e *RefusedError) Error() string { return "GitHub refused: " + e.Message }

// Deleter deletes package versions: the only write ghcr-prune makes.
type Deleter interface {
	DeleteVersion(ctx context.Context, pkg string, id int64) error
}

// Untagger removes one tag from an image and keeps the image. It is only
// needed when a plan untags.
type Untagger interface {
	// Untag removes tag, which must still point at digest.
	Untag(ctx context.Context, pkg, tag, digest string) error
}

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
func Apply(ctx context.Context, p *retention.Plan, del Deleter) *Result {
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
func ApplyWaves(ctx context.Context, p *retention.Plan, del Deleter, replan Replanner) *Result {
	res := &Result{}
	gone := map[string]bool{}
	done := make(map[string]Deletion, len(p.Delete))
	original := make(map[string]retention.Decision, len(p.Delete))
	for _, d := range p.Delete {
		original[d.Digest] = d
	}
	again := func(full bool) {
		remaining := map[string]retention.Decision{}
		for _, d := range p.Delete {
			if _, ok := done[d.Digest]; !ok {
				remaining[d.Digest] = d
			}
		}
		next, err := replan(ctx, remaining, gone, full)
		if err != nil {
			res.Err = fmt.Errorf("reading the package again between deletions: %w", err)
			return
		}
		skipDropped(next, remaining, done, original)
		p = next
	}
	plan := p
	for res.Err == nil {
		var pending []retention.Decision
		inPlan := map[string]bool{}
		for _, d := range p.Delete {
			if _, ok := done[d.Digest]; !ok {
				pending = append(pending, d)
				inPlan[d.Digest] = true
			}
		}
		if len(pending) == 0 {
			break
		}
		full := true
		for i, d := range p.Wave(pending, inPlan) {
			if i > 0 && i%CheckEvery == 0 && replan != nil {
				// A wave of thousands takes many minutes at GitHub's pace:
				// look for pushes before deleting more.
				full = false
				break
			}
			a := Deletion{Decision: original[d.Digest]}
			if blocker := p.Blocker(d.Digest, gone); blocker != "" {
				a.Outcome, a.Detail = Skipped, fmt.Sprintf("kept: %s that points at it was not deleted", retention.ShortDigest(blocker))
			} else {
				a.Outcome, a.Detail = deleteOne(ctx, plan.Package, d, del, res)
				if a.Outcome == Deleted || a.Outcome == AlreadyGone {
					gone[d.Digest] = true
				}
			}
			done[d.Digest] = a
			if res.Err != nil {
				break
			}
		}
		if replan == nil || res.Err != nil || len(done) == len(plan.Delete) {
			continue
		}
		again(full)
	}
	for _, d := range plan.Delete {
		a, ok := done[d.Digest]
		if !ok {
			a = Deletion{Decision: d, Outcome: NotAttempted}
		}
		res.Deletions = append(res.Deletions, a)
	}
	applyUntags(ctx, plan, del, res)
	return res
}

func deleteOne(ctx context.Context, pkg string, d retention.Decision, del Deleter, res *Result) (Outcome, string) {
	err := del.DeleteVersion(ctx, pkg, d.ID)
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
func applyUntags(ctx context.Context, p *retention.Plan, del Deleter, res *Result) {
	u, ok := del.(Untagger)
	for _, op := range p.Untag {
		for _, tag := range op.Tags {
			r := UntagResult{ID: op.ID, Digest: op.Digest, Tag: tag}
			switch {
			case res.Err != nil:
				r.Outcome = NotAttempted
			case !ok:
				r.Outcome, r.Detail = Failed, "this registry client cannot remove tags"
				res.Err = fmt.Errorf("removing tag %s: %s", tag, r.Detail)
			default:
				if err := u.Untag(ctx, p.Package, tag, op.Digest); err != nil {
					r.Outcome, r.Detail = Failed, err.Error()
					res.Err = fmt.Errorf("removing tag %s from %s: %w", tag, op.Digest, err)
				} else {
					r.Outcome = Untagged
				}
			}
			res.Untags = append(res.Untags, r)
		}
	}
}
