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
func (m marker) plan(pkg string, versions []Version) (*Plan, error) {
	kept := m.g.Reachable(m.rootDigests())
	m.keepYoung(versions, kept)
	if m.predictRefusals {
		m.blockRefusals(versions, kept)
	}
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
	plan.Unresolved = m.unresolved
	plan.Reclaimed = plan.Frees(toDelete)
	return plan, nil
}

// keepYoung keeps, with all they reach, the versions min-age spares that
// no root keeps already; a young platform of a kept index still hangs from
// its index.
func (m marker) keepYoung(versions []Version, kept map[string]manifest.Edge) {
	for _, v := range versions {
		why, young := m.young[v.Digest]
		if _, done := kept[v.Digest]; !young || done {
			continue
		}
		m.roots[v.Digest] = why
		m.g.Extend(kept, []string{v.Digest})
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
func (m marker) blockRefusals(versions []Version, kept map[string]manifest.Edge) {
	deleting, taggedStays := false, false
	for _, v := range versions {
		if _, ok := kept[v.Digest]; ok {
			taggedStays = taggedStays || len(v.Tags) > 0
		} else {
			deleting = true
		}
	}
	if !deleting || taggedStays {
		return
	}
	if v, ok := m.newestPicked(versions, kept, func(v Version) bool { return len(v.Tags) > 0 }); ok {
		m.block(v, kept, lastTaggedRefusal)
		return
	}
	if v, ok := m.newestPicked(versions, kept, func(Version) bool { return true }); ok && len(kept) == 0 {
		m.block(v, kept, lastVersionRefusal)
	}
}

// newestPicked is the newest version to be deleted that fits: one the
// policy picked if there is one, else any. versions are newest first.
func (m marker) newestPicked(versions []Version, kept map[string]manifest.Edge, fits func(Version) bool) (Version, bool) {
	first := -1
	for i, v := range versions {
		if _, stays := kept[v.Digest]; stays || !fits(v) {
			continue
		}
		if _, picked := m.candidates[v.Digest]; picked {
			return v, true
		}
		if first < 0 {
			first = i
		}
	}
	if first < 0 {
		return Version{}, false
	}
	return versions[first], true
}

// block keeps v, with all it reaches, for the refusal why.
func (m marker) block(v Version, kept map[string]manifest.Edge, why string) {
	if picked, ok := m.candidates[v.Digest]; ok {
		why = picked + "; " + why
	}
	m.roots[v.Digest] = why
	m.blocked[v.Digest] = true
	m.g.Extend(kept, []string{v.Digest})
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
	if len(kept) > 0 {
		out = make([]Decision, 0, len(kept)) // sized once: megabytes a doubling at 100,000
	}
	for _, v := range versions {
		if _, ok := kept[v.Digest]; !ok {
			continue
		}
		dec := m.decision(v, Keep, "")
		if m.blocked[v.Digest] {
			dec.Action = Blocked
		}
		dec.Reason, dec.KeptBy = m.keepReason(v.Digest, kept)
		out = append(out, dec)
	}
	if len(out) == 0 {
		return nil // no decisions is nil, sized or not
	}
	return out
}

// deleteDecisions lists the deletions in order.
func (m marker) deleteDecisions(versions []Version, order []string, toDelete map[string]bool) []Decision {
	// Indexes, not copies, and the decisions sized once: at 100,000
	// versions each copy and each doubling is megabytes.
	byDigest := make(map[string]int, len(versions))
	for i, v := range versions {
		byDigest[v.Digest] = i
	}
	var out []Decision
	if len(order) > 0 {
		out = make([]Decision, 0, len(order))
	}
	for _, digest := range order {
		var v Version
		if i, ok := byDigest[digest]; ok {
			v = versions[i]
		}
		out = append(out, m.decision(v, Delete, m.deleteReason(digest, toDelete)))
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
