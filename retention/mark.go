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
	// predictRefusals keeps what GitHub would refuse to delete. A plan made
	// anew between deletion waves has no need: what the first plan kept
	// is kept by then.
	predictRefusals bool
}

// plan marks from the roots and sweeps the rest, parents before what they
// point at.
func (m marker) plan(pkg string, versions []listed) (*Plan, error) {
	kept := m.g.Reachable(m.rootIDs())
	m.keepYoung(versions, kept)
	if m.predictRefusals {
		m.blockRefusals(versions, kept)
	}
	toDelete := make([]bool, m.g.Len()) // by id
	for _, v := range versions {
		toDelete[v.id] = !kept.Has(v.id)
	}
	order, err := m.g.DeletionOrder(toDelete)
	if err != nil {
		// Content-addressed manifests cannot form a cycle, but tags can
		// claim one; there is no safe order to delete in.
		return nil, fmt.Errorf("the package's references form a cycle, so there is no safe deletion order: %w", err)
	}
	plan := &Plan{Package: pkg, graph: m.g.Graph, candidates: make([]bool, m.g.Len())}
	for id := range m.candidates {
		plan.candidates[id] = true
	}
	// Counted before the decisions are made, so that its maps of every
	// blob are gone before the decisions take their megabytes.
	plan.Reclaimed = plan.frees(toDelete)
	plan.Keep = m.keepDecisions(versions, kept)
	plan.Delete = m.deleteDecisions(versions, order, toDelete)
	plan.Untag = m.untagsOf(versions, toDelete)
	plan.Broken = m.brokenOf(versions, toDelete)
	plan.Unresolved = m.unresolved
	return plan, nil
}

// keepYoung keeps, with all they reach, the versions min-age spares that
// no root keeps already; a young platform of a kept index still hangs from
// its index.
func (m marker) keepYoung(versions []listed, kept *manifest.Reach) {
	if len(m.young) == 0 {
		return
	}
	for _, v := range versions {
		why, young := m.young[v.id]
		if !young || kept.Has(v.id) {
			continue
		}
		m.roots[v.id] = why
		m.g.Extend(kept, []int32{v.id})
	}
}

// Refusals GitHub answers a DELETE with, and what to do instead.
const (
	lastTaggedRefusal  = "blocked: GitHub refuses to delete the last tagged version of a package; delete the package instead, or keep one tagged image (keep-n-tagged, exclude-tags)"
	lastVersionRefusal = "blocked: GitHub refuses to delete the last version of a package; delete the package instead, or keep one image"
)

// blockRefusals keeps the version GitHub would refuse to delete, with all
// it reaches: when nothing tagged stays, the last tagged version to go, and
// when nothing at all stays, the last version. The plan then sends no
// DELETE that must fail, and deletes nothing only that version reaches.
// The version kept is the newest image the policy picked, as keep-n would.
func (m marker) blockRefusals(versions []listed, kept *manifest.Reach) {
	deleting, taggedStays := false, false
	for _, v := range versions {
		if kept.Has(v.id) {
			taggedStays = taggedStays || len(v.Tags) > 0
		} else {
			deleting = true
		}
	}
	if !deleting || taggedStays {
		return
	}
	if v, ok := m.newestPicked(versions, kept, func(v listed) bool { return len(v.Tags) > 0 }); ok {
		m.block(v, kept, lastTaggedRefusal)
		return
	}
	if v, ok := m.newestPicked(versions, kept, func(listed) bool { return true }); ok && kept.Len() == 0 {
		m.block(v, kept, lastVersionRefusal)
	}
}

// newestPicked is the newest version to be deleted that fits: one the
// policy picked if there is one, else any. versions are newest first.
func (m marker) newestPicked(versions []listed, kept *manifest.Reach, fits func(listed) bool) (listed, bool) {
	first := -1
	for i, v := range versions {
		if kept.Has(v.id) || !fits(v) {
			continue
		}
		if _, picked := m.candidates[v.id]; picked {
			return v, true
		}
		if first < 0 {
			first = i
		}
	}
	if first < 0 {
		return listed{}, false
	}
	return versions[first], true
}

// block keeps v, with all it reaches, for the refusal why.
func (m marker) block(v listed, kept *manifest.Reach, why string) {
	if picked, ok := m.candidates[v.id]; ok {
		why = picked + "; " + why
	}
	m.roots[v.id] = why
	m.blocked[v.id] = true
	m.g.Extend(kept, []int32{v.id})
}

func (m marker) rootIDs() []int32 {
	roots := make([]int32, 0, len(m.roots))
	for id := range m.roots {
		roots = append(roots, id)
	}
	slices.Sort(roots)
	return roots
}

// keepDecisions lists the versions the mark reached, newest first.
func (m marker) keepDecisions(versions []listed, kept *manifest.Reach) []Decision {
	if kept.Len() == 0 {
		return nil
	}
	out := make([]Decision, 0, kept.Len()) // sized once: megabytes a doubling at 100,000
	said := inIndex{}
	for _, v := range versions {
		if !kept.Has(v.id) {
			continue
		}
		dec := m.decision(v, Keep, "")
		if m.blocked[v.id] {
			dec.Action = Blocked
		}
		dec.Reason, dec.KeptBy = m.keepReason(v.id, &dec, kept, said)
		out = append(out, dec)
	}
	return out
}

// deleteDecisions lists the deletions in order.
func (m marker) deleteDecisions(versions []listed, order []int32, toDelete []bool) []Decision {
	if len(order) == 0 {
		return nil
	}
	// Positions, not copies, and the decisions sized once: at 100,000
	// versions each copy and each doubling is megabytes.
	at := make([]int32, m.g.Len()) // by id
	for i, v := range versions {
		at[v.id] = int32(i)
	}
	out := make([]Decision, len(order))
	said := inIndex{}
	for i, id := range order {
		out[i] = m.decision(versions[at[id]], Delete, "")
		out[i].Reason = m.deleteReason(id, &out[i], toDelete, said)
	}
	return out
}

// untagsOf lists the tag removals of images that stay; a deleted image
// loses its tags with it.
func (m marker) untagsOf(versions []listed, toDelete []bool) []Untag {
	if len(m.untags) == 0 {
		return nil
	}
	var out []Untag
	for _, v := range versions {
		tags, ok := m.untags[v.id]
		if !ok || toDelete[v.id] {
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
func (m marker) brokenOf(versions []listed, toDelete []bool) []Broken {
	var out []Broken
	for _, v := range versions {
		index := m.g.Manifest(v.id)
		if index.Kind != manifest.KindIndex {
			continue
		}
		missing := m.g.Missing(v.id)
		if len(missing) == 0 {
			continue
		}
		out = append(out, Broken{
			Digest:   v.Digest,
			Tags:     UserTags(v.Tags),
			Missing:  missing,
			Children: distinctChildren(index),
			Ghost:    len(missing) == distinctChildren(index),
			Deleted:  toDelete[v.id],
		})
	}
	return out
}
