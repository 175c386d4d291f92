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
// that reach it. The result is by id.
func (p *Plan) admitOldestFirst(n int) []bool {
	reach := p.candidateReach()
	reachers := make([]int32, p.graph.Len()) // by id
	for _, r := range reach {
		for _, x := range r {
			reachers[x]++
		}
	}
	chosen := make([]int32, p.graph.Len()) // by id
	allowed, admitted := make([]bool, p.graph.Len()), 0
	for _, r := range reach {
		var freed []int32
		for _, x := range r {
			if chosen[x]++; chosen[x] == reachers[x] {
				freed = append(freed, x)
			}
		}
		if admitted+len(freed) > n {
			break // oldest first: a younger image never jumps the queue
		}
		for _, x := range freed {
			allowed[x] = true
		}
		admitted += len(freed)
	}
	return allowed
}

// candidateReach lists, for each deleted version the policy picked, oldest
// first, the deletions it reaches.
func (p *Plan) candidateReach() [][]int32 {
	deleting := make([]bool, p.graph.Len()) // by id
	var images []Decision
	for _, d := range p.Delete {
		if id, ok := p.graph.ID(d.Digest); ok {
			deleting[id] = true
			if p.candidates[id] {
				images = append(images, d)
			}
		}
	}
	slices.SortStableFunc(images, func(a, b Decision) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	reach := make([][]int32, len(images))
	walk := p.graph.Reachable(nil) // one walk, cleared for each image
	for i, img := range images {
		id, _ := p.graph.ID(img.Digest)
		walk.Clear()
		p.graph.Extend(walk, []int32{id})
		for _, x := range walk.IDs() {
			if deleting[x] {
				reach[i] = append(reach[i], x)
			}
		}
	}
	return reach
}

// holdWhatDeferredReach takes back from allowed what a deferred version
// reaches: it stays with it, as it would with a kept version, since a
// version no image reaches can hang from one that waits.
func (p *Plan) holdWhatDeferredReach(allowed []bool) {
	var deferred []int32
	for _, d := range p.Delete {
		if id, ok := p.graph.ID(d.Digest); ok && !allowed[id] {
			deferred = append(deferred, id)
		}
	}
	for _, x := range p.graph.Reachable(deferred).IDs() {
		allowed[x] = false
	}
}

// deferAllBut is the plan with only the allowed deletions, in their order;
// the others are deferred, saying why.
func (p *Plan) deferAllBut(allowed []bool, why string) *Plan {
	out := *p
	out.Delete, out.Deferred = nil, slices.Clone(p.Deferred)
	gone := make([]bool, p.graph.Len()) // by id
	for _, d := range p.Delete {
		if id, ok := p.graph.ID(d.Digest); ok && allowed[id] {
			out.Delete = append(out.Delete, d)
			gone[id] = true
			continue
		}
		d.Action = Deferred
		d.Reason = fmt.Sprintf("deferred to a later run (%s): %s", why, d.Reason)
		out.Deferred = append(out.Deferred, d)
	}
	out.Reclaimed = out.frees(gone)
	return &out
}
