package manifest

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
)

// Node is one package version, as NewGraph takes it: a manifest and the
// tags GHCR lists for it.
type Node struct {
	Digest   string
	Tags     []string
	Manifest *Manifest
}

// EdgeKind says why one version points at another.
type EdgeKind uint8

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

// Edge points from the version that holds the reference to the digest it
// names, both by id. Edges always point this way, whether they are read as
// "depends on" (deleting) or "keeps" (retaining). One edge stands for all
// the references of one kind between two versions (an index listing a
// digest twice, two tags naming one subject).
type Edge struct {
	From, To int32
	Kind     EdgeKind
}

// Graph is the reference graph of one package. It numbers every digest it
// knows, in sorted order from 0, so that ids compare as their digests do
// and the planner can keep what it knows of each version in a slice
// indexed by id rather than in maps keyed by 71-byte strings. Most ids are
// versions of the package; the others are digests versions point at that
// are not (deleted, or never pushed there); see IsVersion and Missing.
type Graph struct {
	digests   []string // by id, so sorted: a digest's id is found by search
	search    digestSearch
	manifests []*Manifest // by id; nil for a digest that is not a version
	// keyed is the id of each node NewGraph was given, by its position.
	keyed    []int32
	versions int
	// The edges twice, as compressed adjacency lists: out grouped by From
	// and in by To, each group ordered by kind then the other end; the
	// group of id is out[outAt[id]:outAt[id+1]].
	out, in     []Edge
	outAt, inAt []int32
}

// NewGraph builds the graph of nodes. It fails on inconsistent input rather
// than guessing, because a wrong graph deletes the wrong images.
func NewGraph(nodes []Node) (*Graph, error) {
	if len(nodes) > math.MaxInt32 {
		return nil, fmt.Errorf("%d versions are more than a graph can number", len(nodes))
	}
	for _, n := range nodes {
		if n.Manifest == nil {
			return nil, fmt.Errorf("version %s has no manifest", n.Digest)
		}
		if n.Manifest.Digest != n.Digest {
			return nil, fmt.Errorf("version %s holds manifest %s", n.Digest, n.Manifest.Digest)
		}
	}
	absent, err := absentDigests(nodes)
	if err != nil {
		return nil, err
	}
	// A digest's key k is its node's index, or for a digest that is not a
	// version, len(nodes) on.
	digestOf := func(k int32) string {
		if int(k) < len(nodes) {
			return nodes[k].Digest
		}
		return absent[int(k)-len(nodes)]
	}
	order := byDigest(len(nodes)+len(absent), digestOf) // key by id
	g := &Graph{versions: len(nodes)}
	g.digests = make([]string, len(order))
	g.manifests = make([]*Manifest, len(order))
	g.keyed = make([]int32, len(order))
	for id, k := range order {
		g.keyed[k] = int32(id)
		g.digests[id] = digestOf(k)
		if int(k) < len(nodes) {
			g.manifests[id] = nodes[k].Manifest
		}
	}
	g.keyed = g.keyed[:len(nodes):len(nodes)]
	g.search = newDigestSearch(g.digests)
	refs := make([]Edge, 0, referenceBound(nodes)) // in node order then manifest and tag order
	for k, n := range nodes {
		for d, kind := range references(n) {
			to, _ := g.ID(d)
			refs = append(refs, Edge{From: g.keyed[k], To: to, Kind: kind})
		}
	}
	g.link(refs)
	return g, nil
}

// absentDigests is the digests nodes point at that none of them is,
// sorted and each once. It fails on a digest listed twice. A search of the
// sorted versions rather than a map of them: at 100,000 versions the map
// is megabytes, held for as long as the graph.
func absentDigests(nodes []Node) ([]string, error) {
	listed := make([]string, len(nodes))
	for i, k := range byDigest(len(nodes), func(k int32) string { return nodes[k].Digest }) {
		listed[i] = nodes[k].Digest
	}
	for i := 1; i < len(listed); i++ {
		if listed[i] == listed[i-1] {
			return nil, fmt.Errorf("version %s listed twice", listed[i])
		}
	}
	search := newDigestSearch(listed)
	var absent []string
	for _, n := range nodes {
		for d := range references(n) {
			if _, ok := search.find(d); !ok {
				absent = append(absent, d)
			}
		}
	}
	slices.Sort(absent)
	absent = slices.Compact(absent)
	if len(nodes)+len(absent) > math.MaxInt32 {
		return nil, fmt.Errorf("versions name more digests than a graph can number")
	}
	return absent, nil
}

