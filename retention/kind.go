package retention

import "github.com/ghcr-prune/ghcr-prune/manifest"

// refGraph is the package's reference graph, with what the planner asks of
// one version: what kind it is, whether an index lists it and what it
// refers to. Selection, the mark and the reasons all ask the same questions
// and must get the same answers.
type refGraph struct{ *manifest.Graph }

// hasParent reports whether an index lists id.
func (g refGraph) hasParent(id int32) bool {
	for _, e := range g.In(id) {
		if e.Kind == manifest.EdgeChild {
			return true
		}
	}
	return false
}

// subjects are the digests a version refers to as a signature, attestation
// or other referrer, whether or not they exist.
func (g refGraph) subjects(id int32) []int32 {
	var out []int32
	for _, e := range g.Out(id) {
		if isSubject(e) {
			out = append(out, e.To)
		}
	}
	return out
}

// hasSubject reports whether id refers to a subject, as subjects would.
func (g refGraph) hasSubject(id int32) bool {
	for _, e := range g.Out(id) {
		if isSubject(e) {
			return true
		}
	}
	return false
}

// isSubject reports whether e goes from a referrer to its subject. A tag
// naming the version's own digest refers to nothing else.
func isSubject(e manifest.Edge) bool { return e.Kind != manifest.EdgeChild && e.To != e.From }

// kind is what the plan calls a version. It differs from the manifest's own
// kind for an index that refers to a subject.
func (g refGraph) kind(id int32) manifest.Kind {
	k := g.Manifest(id).Kind
	if k == manifest.KindIndex && g.hasSubject(id) {
		// The sha256-<hex> fallback index that lists a subject's referrers.
		return manifest.KindReferrer
	}
	return k
}
