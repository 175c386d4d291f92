package retention

import (
	"fmt"
	"slices"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Check verifies the plan's safety invariants before anything is deleted.
// Compute is meant to make them true by construction; Check is the second
// pair of eyes that turns a bug into a failed run instead of a broken image.
func (p *Plan) Check(policy Policy) error {
	kept := make(map[string]bool, len(p.Keep)+len(p.Deferred))
	for _, d := range append(slices.Clone(p.Keep), p.Deferred...) {
		kept[d.Digest] = true
	}
	pos := make(map[string]int, len(p.Delete))
	for i, d := range p.Delete {
		if kept[d.Digest] {
			return invariantError("%s is both kept and deleted", d.Digest)
		}
		if _, dup := pos[d.Digest]; dup {
			return invariantError("%s is deleted twice", d.Digest)
		}
		pos[d.Digest] = i
		if policy.ExcludeTags.MatchDigest(d.Digest) {
			return invariantError("%s is listed in exclude-tags but planned for deletion", d.Digest)
		}
		for _, t := range d.Tags {
			if policy.ExcludeTags.MatchTag(t) {
				return invariantError("tag %s matches exclude-tags but %s is planned for deletion", t, d.Digest)
			}
		}
	}
	if p.graph == nil {
		return nil
	}
	if n := len(p.graph.Digests()); n != len(kept)+len(p.Delete) {
		return invariantError("%d versions but %d decisions", n, len(kept)+len(p.Delete))
	}
	for _, d := range append(slices.Clone(p.Keep), p.Deferred...) {
		for _, e := range p.graph.Out(d.Digest) {
			if e.Kind == manifest.EdgeChild {
				if _, exists := p.graph.Node(e.To); exists && !kept[e.To] {
					return invariantError("kept %s would lose its child %s", d.Digest, e.To)
				}
			}
		}
		for _, e := range p.graph.Out(d.Digest) {
			if e.Kind != manifest.EdgeChild {
				if _, exists := p.graph.Node(e.To); exists && !kept[e.To] {
					return invariantError("kept %s %s would lose its subject %s", p.kindOf(d.Digest), d.Digest, e.To)
				}
			}
		}
		for _, e := range p.graph.In(d.Digest) {
			if e.Kind != manifest.EdgeChild && !kept[e.From] {
				return invariantError("kept %s would lose its %s %s", d.Digest, p.kindOf(e.From), e.From)
			}
		}
	}
	for i, d := range p.Delete {
		for _, e := range p.graph.In(d.Digest) {
			if j, ok := pos[e.From]; ok && j > i {
				return invariantError("%s would be deleted before %s, which points at it", d.Digest, e.From)
			}
		}
	}
	return nil
}

func (p *Plan) kindOf(digest string) manifest.Kind {
	if n, ok := p.graph.Node(digest); ok {
		return n.Manifest.Kind
	}
	return manifest.KindOther
}

func invariantError(format string, args ...any) error {
	return fmt.Errorf("safety invariant violated, nothing deleted (this is a bug in ghcr-prune): "+format, args...)
}