// digestSearch finds a digest in a sorted list the way byDigest sorts:
// by the 8 bytes after the prefix all of them share, whole digests
// compared only on ties. Keys side by side are what make it fast; a
// search comparing strings is three times slower at 100,000.
type digestSearch struct {
	digests []string // sorted
	shared  string
	keys    []uint64 // by position in digests
}

func newDigestSearch(sorted []string) digestSearch {
	s := digestSearch{digests: sorted, keys: make([]uint64, len(sorted))}
	if len(sorted) > 0 {
		// The first and last share what all of them do.
		first, last := sorted[0], sorted[len(sorted)-1]
		i := 0
		for i < len(first) && i < len(last) && first[i] == last[i] {
			i++
		}
		s.shared = first[:i]
	}
	for i, d := range sorted {
		s.keys[i] = s.keyOf(d)
	}
	return s
}

// keyOf is the 8 bytes of d after the shared prefix, big-endian and
// zero-padded: it orders as those bytes do.
func (s digestSearch) keyOf(d string) uint64 {
	var next [8]byte
	copy(next[:], d[len(s.shared):])
	return binary.BigEndian.Uint64(next[:])
}

// find returns the position of d.
func (s digestSearch) find(d string) (int, bool) {
	if !strings.HasPrefix(d, s.shared) {
		return 0, false
	}
	key := s.keyOf(d)
	lo, hi := 0, len(s.keys) // the first at or after d is in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if k := s.keys[mid]; k < key || k == key && s.digests[mid] < d {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(s.digests) && s.digests[lo] == d
}

// byDigest returns 0 to n-1 in the order of their digests. Digests begin
// alike ("sha256:"), so it sorts by the 8 bytes after what all of them
// share and compares whole digests only on ties: twice as fast at 100,000.
func byDigest(n int, digest func(int32) string) []int32 {
	if n == 0 {
		return nil
	}
	shared := digest(0)
	for k := range int32(n) {
		d := digest(k)
		i := 0
		for i < len(shared) && i < len(d) && shared[i] == d[i] {
			i++
		}
		shared = shared[:i]
	}
	type keyed struct {
		key uint64 // big-endian, zero-padded: orders as the bytes do
		k   int32
	}
	keys := make([]keyed, n)
	for k := range keys {
		var next [8]byte
		copy(next[:], digest(int32(k))[len(shared):])
		keys[k] = keyed{binary.BigEndian.Uint64(next[:]), int32(k)}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return strings.Compare(digest(a.k), digest(b.k))
	})
	order := make([]int32, n)
	for i, x := range keys {
		order[i] = x.k
	}
	return order
}

// link builds out and in from refs, every reference each version holds,
// in the order it holds them.
func (g *Graph) link(refs []Edge) {
	from := groupStarts(len(g.digests), refs, func(e Edge) int32 { return e.From })
	next := slices.Clone(from[:len(g.digests)])
	g.out = make([]Edge, len(refs))
	for _, e := range refs {
		g.out[next[e.From]] = e
		next[e.From]++
	}
	// Drop the references one edge stands for, and order each group,
	// packing the groups as they shrink.
	g.outAt = make([]int32, len(g.digests)+1)
	end := 0
	for id := range g.digests {
		start := end
		g.outAt[id] = int32(start)
		for _, e := range g.out[from[id]:from[id+1]] {
			if !slices.Contains(g.out[start:end], e) {
				g.out[end] = e
				end++
			}
		}
		slices.SortFunc(g.out[start:end], func(a, b Edge) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.To, b.To)) })
	}
	g.outAt[len(g.digests)] = int32(end)
	g.out = g.out[:end:end]

	// A counting sort by To, one kind at a time: out is ordered by From,
	// so each group of in comes out ordered by kind then From.
	g.inAt = groupStarts(len(g.digests), g.out, func(e Edge) int32 { return e.To })
	next = slices.Clone(g.inAt[:len(g.digests)])
	g.in = make([]Edge, len(g.out))
	for _, kind := range []EdgeKind{EdgeChild, EdgeSubject, EdgeTag} {
		for _, e := range g.out {
			if e.Kind == kind {
				g.in[next[e.To]] = e
				next[e.To]++
			}
		}
	}
}

