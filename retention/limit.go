package retention

import (
	"fmt"
	"slices"
)

// Limit confines the plan to at most n deletions: whole images, oldest
// first. An image goes together with everything only it reaches, so a
// deferred image keeps all of its children and referrers, and a child
// shared with a deferred image is deferred too. The rest of the plan is
// kept for this run, marked deferred with why.
func (p *Plan) Limit(n int, why string) *Plan {
	if n < 0 || len(p.Delete) <= n {
		return p
	}
	allowed := p.admitOldestFirst(n)
	p.holdWhatDeferredReach(allowed)
	return p.deferAllBut(allowed, why)
}

// admitOldestFirst admits whole images, oldest first, while their
// deletions fit in n. A version is admitted with the last of the images
// that reach it.
func (p *Plan) admitOldestFirst(n int) map[string]bool {
	images, reach := p.candidateReach()
	reachers := map[string]int{}
	for _, img := range images {
		for _, x := range reach[img.Digest] {
			reachers[x]++
		}
	}
	chosen := map[string]int{}
	allowed := map[string]bool{}
	for _, img := range images {
		var freed []string
		for _, x := range reach[img.Digest] {
			if chosen[x]++; chosen[x] == reachers[x] {
				freed = append(freed, x)
			}
		}
		if len(allowed)+len(freed) > n {
			break // oldest first: a younger image never jumps the queue
		}
		for _, x := range freed {
			allowed[x] = true
		}
	}
	return allowed
}

// candidateReach lists the deleted versions the policy picked, oldest
// first, and for each the deletions it reaches.
func (p *Plan) candidateReach() ([]Decision, map[string][]string) {
	deleting := make(map[string]bool, len(p.Delete))
	var images []Decision
	for _, d := range p.Delete {
		deleting[d.Digest] = true
		if p.candidates[d.Digest] {
			images = append(images, d)
		}
	}
	slices.SortStableFunc(images, func(a, b Decision) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	reach := make(map[string][]string, len(images))
	for _, img := range images {
		for x := range p.graph.Reachable([]string{img.Digest}) {
			if deleting[x] {
				reach[img.Digest] = append(reach[img.Digest], x)
			}
		}
	}
	return images, reach
}

// holdWhatDeferredReach takes back from allowed what a deferred version
// reaches: it stays with it, as it would with a kept version, since a
// version no image reaches can hang from one that waits.
func (p *Plan) holdWhatDeferredReach(allowed map[string]bool) {
	var deferred []string
	for _, d := range p.Delete {
		if !allowed[d.Digest] {
			deferred = append(deferred, d.Digest)
		}
	}
	for x := range p.graph.Reachable(deferred) {
		delete(allowed, x)
	}
}

// deferAllBut is the plan with only the allowed deletions, in their order;
// the others are deferred, saying why.
func (p *Plan) deferAllBut(allowed map[string]bool, why string) *Plan {
	out := *p
	out.Delete, out.Deferred = nil, slices.Clone(p.Deferred)
	for _, d := range p.Delete {
		if allowed[d.Digest] {
			out.Delete = append(out.Delete, d)
			continue
		}
		d.Action = Deferred
		d.Reason = fmt.Sprintf("deferred to a later run (%s): %s", why, d.Reason)
		out.Deferred = append(out.Deferred, d)
	}
	out.Reclaimed = out.Frees(out.deleting())
	return &out
}
