package retention

import (
	"context"
	"errors"
	"fmt"
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
	Untag(ctx context.Context, pkg, tag string) error
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

// Applied is one planned deletion and how it went.
type Applied struct {
	Decision
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// TagRemoval is one tag the plan removes and how it went.
type TagRemoval struct {
	ID      int64   `json:"id"`
	Digest  string  `json:"digest"`
	Tag     string  `json:"tag"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// Result is the plan as carried out.
type Result struct {
	Applied []Applied
	Untags  []TagRemoval
	Err     error // the failure that stopped the run, if any
}

// Count is how many deletions ended in o.
func (r *Result) Count(o Outcome) int {
	n := 0
	for _, a := range r.Applied {
		if a.Outcome == o {
			n++
		}
	}
	return n
}

// Apply deletes the plan's versions in order. A version is deleted only once
// everything that points at it is gone, so a refusal or a failure leaves
// nothing it still needs deleted. An unexpected error stops the run: what is
// left is reported, not guessed at.
func Apply(ctx context.Context, p *Plan, del Deleter) *Result {
	res := &Result{}
	gone := make(map[string]bool, len(p.Delete))
	for _, d := range p.Delete {
		a := Applied{Decision: d}
		switch blocker := p.blocker(d.Digest, gone); {
		case res.Err != nil:
			a.Outcome = NotAttempted
		case blocker != "":
			a.Outcome, a.Detail = Skipped, fmt.Sprintf("kept: %s that points at it was not deleted", shortDigest(blocker))
		default:
			err := del.DeleteVersion(ctx, p.Package, d.ID)
			var refused *RefusedError
			switch {
			case err == nil:
				a.Outcome = Deleted
			case errors.Is(err, ErrGone):
				a.Outcome = AlreadyGone
			case errors.As(err, &refused):
				a.Outcome, a.Detail = Refused, refused.Message
			default:
				a.Outcome, a.Detail = Failed, err.Error()
				res.Err = fmt.Errorf("deleting version %d (%s): %w", d.ID, d.Digest, err)
			}
			if a.Outcome == Deleted || a.Outcome == AlreadyGone {
				gone[d.Digest] = true
			}
		}
		res.Applied = append(res.Applied, a)
	}
	applyUntags(ctx, p, del, res)
	return res
}

// applyUntags removes tags after the deletions: an untag pushes to the
// registry, and a failure there should not hold back the deletions.
func applyUntags(ctx context.Context, p *Plan, del Deleter, res *Result) {
	u, ok := del.(Untagger)
	for _, op := range p.Untag {
		for _, tag := range op.Tags {
			r := TagRemoval{ID: op.ID, Digest: op.Digest, Tag: tag}
			switch {
			case res.Err != nil:
				r.Outcome = NotAttempted
			case !ok:
				r.Outcome, r.Detail = Failed, "this registry client cannot remove tags"
				res.Err = fmt.Errorf("removing tag %s: %s", tag, r.Detail)
			default:
				if err := u.Untag(ctx, p.Package, tag); err != nil {
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

// blocker returns a version that points at digest and still exists.
func (p *Plan) blocker(digest string, gone map[string]bool) string {
	if p.graph == nil {
		return ""
	}
	for _, e := range p.graph.In(digest) {
		if e.From != digest && !gone[e.From] {
			return e.From
		}
	}
	return ""
}