// groupStarts returns where the group of each id would start if edges
// were grouped by end, and where the last one ends.
func groupStarts(ids int, edges []Edge, end func(Edge) int32) []int32 {
	starts := make([]int32, ids+1)
	for _, e := range edges {
		starts[end(e)+1]++
	}
	for id := range ids {
		starts[id+1] += starts[id]
	}
	return starts
}

// referenceBound is at least how many references nodes hold, and without
// sha256- tags of other shapes, exactly.
func referenceBound(nodes []Node) int {
	bound := 0
	for _, n := range nodes {
		bound += len(n.Manifest.Children)
		if n.Manifest.Subject != "" {
			bound++
		}
		for _, t := range n.Tags {
			if strings.HasPrefix(t, "sha256-") {
				bound++
			}
		}
	}
	return bound
}

// references yields what n points at and why, in manifest order then tag
// order, duplicates and all.
func references(n Node) iter.Seq2[string, EdgeKind] {
	return func(yield func(string, EdgeKind) bool) {
		for _, c := range n.Manifest.Children {
			if !yield(c.Digest, EdgeChild) {
				return
			}
		}
		if n.Manifest.Subject != "" && !yield(n.Manifest.Subject, EdgeSubject) {
			return
		}
		for _, t := range n.Tags {
			if subject, ok := SubjectOfTag(t); ok && !yield(subject, EdgeTag) {
				return
			}
		}
	}
}

// Len is the number of ids: every version, and every digest a version
// points at.
func (g *Graph) Len() int { return len(g.digests) }

// Versions is the number of versions.
func (g *Graph) Versions() int { return g.versions }

// ID returns the id of a digest the graph knows, version or not.
func (g *Graph) ID(digest string) (int32, bool) {
	id, ok := g.search.find(digest)
	return int32(id), ok
}

// NodeIDs returns the id of each node NewGraph was given, in the order it
// was given them, so that a caller holding them in that order need not
// look each up by digest. The slice is the graph's own: read it, do not
// change it.
func (g *Graph) NodeIDs() []int32 { return g.keyed }

// Digest returns the digest of id.
func (g *Graph) Digest(id int32) string { return g.digests[id] }

// Manifest returns the manifest of id, nil if it is not a version.
func (g *Graph) Manifest(id int32) *Manifest { return g.manifests[id] }

// IsVersion reports whether id is a version of the package.
func (g *Graph) IsVersion(id int32) bool { return g.manifests[id] != nil }

// All yields every version's id and manifest, in digest order.
func (g *Graph) All() iter.Seq2[int32, *Manifest] {
	return func(yield func(int32, *Manifest) bool) {
		for id, m := range g.manifests {
			if m != nil && !yield(int32(id), m) {
				return
			}
		}
	}
}

// Out returns what id points at: its index entries, its subject and the
// digests its sha256- tags name, ordered by kind then target. Targets may
// not be versions. The slice is the graph's own: read it, do not change it
// (the planner asks hundreds of thousands of times).
func (g *Graph) Out(id int32) []Edge {
	return g.out[g.outAt[id]:g.outAt[id+1]:g.outAt[id+1]]
}

// In returns the edges that point at id: from the indexes that list it
// (EdgeChild) and from its referrers (EdgeSubject, EdgeTag), ordered by kind
// then source. id itself need not be a version. The slice is the graph's
// own: read it, do not change it.
func (g *Graph) In(id int32) []Edge {
	return g.in[g.inAt[id]:g.inAt[id+1]:g.inAt[id+1]]
}

