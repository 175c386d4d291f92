package manifest

import (
	"reflect"
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

func TestGraphEdges(t *testing.T) {
	g := samplePackage(t)
	d := dg

	if got, want := g.Digests(), []string{d('0'), d('1'), d('2'), d('5'), d('7'), d('a'), d('b'), d('c'), d('d'), d('e'), d('f')}; !slices.Equal(got, want) {
		t.Errorf("Digests = %v, want %v", got, want)
	}
	tests := []struct {
		name string
		got  []Edge
		want []Edge
	}{
		{"Out(1)", g.Out(d('1')), []Edge{
			{From: d('1'), To: d('a'), Kind: EdgeChild, Platform: "linux/amd64"},
			{From: d('1'), To: d('b'), Kind: EdgeChild, Platform: "linux/arm64"},
			{From: d('1'), To: d('c'), Kind: EdgeChild, Platform: "unknown/unknown"},
		}},
		{"In(a) shared child", g.In(d('a')), []Edge{
			{From: d('1'), To: d('a'), Kind: EdgeChild, Platform: "linux/amd64"},
			{From: d('2'), To: d('a'), Kind: EdgeChild, Platform: "linux/amd64"},
			{From: d('e'), To: d('a'), Kind: EdgeChild, Platform: "linux/amd64"},
		}},
		{"In(1) parents and referrers", g.In(d('1')), []Edge{
			{From: d('0'), To: d('1'), Kind: EdgeChild},
			{From: d('7'), To: d('1'), Kind: EdgeSubject},
			{From: d('5'), To: d('1'), Kind: EdgeTag, Tag: tagFor('1', ".att")},
			{From: d('f'), To: d('1'), Kind: EdgeTag, Tag: tagFor('1', "")},
		}},
		{"Out(5) two tags, one edge", g.Out(d('5')), []Edge{
			{From: d('5'), To: d('1'), Kind: EdgeTag, Tag: tagFor('1', ".att")},
		}},
		{"Out(f) children and tag", g.Out(d('f')), []Edge{
			{From: d('f'), To: d('7'), Kind: EdgeChild},
			{From: d('f'), To: d('9'), Kind: EdgeChild},
			{From: d('f'), To: d('1'), Kind: EdgeTag, Tag: tagFor('1', "")},
		}},
		{"Out(e) duplicate entry", g.Out(d('e')), []Edge{
			{From: d('e'), To: d('8'), Kind: EdgeChild, Platform: "linux/ppc64le"},
			{From: d('e'), To: d('a'), Kind: EdgeChild, Platform: "linux/amd64"},
		}},
		{"In(missing 9)", g.In(d('9')), []Edge{{From: d('f'), To: d('9'), Kind: EdgeChild}}},
		{"Out(a) leaf", g.Out(d('a')), nil},
		{"In(unknown)", g.In(d('6')), nil},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s =\n%v\nwant\n%v", tc.name, tc.got, tc.want)
		}
	}

	if got := g.Missing(d('e')); !slices.Equal(got, []string{d('8')}) {
		t.Errorf("Missing(e) = %v", got)
	}
	if got := g.Missing(d('f')); !slices.Equal(got, []string{d('9')}) {
		t.Errorf("Missing(f) = %v", got)
	}
	if got := g.Missing(d('1')); got != nil {
		t.Errorf("Missing(1) = %v, want none", got)
	}
	if n, ok := g.Node(d('2')); !ok || !slices.Equal(n.Tags, []string{"latest", "v2"}) {
		t.Errorf("Node(2) = %+v, %v", n, ok)
	}
	if _, ok := g.Node(d('9')); ok {
		t.Error("Node(9) found a missing digest")
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

func TestDeletionOrder(t *testing.T) {
	g := samplePackage(t)
	all := map[string]bool{}
	for _, d := range g.Digests() {
		all[d] = true
	}
	all[dg('b')] = false // false entries are not in the set
	order, err := g.DeletionOrder(all)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dg('0'), dg('2'), dg('5'), dg('d'), dg('e'), dg('f'), dg('7'), dg('1'), dg('a'), dg('c')}
	if !slices.Equal(order, want) {
		t.Errorf("DeletionOrder =\n%v\nwant\n%v", order, want)
	}
	pos := map[string]int{}
	for i, d := range order {
		pos[d] = i
	}
	for _, d := range order {
		for _, e := range g.Out(d) {
			if j, ok := pos[e.To]; ok && j < pos[d] {
				t.Errorf("%s deleted before %s, which points at it", e.To, d)
			}
		}
	}

	if _, err := g.DeletionOrder(map[string]bool{dg('9'): true}); err == nil {
		t.Error("DeletionOrder accepted a digest that is not in the graph")
	}
	if order, err := g.DeletionOrder(nil); err != nil || len(order) != 0 {
		t.Errorf("DeletionOrder(nil) = %v, %v", order, err)
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
	_, err = g.DeletionOrder(map[string]bool{dg('1'): true, dg('a'): true, dg('b'): true, dg('c'): true})
	wantCycle := dg('a') + " -> " + dg('b') + " -> " + dg('c') + " -> " + dg('a')
	if err == nil || !strings.Contains(err.Error(), wantCycle) {
		t.Errorf("DeletionOrder error = %v, want cycle %s", err, wantCycle)
	}
	// Breaking the cycle by leaving one member out of the set orders the rest.
	order, err := g.DeletionOrder(map[string]bool{dg('1'): true, dg('b'): true, dg('c'): true, dg('2'): true})
	if want := []string{dg('1'), dg('2'), dg('b'), dg('c')}; err != nil || !slices.Equal(order, want) {
		t.Errorf("DeletionOrder = %v, %v; want %v", order, err, want)
	}
}

func TestReachable(t *testing.T) {
	g := samplePackage(t)
	d := dg
	got := g.Reachable([]string{d('0'), d('9'), d('0')})
	want := map[string]Edge{
		d('0'): {},
		d('1'): {From: d('0'), To: d('1'), Kind: EdgeChild},
		d('a'): {From: d('1'), To: d('a'), Kind: EdgeChild, Platform: "linux/amd64"},
		d('b'): {From: d('1'), To: d('b'), Kind: EdgeChild, Platform: "linux/arm64"},
		d('c'): {From: d('1'), To: d('c'), Kind: EdgeChild, Platform: "unknown/unknown"},
		d('5'): {From: d('5'), To: d('1'), Kind: EdgeTag, Tag: tagFor('1', ".att")},
		d('7'): {From: d('7'), To: d('1'), Kind: EdgeSubject}, // before f's entry, in BFS order
		d('f'): {From: d('f'), To: d('1'), Kind: EdgeTag, Tag: tagFor('1', "")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Reachable(0) =\n%v\nwant\n%v", got, want)
	}

	// Keeping a child keeps nothing above it.
	if got := g.Reachable([]string{d('d')}); !reflect.DeepEqual(got, map[string]Edge{d('d'): {}}) {
		t.Errorf("Reachable(d) = %v", got)
	}
	if got := g.Reachable(nil); len(got) != 0 {
		t.Errorf("Reachable(nil) = %v", got)
	}
}

func TestExtend(t *testing.T) {
	g := samplePackage(t)
	d := dg
	reached := g.Reachable([]string{d('1')})
	before := len(reached)
	g.Extend(reached, []string{d('0'), d('a')})
	// 0 is new, and reaches only 1, which was reached already: nothing
	// under 1 changes the edge it was reached by.
	if len(reached) != before+1 || reached[d('0')] != (Edge{}) || reached[d('a')].From != d('1') {
		t.Errorf("Extend = %v", reached)
	}
	full := g.Reachable([]string{d('0'), d('1')})
	if len(full) != len(reached) {
		t.Errorf("Extend reached %d versions, Reachable of both %d", len(reached), len(full))
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
	got := g.Reachable([]string{dg('a'), dg('c')})
	want := map[string]Edge{
		dg('a'): {},
		dg('b'): {From: dg('b'), To: dg('a'), Kind: EdgeTag, Tag: tagFor('a', ".sig")},
		dg('c'): {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Reachable =\n%v\nwant\n%v", got, want)
	}
	if got := g.Out(dg('c')); len(got) != 1 || got[0].To != dg('c') {
		t.Errorf("Out(c) = %v, want the self edge", got)
	}
	if order, err := g.DeletionOrder(map[string]bool{dg('c'): true}); err != nil || !slices.Equal(order, []string{dg('c')}) {
		t.Errorf("DeletionOrder(self-tagged) = %v, %v", order, err)
	}
}
