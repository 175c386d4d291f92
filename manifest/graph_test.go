package manifest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Graph fixtures name versions by one hex digit; dg expands it to a digest.

func index(d byte, children ...Descriptor) Node {
	if children == nil {
		children = []Descriptor{}
	}
	return Node{Digest: dg(d), Manifest: &Manifest{Digest: dg(d), Kind: KindIndex, Children: children}}
}

func entry(d byte, platform string) Descriptor { return Descriptor{Digest: dg(d), Platform: platform} }

func leaf(d byte, kind Kind, tags ...string) Node {
	return Node{Digest: dg(d), Tags: tags, Manifest: &Manifest{Digest: dg(d), Kind: kind}}
}

func referrer(d, subject byte) Node {
	n := leaf(d, KindReferrer)
	n.Manifest.Subject = dg(subject)
	return n
}

func tagFor(d byte, suffix string) string { return "sha256-" + strings.Repeat(string(d), 64) + suffix }

func withTags(n Node, tags ...string) Node { n.Tags = tags; return n }

// samplePackage is one package with most shapes GHCR holds:
//
//	0 nested index -> 1
//	1 index -> a linux/amd64, b linux/arm64, c attestation (unknown/unknown)
//	2 index -> a, d (a is shared with 1)
//	5 cosign signature, tagged sha256-<1>.sig and sha256-<1>.att
//	7 referrer with subject 1
//	f fallback index tagged sha256-<1>, listing 7 and the missing 9
//	e index listing a and the missing 8 twice
func samplePackage(t *testing.T) *Graph {
	t.Helper()
	g, err := NewGraph([]Node{
		index('0', entry('1', "")),
		withTags(index('1', entry('a', "linux/amd64"), entry('b', "linux/arm64"), entry('c', "unknown/unknown")), "v1"),
		withTags(index('2', entry('a', "linux/amd64"), entry('d', "linux/s390x")), "v2", "latest"),
		leaf('a', KindImage), leaf('b', KindImage), leaf('c', KindAttestation), leaf('d', KindImage),
		leaf('5', KindSignature, tagFor('1', ".sig"), tagFor('1', ".att")),
		referrer('7', '1'),
		withTags(index('f', entry('7', ""), entry('9', "")), tagFor('1', "")),
		index('e', entry('a', "linux/amd64"), entry('8', "linux/ppc64le"), entry('8', "linux/ppc64le")),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// ids names the graph's ids by fixture digit.
func ids(t *testing.T, g *Graph) func(byte) int32 {
	return func(c byte) int32 {
		t.Helper()
		id, ok := g.ID(dg(c))
		if !ok {
			t.Fatalf("no id for %c", c)
		}
		return id
	}
}

func TestGraphEdges(t *testing.T) {
	g := samplePackage(t)
	id := ids(t, g)
	e := func(from, to byte, kind EdgeKind) Edge { return Edge{From: id(from), To: id(to), Kind: kind} }

	// Missing digests (8, 9) are numbered too, in digest order.
	all := "0125789abcdef"
	if g.Len() != len(all) || g.Versions() != len(all)-2 {
		t.Errorf("Len, Versions = %d, %d; want %d, %d", g.Len(), g.Versions(), len(all), len(all)-2)
	}
	for i := range len(all) {
		if got := id(all[i]); got != int32(i) || g.Digest(got) != dg(all[i]) {
			t.Errorf("id of %c = %d (%s), want %d", all[i], got, g.Digest(got), i)
		}
	}
	var versions []string
	for i, m := range g.All() {
		if g.Digest(i) != m.Digest || !g.IsVersion(i) {
			t.Errorf("All yielded %d with %s", i, m.Digest)
		}
		versions = append(versions, m.Digest)
	}
	if want := []string{dg('0'), dg('1'), dg('2'), dg('5'), dg('7'), dg('a'), dg('b'), dg('c'), dg('d'), dg('e'), dg('f')}; !slices.Equal(versions, want) {
		t.Errorf("All = %v, want %v", versions, want)
	}
	tests := []struct {
		name string
		got  []Edge
		want []Edge
	}{
		{"Out(1)", g.Out(id('1')), []Edge{e('1', 'a', EdgeChild), e('1', 'b', EdgeChild), e('1', 'c', EdgeChild)}},
		{"In(a) shared child", g.In(id('a')), []Edge{e('1', 'a', EdgeChild), e('2', 'a', EdgeChild), e('e', 'a', EdgeChild)}},
		{"In(1) parents and referrers", g.In(id('1')), []Edge{e('0', '1', EdgeChild), e('7', '1', EdgeSubject), e('5', '1', EdgeTag), e('f', '1', EdgeTag)}},
		{"Out(5) two tags, one edge", g.Out(id('5')), []Edge{e('5', '1', EdgeTag)}},
		{"Out(f) children and tag", g.Out(id('f')), []Edge{e('f', '7', EdgeChild), e('f', '9', EdgeChild), e('f', '1', EdgeTag)}},
		{"Out(e) duplicate entry", g.Out(id('e')), []Edge{e('e', '8', EdgeChild), e('e', 'a', EdgeChild)}},
		{"In(missing 9)", g.In(id('9')), []Edge{e('f', '9', EdgeChild)}},
		{"Out(missing 9)", g.Out(id('9')), []Edge{}},
		{"Out(a) leaf", g.Out(id('a')), []Edge{}},
	}
	for _, tc := range tests {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s =\n%v\nwant\n%v", tc.name, tc.got, tc.want)
		}
	}
	if _, ok := g.ID(dg('6')); ok {
		t.Error("ID(6) found a digest nothing names")
	}

	if got := g.Missing(id('e')); !slices.Equal(got, []string{dg('8')}) {
		t.Errorf("Missing(e) = %v", got)
	}
	if got := g.Missing(id('f')); !slices.Equal(got, []string{dg('9')}) {
		t.Errorf("Missing(f) = %v", got)
	}
	if got := g.Missing(id('1')); got != nil {
		t.Errorf("Missing(1) = %v, want none", got)
	}
	if m := g.Manifest(id('2')); m == nil || m.Digest != dg('2') || !g.IsVersion(id('2')) {
		t.Errorf("Manifest(2) = %+v", m)
	}
	if m := g.Manifest(id('9')); m != nil || g.IsVersion(id('9')) {
		t.Errorf("Manifest(9) = %+v, a version", m)
	}
}

// byDigest orders as sorting the digests would, whatever they share and
// however short they are.
func TestByDigest(t *testing.T) {
	for _, digests := range [][]string{
		{dg('b'), dg('a'), dg('c'), dg('0')},
		{"sha256:ab", "sha256:a", "sha256:ab\x00", "sha256:", "sha256:abcdefghij", "sha256:abcdefghi", "sha256:abcdefgh"},
		{"x", "sha256:9", "", "sha512:1", "sha256:10"},
		{"same-prefix-1", "same-prefix-2"},
		{"only"},
		nil,
	} {
		order := byDigest(len(digests), func(k int32) string { return digests[k] })
		got := make([]string, len(order))
		for i, k := range order {
			got[i] = digests[k]
		}
		if want := slices.Sorted(slices.Values(digests)); !slices.Equal(got, want) {
			t.Errorf("byDigest(%q) = %q, want %q", digests, got, want)
		}
	}
}

func TestNodeIDs(t *testing.T) {
	nodes := []Node{leaf('c', KindImage), index('a', entry('c', ""), entry('9', "")), leaf('b', KindImage)}
	g, err := NewGraph(nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.NodeIDs(), []int32{3, 1, 2}; !slices.Equal(got, want) { // 9 is 0
		t.Errorf("NodeIDs = %v, want %v", got, want)
	}
	for i, id := range g.NodeIDs() {
		if byDigest, _ := g.ID(nodes[i].Digest); byDigest != id {
			t.Errorf("NodeIDs()[%d] = %d, ID = %d", i, id, byDigest)
		}
	}
}

// Appending to an adjacency list must not write into the next one.
func TestGraphEdgesAreCapped(t *testing.T) {
	g := samplePackage(t)
	id := ids(t, g)
	next := slices.Clone(g.Out(id('2')))
	_ = append(g.Out(id('1')), Edge{})
	if !slices.Equal(g.Out(id('2')), next) {
		t.Errorf("Out(2) = %v after an append to Out(1), want %v", g.Out(id('2')), next)
	}
}

func TestNewGraphErrors(t *testing.T) {
	mismatched := leaf('a', KindImage)
	mismatched.Digest = dg('b')
	tests := []struct {
		name    string
		nodes   []Node
		wantErr string
	}{
		{"duplicate", []Node{leaf('a', KindImage), leaf('a', KindImage)}, "listed twice"},
		{"nil manifest", []Node{{Digest: dg('a')}}, "has no manifest"},
		{"digest mismatch", []Node{mismatched}, "holds manifest " + dg('a')},
	}
	for _, tc := range tests {
		_, err := NewGraph(tc.nodes)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: NewGraph error = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

// digits names ids by fixture digit, for comparing orders.
func digits(g *Graph, order []int32) string {
	var b strings.Builder
	for _, id := range order {
		b.WriteByte(g.Digest(id)[len("sha256:")])
	}
	return b.String()
}

func setOf(g *Graph, id func(byte) int32, members string) []bool {
	set := make([]bool, g.Len())
	for i := range len(members) {
		set[id(members[i])] = true
	}
	return set
}

func TestDeletionOrder(t *testing.T) {
	g := samplePackage(t)
	id := ids(t, g)
	order, err := g.DeletionOrder(setOf(g, id, "01257acdef")) // all versions but b
	if err != nil {
		t.Fatal(err)
	}
	if got, want := digits(g, order), "025def71ac"; got != want {
		t.Errorf("DeletionOrder = %s, want %s", got, want)
	}
	pos := map[int32]int{}
	for i, d := range order {
		pos[d] = i
	}
	for _, d := range order {
		for _, e := range g.Out(d) {
			if j, ok := pos[e.To]; ok && j < pos[d] {
				t.Errorf("%s deleted before %s, which points at it", g.Digest(e.To), g.Digest(d))
			}
		}
	}

	if _, err := g.DeletionOrder(setOf(g, id, "9")); err == nil {
		t.Error("DeletionOrder accepted a digest that is not in the graph")
	}
	if order, err := g.DeletionOrder(nil); err != nil || len(order) != 0 {
		t.Errorf("DeletionOrder(nil) = %v, %v", order, err)
	}
	if order, err := g.DeletionOrder(setOf(g, id, "01")[:id('1')+1]); err != nil || digits(g, order) != "01" {
		t.Errorf("DeletionOrder(short set) = %v, %v", order, err)
	}
}

func TestDeletionOrderCycles(t *testing.T) {
	// Tags are mutable, so hostile or confused tagging can make cycles that
	// content addressing alone cannot.
	g, err := NewGraph([]Node{
		leaf('a', KindOther, tagFor('b', ".sig")),
		leaf('b', KindOther, tagFor('c', "")),
		leaf('c', KindOther, tagFor('a', ".att")),
		index('1', entry('a', "")),                // upstream of the cycle
		leaf('2', KindImage, tagFor('2', ".sig")), // tags itself
	})
	if err != nil {
		t.Fatal(err)
	}
	id := ids(t, g)
	_, err = g.DeletionOrder(setOf(g, id, "1abc"))
	wantCycle := dg('a') + " -> " + dg('b') + " -> " + dg('c') + " -> " + dg('a')
	if err == nil || !strings.Contains(err.Error(), wantCycle) {
		t.Errorf("DeletionOrder error = %v, want cycle %s", err, wantCycle)
	}
	// Breaking the cycle by leaving one member out of the set orders the rest.
	order, err := g.DeletionOrder(setOf(g, id, "1bc2"))
	if want := "12bc"; err != nil || digits(g, order) != want {
		t.Errorf("DeletionOrder = %s, %v; want %s", digits(g, order), err, want)
	}
}

// reached lists what r reached by fixture digit, each with the edge it was
// reached by, as "digit<-from>to:kind", "digit" for a root.
func reached(t *testing.T, g *Graph, r *Reach) []string {
	t.Helper()
	var out []string
	for id := range int32(g.Len()) {
		via, ok := r.Via(id)
		if ok != r.Has(id) {
			t.Errorf("Via and Has disagree on %d", id)
		}
		if !ok {
			continue
		}
		s := digits(g, []int32{id})
		if via != (Edge{}) {
			s += "<-" + digits(g, []int32{via.From, via.To}) + ":" + via.Kind.String()
		}
		out = append(out, s)
	}
	return out
}

func TestReachable(t *testing.T) {
	g := samplePackage(t)
	id := ids(t, g)
	r := g.Reachable([]int32{id('0'), id('9'), id('0')})
	want := []string{
		"0",
		"1<-01:child",
		"5<-51:tag",
		"7<-71:subject", // before f's entry, in BFS order
		"a<-1a:child",
		"b<-1b:child",
		"c<-1c:child",
		"f<-f1:tag",
	}
	if got := reached(t, g, r); !slices.Equal(got, want) {
		t.Errorf("Reachable(0) =\n%v\nwant\n%v", got, want)
	}
	if got := digits(g, r.IDs()); got != "0157abcf" || r.Len() != len(got) {
		t.Errorf("Reachable(0) reached %s (%d), breadth first by digest", got, r.Len())
	}

	// Keeping a child keeps nothing above it.
	if got := reached(t, g, g.Reachable([]int32{id('d')})); !slices.Equal(got, []string{"d"}) {
		t.Errorf("Reachable(d) = %v", got)
	}
	if r := g.Reachable(nil); r.Len() != 0 {
		t.Errorf("Reachable(nil) = %v", reached(t, g, r))
	}
}

func TestExtend(t *testing.T) {
	g := samplePackage(t)
	id := ids(t, g)
	r := g.Reachable([]int32{id('1')})
	before := r.Len()
	g.Extend(r, []int32{id('a'), id('0')})
	// 0 is new, and reaches only 1, which was reached already: nothing
	// under 1 changes the edge it was reached by.
	if via, _ := r.Via(id('a')); r.Len() != before+1 || !r.Has(id('0')) || via.From != id('1') {
		t.Errorf("Extend = %v", reached(t, g, r))
	}
	full := g.Reachable([]int32{id('0'), id('1')})
	if full.Len() != r.Len() {
		t.Errorf("Extend reached %d versions, Reachable of both %d", r.Len(), full.Len())
	}

	r.Clear()
	if r.Len() != 0 || r.Has(id('1')) {
		t.Errorf("Clear left %v", reached(t, g, r))
	}
	g.Extend(r, []int32{id('d')})
	if got := reached(t, g, r); !slices.Equal(got, []string{"d"}) {
		t.Errorf("Extend after Clear = %v", got)
	}
}

func TestReachableCycles(t *testing.T) {
	g, err := NewGraph([]Node{
		leaf('a', KindOther, tagFor('b', ".sig")),
		leaf('b', KindOther, tagFor('a', ".sig")),
		leaf('c', KindOther, tagFor('c', "")),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := ids(t, g)
	got := reached(t, g, g.Reachable([]int32{id('a'), id('c')}))
	if want := []string{"a", "b<-ba:tag", "c"}; !slices.Equal(got, want) {
		t.Errorf("Reachable =\n%v\nwant\n%v", got, want)
	}
	if got := g.Out(id('c')); len(got) != 1 || got[0].To != id('c') {
		t.Errorf("Out(c) = %v, want the self edge", got)
	}
	if order, err := g.DeletionOrder(setOf(g, id, "c")); err != nil || digits(g, order) != "c" {
		t.Errorf("DeletionOrder(self-tagged) = %v, %v", order, err)
	}
}

// buildxNodes is images buildx images: an index over two platform images
// and their two attestations, the index tagged, as GHCR lists them.
func buildxNodes(images int) []Node {
	nodes := make([]Node, 0, 5*images)
	add := func(m *Manifest, tags ...string) string {
		m.Digest = digestOf([]byte(fmt.Sprint(len(nodes))))
		nodes = append(nodes, Node{Digest: m.Digest, Tags: tags, Manifest: m})
		return m.Digest
	}
	for i := range images {
		var children []Descriptor
		for _, arch := range []string{"amd64", "arm64"} {
			img := add(&Manifest{Kind: KindImage})
			att := add(&Manifest{Kind: KindAttestation})
			children = append(children, Descriptor{Digest: img, Platform: "linux/" + arch}, Descriptor{Digest: att, Platform: "unknown/unknown", Attests: img})
		}
		add(&Manifest{Kind: KindIndex, Children: children}, fmt.Sprintf("sha-%07x", i))
	}
	return nodes
}

// BenchmarkNewGraph100k builds the graph of 100,000 versions. graph-MiB is
// the heap the graph holds beyond its nodes' manifests.
func BenchmarkNewGraph100k(b *testing.B) {
	nodes := buildxNodes(20_000)
	b.ReportAllocs()
	var held uint64
	for b.Loop() {
		b.StopTimer()
		before := heapAfterGC()
		b.StartTimer()
		g, err := NewGraph(nodes)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		after := heapAfterGC()
		held = after - min(before, after)
		runtime.KeepAlive(g)
		b.StartTimer()
	}
	b.ReportMetric(float64(held)/(1<<20), "graph-MiB")
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