// Missing returns the digests that id points at but that are not versions
// of the package, sorted and without duplicates. For an index this means
// pulling it by digest would fail for those platforms.
func (g *Graph) Missing(id int32) []string {
	var missing []string
	for _, e := range g.Out(id) {
		if !g.IsVersion(e.To) {
			missing = append(missing, g.Digest(e.To))
		}
	}
	slices.Sort(missing)
	return slices.Compact(missing)
}

// DeletionOrder orders the ids in set (set[id] is true) so that each comes
// before every id of the set it points at: an index before its entries, a
// referrer before its subject. Deleting in this order never leaves a
// surviving version pointing at a deleted one, even if the run stops half
// way. Ties are broken by digest. A version pointing at itself (a hostile
// "sha256-<own hex>" tag) is not a cycle: it places no constraint on the
// order. set may be shorter than Len().
func (g *Graph) DeletionOrder(set []bool) ([]int32, error) {
	in := func(id int32) bool { return int(id) < len(set) && set[id] }
	members := 0
	for id, member := range set {
		if !member {
			continue
		}
		if !g.IsVersion(int32(id)) {
			return nil, fmt.Errorf("deletion order: %s is not a version of the package", g.Digest(int32(id)))
		}
		members++
	}

	// Kahn's algorithm, always taking the smallest ready id.
	pending := make([]int32, len(set)) // unplaced predecessors in set
	for id, member := range set {
		if !member {
			continue
		}
		for _, e := range g.Out(int32(id)) {
			if e.To != e.From && in(e.To) {
				pending[e.To]++
			}
		}
	}
	var ready idHeap
	for id, member := range set {
		if member && pending[id] == 0 {
			ready = append(ready, int32(id)) // ascending, so a heap already
		}
	}
	order := make([]int32, 0, members)
	for len(ready) > 0 {
		id := ready.pop()
		order = append(order, id)
		for _, e := range g.Out(id) {
			if e.To == id || !in(e.To) {
				continue
			}
			if pending[e.To]--; pending[e.To] == 0 {
				ready.push(e.To)
			}
		}
	}
	if len(order) < members {
		cycle := g.findCycle(pending)
		digests := make([]string, len(cycle))
		for i, id := range cycle {
			digests[i] = g.Digest(id)
		}
		return nil, fmt.Errorf("deletion order: reference cycle %s", strings.Join(digests, " -> "))
	}
	return order, nil
}

// idHeap is a binary min-heap of ids.
type idHeap []int32

