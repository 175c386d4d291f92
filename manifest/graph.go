package manifest

import (
	"cmp"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Node is one package version: a manifest and the tags GHCR lists for it.
type Node struct {
	Digest   string
	Tags     []string
	Manifest *Manifest
}

// EdgeKind says why one version points at another.
type EdgeKind int

const (
	// EdgeChild goes from an index to one of its entries.
	EdgeChild EdgeKind = iota + 1
	// EdgeSubject goes from a manifest with an OCI 1.1 subject to that subject.
	EdgeSubject
	// EdgeTag goes from a version tagged "sha256-<hex>[.sig|.att|.sbom]" to
	// the digest the tag names: cosign's legacy tags and the referrers
	// fallback index carry their subject only in the tag.
	EdgeTag
)

func (k EdgeKind) String() string {
	switch k {
	case EdgeChild:
		return "child"
	case EdgeSubject:
		return "subject"
	case EdgeTag:
		return "tag"
	}
	return fmt.Sprintf("EdgeKind(%d)", int(k))
}

// Edge points from the version that holds the reference to the version it
// names. Edges always point this way, whether they are read as "depends on"
// (deleting) or "keeps" (retaining).
type Edge struct {
	From, To string
	Kind     EdgeKind
	Platform string // the index entry's platform, for EdgeChild
	Tag      string // the tag that names To, for EdgeTag
}

// Graph is the reference graph of one package. Edges may point at digests
// that are not versions of the package (deleted, or never pushed there); see
// Missing.
type Graph struct {
	nodes   map[string]Node
	digests []string
	out     map[string][]Edge
	in      map[string][]Edge
}

// NewGraph builds the graph of nodes. It fails on inconsistent input rather
// than guessing, because a wrong graph deletes the wrong images.
func NewGraph(nodes []Node) (*Graph, error) {
	g := &Graph{
		nodes: make(map[string]Node, len(nodes)),
		out:   make(map[string][]Edge),
		in:    make(map[string][]Edge),
	}
	for _, n := range nodes {
		if n.Manifest == nil {
			return nil, fmt.Errorf("version %s has no manifest", n.Digest)
		}
		if n.Manifest.Digest != n.Digest {
			return nil, fmt.Errorf("version %s holds manifest %s", n.Digest, n.Manifest.Digest)
		}
		if _, dup := g.nodes[n.Digest]; dup {
			return nil, fmt.Errorf("version %s listed twice", n.Digest)
		}
		n.Tags = slices.Clone(n.Tags)
		slices.Sort(n.Tags)
		g.nodes[n.Digest] = n
		g.digests = append(g.digests, n.Digest)
	}
	slices.Sort(g.digests)

	for _, d := range g.digests {
		for _, e := range edgesOf(g.nodes[d]) {
			g.addEdge(e)
		}
	}
	for d := range g.out {
		slices.SortFunc(g.out[d], func(a, b Edge) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.To, b.To))
		})
	}
	for d := range g.in {
		slices.SortFunc(g.in[d], func(a, b Edge) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), strings.Compare(a.From, b.From))
		})
	}
	return g, nil
}

// edgesOf lists the references n holds, in manifest order then tag order, so
// that deduplication keeps the first entry's platform and the first tag.
func edgesOf(n Node) []Edge {
	var edges []Edge
	for _, c := range n.Manifest.Children {
		edges = append(edges, Edge{From: n.Digest, To: c.Digest, Kind: EdgeChild, Platform: c.Platform})
	}
	if n.Manifest.Subject != "" {
		edges = append(edges, Edge{From: n.Digest, To: n.Manifest.Subject, Kind: EdgeSubject})
	}
	for _, t := range n.Tags {
		if subject, ok := SubjectOfTag(t); ok {
			edges = append(edges, Edge{From: n.Digest, To: subject, Kind: EdgeTag, Tag: t})
		}
	}
	return edges
}

func (g *Graph) addEdge(e Edge) {
	for _, old := range g.out[e.From] {
		if old.To == e.To && old.Kind == e.Kind {
			return
		}
	}
	g.out[e.From] = append(g.out[e.From], e)
	g.in[e.To] = append(g.in[e.To], e)
}

// Node returns the version with the given digest.
func (g *Graph) Node(digest string) (Node, bool) {
	n, ok := g.nodes[digest]
	return n, ok
}

// Digests returns every version's digest, sorted.
func (g *Graph) Digests() []string {
	return slices.Clone(g.digests)
}

// All yields every version, in digest order.
func (g *Graph) All() iter.Seq[Node] {
	return func(yield func(Node) bool) {
		for _, d := range g.digests {
			if !yield(g.nodes[d]) {
				return
			}
		}
	}
}

// Out returns what digest points at: its index entries, its subject and the
// digests its sha256- tags name, ordered by kind then target. Targets may be
// missing from the graph. The slice is the graph's own: read it, do not
// change it (the planner asks hundreds of thousands of times).
func (g *Graph) Out(digest string) []Edge {
	return g.out[digest]
}

// In returns the edges that point at digest: from the indexes that list it
// (EdgeChild) and from its referrers (EdgeSubject, EdgeTag), ordered by kind
// then source. digest itself need not be a version of the package. The slice
// is the graph's own: read it, do not change it.
func (g *Graph) In(digest string) []Edge {
	return g.in[digest]
}

// Missing returns the digests that digest points at but that are not versions
// of the package, sorted and without duplicates. For an index this means
// pulling it by digest would fail for those platforms.
func (g *Graph) Missing(digest string) []string {
	var missing []string
	for _, e := range g.out[digest] {
		if _, ok := g.nodes[e.To]; !ok {
			missing = append(missing, e.To)
		}
	}
	slices.Sort(missing)
	return slices.Compact(missing)
}

