package retention

import (
	"fmt"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Check verifies the plan's safety invariants before anything is deleted.
// Compute is meant to make them true by construction; Check is the second
// pair of eyes that turns a bug into a failed run instead of a broken image.
func (p *Plan) Check(policy Policy) error {
	kept := p.newDigestSet()
	for _, list := range [][]Decision{p.Keep, p.Deferred} {
		for _, d := range list {
			kept.add(d.Digest)
		}
	}
	if err := p.checkDeletions(policy, kept); err != nil {
		return err
	}
	if p.graph == nil {
		return nil
	}
	if n := p.graph.Versions(); n != kept.n+len(p.Delete) {
		return invariantError("%d versions but %d decisions", n, kept.n+len(p.Delete))
	}
	if err := p.checkKeptIntact(); err != nil {
		return err
	}
	return p.checkOrder()
}

// checkDeletions checks each deletion on its own: decided once, and not
// protected by exclude-tags.
func (p *Plan) checkDeletions(policy Policy, kept *digestSet) error {
	seen := p.newDigestSet()
	for _, d := range p.Delete {
		if kept.has(d.Digest) {
			return invariantError("%s is both kept and deleted", d.Digest)
		}
		if !seen.add(d.Digest) {
			return invariantError("%s is deleted twice", d.Digest)
		}
		if policy.ExcludeTags.MatchDigest(d.Digest) {
			return invariantError("%s is listed in exclude-tags but planned for deletion", d.Digest)
		}
		for _, t := range d.Tags {
			if policy.ExcludeTags.MatchTag(t) {
				return invariantError("tag %s matches exclude-tags but %s is planned for deletion", t, d.Digest)
			}
		}
	}
	return nil
}

// digestSet is a set of digests, by id in the plan's graph for the digests
// it has: at 100,000 versions a map of them is megabytes, built at the
// run's busiest moment. n counts the distinct digests added.
type digestSet struct {
	graph *manifest.Graph
	ids   []bool
	other map[string]bool // digests the graph does not have, or all without one
	n     int
}

func (p *Plan) newDigestSet() *digestSet {
	s := &digestSet{graph: p.graph, other: map[string]bool{}}
	if p.graph != nil {
		s.ids = make([]bool, p.graph.Len())
	}
	return s
}

// add adds digest and reports whether it was not there yet.
func (s *digestSet) add(digest string) bool {
	if id, ok := s.id(digest); ok {
		if s.ids[id] {
			return false
		}
		s.ids[id] = true
	} else {
		if s.other[digest] {
			return false
		}
		s.other[digest] = true
	}
	s.n++
	return true
}

func (s *digestSet) has(digest string) bool {
	if id, ok := s.id(digest); ok {
		return s.ids[id]
	}
	return s.other[digest]
}

func (s *digestSet) id(digest string) (int32, bool) {
	if s.graph == nil {
		return 0, false
	}
	return s.graph.ID(digest)
}

// checkKeptIntact checks that every kept version keeps its children, its
// subject and its referrers.
func (p *Plan) checkKeptIntact() error {
	kept := make([]bool, p.graph.Len()) // by id
	var ids []int32                     // of p.Keep, then of p.Deferred
	for _, list := range [][]Decision{p.Keep, p.Deferred} {
		for _, d := range list {
			if id, ok := p.graph.ID(d.Digest); ok {
				kept[id] = true
				ids = append(ids, id)
			}
		}
	}
	for _, id := range ids {
		d := p.graph.Digest(id)
		if x, lost := p.firstUnkept(p.graph.Out(id), childOf, kept); lost {
			return invariantError("kept %s would lose its child %s", d, p.graph.Digest(x))
		}
		if x, lost := p.firstUnkept(p.graph.Out(id), subjectOf, kept); lost {
			return invariantError("kept %s %s would lose its subject %s", p.kindOf(id), d, p.graph.Digest(x))
		}
		if x, lost := p.firstUnkept(p.graph.In(id), referrerOf, kept); lost {
			return invariantError("kept %s would lose its %s %s", d, p.kindOf(x), p.graph.Digest(x))
		}
	}
	return nil
}

// checkOrder checks that nothing is deleted while a version that points at
// it still waits its turn.
func (p *Plan) checkOrder() error {
	turn := make([]int, p.graph.Len())  // by id: 1 + the position in p.Delete, 0 if not there
	ids := make([]int32, len(p.Delete)) // by position, -1 for a digest not in the graph
	for i, d := range p.Delete {
		ids[i] = -1
		if id, ok := p.graph.ID(d.Digest); ok {
			turn[id], ids[i] = i+1, id
		}
	}
	for i, id := range ids {
		if id < 0 {
			continue
		}
		for _, e := range p.graph.In(id) {
			if turn[e.From] > i+1 {
				return invariantError("%s would be deleted before %s, which points at it", p.Delete[i].Digest, p.graph.Digest(e.From))
			}
		}
	}
	return nil
}

// childOf, subjectOf and referrerOf are the ends firstUnkept follows: the
// version at the far end of e from a kept one, and whether e is of the kind
// that makes the kept version depend on it.
func childOf(e manifest.Edge) (int32, bool)    { return e.To, e.Kind == manifest.EdgeChild }
func subjectOf(e manifest.Edge) (int32, bool)  { return e.To, e.Kind != manifest.EdgeChild }
func referrerOf(e manifest.Edge) (int32, bool) { return e.From, e.Kind != manifest.EdgeChild }

// firstUnkept is the first version at the end of edges that is in the
// package but not kept. A missing version has nothing to lose.
func (p *Plan) firstUnkept(edges []manifest.Edge, end func(manifest.Edge) (int32, bool), kept []bool) (int32, bool) {
	for _, e := range edges {
		x, follows := end(e)
		if follows && p.graph.IsVersion(x) && !kept[x] {
			return x, true
		}
	}
	return 0, false
}

func (p *Plan) kindOf(id int32) manifest.Kind {
	if p.graph.IsVersion(id) {
		return p.graph.Manifest(id).Kind
	}
	return manifest.KindOther
}

func invariantError(format string, args ...any) error {
	return fmt.Errorf("safety invariant violated, nothing deleted (this is a bug in ghcr-prune): "+format, args...)
}