func (h *idHeap) push(id int32) {
	*h = append(*h, id)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent] <= s[i] {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

func (h *idHeap) pop() int32 {
	s := *h
	top, last := s[0], len(s)-1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		least := i
		if l := 2*i + 1; l < len(s) && s[l] < s[least] {
			least = l
		}
		if r := 2*i + 2; r < len(s) && s[r] < s[least] {
			least = r
		}
		if least == i {
			break
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
	*h = s
	return top
}

// findCycle returns one cycle among the ids Kahn's algorithm could not
// place: those with pending predecessors. Each of them still has an
// unplaced predecessor, so walking predecessors from any of them must come
// back on itself.
func (g *Graph) findCycle(pending []int32) []int32 {
	stuck := func(id int32) bool { return int(id) < len(pending) && pending[id] > 0 }
	start := int32(slices.IndexFunc(pending, func(n int32) bool { return n > 0 }))
	seen := map[int32]int{}
	var path []int32
	for id := start; ; {
		if i, ok := seen[id]; ok {
			cycle := slices.Clone(path[i:])
			slices.Reverse(cycle) // predecessors were walked; show references
			// Start at the smallest digest so the message is stable.
			i := slices.Index(cycle, slices.Min(cycle))
			cycle = slices.Concat(cycle[i:], cycle[:i])
			return append(cycle, cycle[0])
		}
		seen[id] = len(path)
		path = append(path, id)
		next := int32(-1)
		for _, e := range g.In(id) {
			if e.From != id && stuck(e.From) && (next < 0 || e.From < next) {
				next = e.From
			}
		}
		if next < 0 {
			return path // unreachable: a stuck id always has a stuck predecessor
		}
		id = next
	}
}

// Reach is what walks from roots keep (see Extend): the versions reached,
// each with the edge through which it was first reached. It is sized for
// its graph once, so that one can be cleared and walked again cheaply.
type Reach struct {
	via     []Edge // by id; the zero Edge for roots
	reached []bool // by id
	order   []int32
}

// Via returns the edge through which id was first reached, the zero Edge
// for a root, and whether it was reached at all. For an entry the edge's
// From is the index; for a referrer the edge's From is the referrer itself
// and To is the manifest that kept it.
func (r *Reach) Via(id int32) (Edge, bool) { return r.via[id], r.reached[id] }

// Has reports whether id was reached.
func (r *Reach) Has(id int32) bool { return r.reached[id] }

// Len is the number of versions reached.
func (r *Reach) Len() int { return len(r.order) }

// IDs returns the versions reached, in the order they were. The slice is
// the Reach's own: read it, do not change it.
func (r *Reach) IDs() []int32 { return r.order }

// Clear forgets every version reached, in time proportional to their
// number.
func (r *Reach) Clear() {
	for _, id := range r.order {
		r.reached[id], r.via[id] = false, Edge{}
	}
	r.order = r.order[:0]
}

// Reachable returns the versions that must be kept to keep roots intact: a
// kept index keeps its entries, a kept manifest keeps its referrers (the
// signatures, attestations and fallback indexes pointing at it), and a kept
// referrer keeps its subject (a tagged SBOM is not left describing
// nothing). Versions are reached breadth first, with roots and neighbours
// taken in digest order.
//
// Only versions of the package are reached: missing entries and missing
// roots have nothing to keep (see Missing).
func (g *Graph) Reachable(roots []int32) *Reach {
	r := &Reach{via: make([]Edge, g.Len()), reached: make([]bool, g.Len())}
	g.Extend(r, roots)
	return r
}

// Extend adds to r, a result of Reachable on g, what roots reach besides.
// A version reached already keeps the edge it was first reached by, so
// every version added is reached through versions added with it.
func (g *Graph) Extend(r *Reach, roots []int32) {
	queue := len(r.order) // what this walk reaches is queued in r.order
	if !slices.IsSorted(roots) {
		roots = slices.Sorted(slices.Values(roots))
	}
	for i, id := range roots {
		if (i > 0 && roots[i-1] == id) || r.reached[id] || !g.IsVersion(id) {
			continue
		}
		r.reach(id, Edge{})
	}
	var steps []step
	for ; queue < len(r.order); queue++ {
		steps = g.keeps(r.order[queue], steps[:0])
		for _, s := range steps {
			if !r.reached[s.id] && g.IsVersion(s.id) {
				r.reach(s.id, s.via)
			}
		}
	}
}

func (r *Reach) reach(id int32, via Edge) {
	r.reached[id], r.via[id] = true, via
	r.order = append(r.order, id)
}

type step struct {
	id  int32
	via Edge
}

// keeps appends to steps what keeping id keeps, ordered by id then edge
// kind.
func (g *Graph) keeps(id int32, steps []step) []step {
	for _, e := range g.Out(id) {
		if e.Kind == EdgeChild {
			steps = append(steps, step{e.To, e})
		}
	}
	for _, e := range g.In(id) {
		if e.Kind == EdgeSubject || e.Kind == EdgeTag {
			steps = append(steps, step{e.From, e})
		}
	}
	for _, e := range g.Out(id) {
		if (e.Kind == EdgeSubject || e.Kind == EdgeTag) && e.To != id {
			steps = append(steps, step{e.To, e})
		}
	}
	slices.SortFunc(steps, func(a, b step) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.via.Kind, b.via.Kind))
	})
	return steps
}
