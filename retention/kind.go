package retention

import "github.com/ghcr-prune/ghcr-prune/manifest"

// refGraph is the package's reference graph, with what the planner asks of
// one version: what kind it is, whether an index lists it and what it
// refers to. Selection, the mark and the reasons all ask the same questions
// and must get the same answers.
type refGraph struct{ *manifest.Graph }

// hasParent reports whether an index lists digest.
func (g refGraph) hasParent(digest string) bool {
	for _, e := range g.In(digest) {
		if e.Kind == manifest.EdgeChild {
			return true
		}
	}
	return false
}

// subjects are the digests a version refers to as a signature, attestation
// or other referrer, whether or not they exist.
func (g refGraph) subjects(digest string) []string {
	var out []string
	for _, e := range g.Out(digest) {
		// A tag naming the version's own digest refers to nothing else.
		if e.Kind != manifest.EdgeChild && e.To != digest {
			out = append(out, e.To)
		}
	}
	return out
}

// kind is what the plan calls a version. It differs from the manifest's own
// kind for an index that refers to a subject.
func (g refGraph) kind(digest string) manifest.Kind {
	n, _ := g.Node(digest)
	if n.Manifest.Kind == manifest.KindIndex && len(g.subjects(digest)) > 0 {
		// The sha256-<hex> fallback index that lists a subject's referrers.
		return manifest.KindReferrer
	}
	return n.Manifest.Kind
}