// DeletionOrder orders the digests of set (those mapped to true) so that
// each comes before every digest of the set it points at: an index before
// its entries, a referrer before its subject. Deleting in this order never
// leaves a surviving version pointing at a deleted one, even if the run
// stops half way. Ties are broken by digest. A version pointing at itself (a
// hostile "sha256-<own hex>" tag) is not a cycle: it places no constraint on
// the order.
func (g *Graph) DeletionOrder(set map[string]bool) ([]string, error) {
	var members []string
	for d, in := range set {
		if !in {
			continue
		}
		if _, ok := g.nodes[d]; !ok {
			return nil, fmt.Errorf("deletion order: %s is not a version of the package", d)
		}
		members = append(members, d)
	}
	slices.Sort(members)

	// Kahn's algorithm, always taking the smallest ready digest.
	pending := make(map[string]int, len(members)) // unplaced predecessors in set
	for _, d := range members {
		for _, e := range g.out[d] {
			if e.To != d && set[e.To] {
				pending[e.To]++
			}
		}
	}
	var ready []string
	for _, d := range members {
		if pending[d] == 0 {
			ready = append(ready, d)
		}
	}
	order := make([]string, 0, len(members))
	for len(ready) > 0 {
		d := ready[0]
		ready = ready[1:]
		order = append(order, d)
		for _, e := range g.out[d] {
			if e.To == d || !set[e.To] {
				continue
			}
			if pending[e.To]--; pending[e.To] == 0 {
				i, _ := slices.BinarySearch(ready, e.To)
				ready = slices.Insert(ready, i, e.To)
			}
		}
	}
	if len(order) < len(members) {
		cycle := g.findCycle(members, pending)
		return nil, fmt.Errorf("deletion order: reference cycle %s", strings.Join(cycle, " -> "))
	}
	return order, nil
}

// findCycle returns one cycle among the digests Kahn's algorithm could not
// place. Each of them still has an unplaced predecessor, so walking
// predecessors from any of them must come back on itself.
func (g *Graph) findCycle(members []string, pending map[string]int) []string {
	stuck := func(d string) bool { return pending[d] > 0 }
	start := ""
	for _, d := range members {
		if stuck(d) {
			start = d
			break
		}
	}
	seen := map[string]int{}
	var path []string
	for d := start; ; {
		if i, ok := seen[d]; ok {
			cycle := slices.Clone(path[i:])
			slices.Reverse(cycle) // predecessors were walked; show references
			// Start at the smallest digest so the message is stable.
			i := slices.Index(cycle, slices.Min(cycle))
			cycle = slices.Concat(cycle[i:], cycle[:i])
			return append(cycle, cycle[0])
		}
		seen[d] = len(path)
		path = append(path, d)
		next := ""
		for _, e := range g.in[d] {
			if e.From != d && stuck(e.From) && (next == "" || e.From < next) {
				next = e.From
			}
		}
		if next == "" {
			return path // unreachable: a stuck digest always has a stuck predecessor
		}
		d = next
	}
}

// Reachable returns the versions that must be kept to keep roots intact: a
// kept index keeps its entries, a kept manifest keeps its referrers (the
// signatures, attestations and fallback indexes pointing at it), and a kept
// referrer keeps its subject (a tagged SBOM is not left describing
// nothing). Each value is the edge through which the version was first
// reached, breadth first, with roots and neighbours taken in digest order;
// it is the zero Edge for roots. For an entry the edge's From is the index;
// for a referrer the edge's From is the referrer itself and To is the
// manifest that kept it.
//
// Only versions of the package are returned: missing entries and missing
// roots have nothing to keep (see Missing).
func (g *Graph) Reachable(roots []string) map[string]Edge {
	reached := make(map[string]Edge)
	g.Extend(reached, roots)
	return reached
}

// Extend adds to reached, a result of Reachable, what roots reach besides.
// A version reached already keeps the edge it was first reached by, so
// every version added is reached through versions added with it.
func (g *Graph) Extend(reached map[string]Edge, roots []string) {
	var queue []string
	sorted := slices.Clone(roots)
	slices.Sort(sorted)
	for _, r := range slices.Compact(sorted) {
		if _, done := reached[r]; done {
			continue
		}
		if _, ok := g.nodes[r]; ok {
			reached[r] = Edge{}
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, s := range g.keeps(d) {
			if _, done := reached[s.digest]; done {
				continue
			}
			if _, ok := g.nodes[s.digest]; !ok {
				continue
			}
			reached[s.digest] = s.via
			queue = append(queue, s.digest)
		}
	}
}

type step struct {
	digest string
	via    Edge
}

// keeps lists what keeping d keeps, ordered by digest then edge kind.
func (g *Graph) keeps(d string) []step {
	var steps []step
	for _, e := range g.out[d] {
		if e.Kind == EdgeChild {
			steps = append(steps, step{e.To, e})
		}
	}
	for _, e := range g.in[d] {
		if e.Kind == EdgeSubject || e.Kind == EdgeTag {
			steps = append(steps, step{e.From, e})
		}
	}
	for _, e := range g.out[d] {
		if (e.Kind == EdgeSubject || e.Kind == EdgeTag) && e.To != d {
			steps = append(steps, step{e.To, e})
		}
	}
	slices.SortFunc(steps, func(a, b step) int {
		return cmp.Or(strings.Compare(a.digest, b.digest), cmp.Compare(a.via.Kind, b.via.Kind))
	})
	return steps
}
