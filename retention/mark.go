package retention

import (
	"fmt"
	"slices"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// marker turns a selection into a plan: everything a root reaches is kept,
// the rest is deleted, and the candidates only say why. A candidate a root
// reaches therefore stays: a tagged SBOM keeps the untagged image it
// describes.
type marker struct {
	g refGraph
	*selection
}

// plan marks from the roots and sweeps the rest, parents before what they
// point at.
func (m marker) plan(pkg string, versions []Version) (*Plan, error) {
	kept := m.g.Reachable(m.rootDigests())
	toDelete := map[string]bool{}
	for _, v := range versions {
		if _, ok := kept[v.Digest]; !ok {
			toDelete[v.Digest] = true
		}
	}
	order, err := m.g.DeletionOrder(toDelete)
	if err != nil {
		// Content-addressed manifests cannot form a cycle, but tags can
		// claim one; there is no safe order to delete in.
		return nil, fmt.Errorf("the package's references form a cycle, so there is no safe deletion order: %w", err)
	}
	plan := &Plan{Package: pkg, graph: m.g.Graph, candidates: map[string]bool{}}
	for digest := range m.candidates {
		plan.candidates[digest] = true
	}
	plan.Keep = m.keepDecisions(versions, kept)
	plan.Delete = m.deleteDecisions(versions, order, toDelete)
	plan.Untag = m.untagsOf(versions, toDelete)
	plan.Broken = m.brokenOf(versions, toDelete)
	return plan, nil
}

func (m marker) rootDigests() []string {
	roots := make([]string, 0, len(m.roots))
	for digest := range m.roots {
		roots = append(roots, digest)
	}
	return roots
}

// keepDecisions lists the versions the mark reached, newest first.
func (m marker) keepDecisions(versions []Version, kept map[string]manifest.Edge) []Decision {
	var out []Decision
	for _, v := range versions {
		if _, ok := kept[v.Digest]; !ok {
			continue
		}
		dec := m.decision(v, Keep, "")
		dec.Reason, dec.KeptBy = m.keepReason(v.Digest, kept)
		out = append(out, dec)
	}
	return out
}

// deleteDecisions lists the deletions in order.
func (m marker) deleteDecisions(versions []Version, order []string, toDelete map[string]bool) []Decision {
	byDigest := make(map[string]Version, len(versions))
	for _, v := range versions {
		byDigest[v.Digest] = v
	}
	var out []Decision
	for _, digest := range order {
		out = append(out, m.decision(byDigest[digest], Delete, m.deleteReason(digest, toDelete)))
	}
	return out
}

// untagsOf lists the tag removals of images that stay; a deleted image
// loses its tags with it.
func (m marker) untagsOf(versions []Version, toDelete map[string]bool) []Untag {
	var out []Untag
	for _, v := range versions {
		tags, ok := m.untags[v.Digest]
		if !ok || toDelete[v.Digest] {
			continue
		}
		keep := []string{}
		for _, t := range v.Tags {
			if !slices.Contains(tags, t) {
				keep = append(keep, t)
			}
		}
		out = append(out, Untag{ID: v.ID, Digest: v.Digest, Tags: tags, Keep: keep,
			Reason: fmt.Sprintf("%s %s delete-tags; %s does not", TagsReason(tags), matchVerb(tags), TagsReason(UserTags(keep)))})
	}
	return out
}

// brokenOf lists the indexes with missing children, whatever their fate,
// so that a run reports them even when it does not delete them.
func (m marker) brokenOf(versions []Version, toDelete map[string]bool) []Broken {
	var out []Broken
	for _, v := range versions {
		n, _ := m.g.Node(v.Digest)
		missing := m.g.Missing(v.Digest)
		if n.Manifest.Kind != manifest.KindIndex || len(missing) == 0 {
			continue
		}
		out = append(out, Broken{
			Digest:   v.Digest,
			Tags:     UserTags(v.Tags),
			Missing:  missing,
			Children: distinctChildren(n.Manifest),
			Ghost:    len(missing) == distinctChildren(n.Manifest),
			Deleted:  toDelete[v.Digest],
		})
	}
	return out
}
