// Package retentiontest makes snapshots by hand for tests of the planner and
// of what runs it: names stand for digests, so a test reads like the package
// it describes.
package retentiontest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Now is the clock of every planner test; ages count back from it.
var Now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// Day is a day.
const Day = 24 * time.Hour

// Builder builds a snapshot of the package "app".
type Builder struct {
	Snap  retention.Snapshot
	Names map[string]string // digest -> name
	next  int64
}

// New starts an empty package.
func New() *Builder {
	return &Builder{Snap: retention.Snapshot{Package: "app", Manifests: map[string]*manifest.Manifest{}}, Names: map[string]string{}, next: 100}
}

// Digest is the digest a name stands for.
func Digest(name string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(name)))
}

// Add adds a version named name, last updated age before Now.
func (b *Builder) Add(name string, age time.Duration, m *manifest.Manifest, tags ...string) *Builder {
	b.next++
	d := Digest(name)
	m.Digest = d
	b.Names[d] = name
	b.Snap.Manifests[d] = m
	b.Snap.Versions = append(b.Snap.Versions, retention.Version{ID: b.next, Digest: d, Tags: tags, CreatedAt: retention.TimeOf(Now.Add(-age)), UpdatedAt: retention.TimeOf(Now.Add(-age))})
	return b
}

// Image adds a single-platform image.
func (b *Builder) Image(name string, age time.Duration, tags ...string) *Builder {
	return b.Add(name, age, &manifest.Manifest{Kind: manifest.KindImage}, tags...)
}

// Index adds an index over children; "attest:x" entries are attestation
// manifests for child x. Children are not added: a test adds them, or not.
func (b *Builder) Index(name string, age time.Duration, children []string, tags ...string) *Builder {
	m := &manifest.Manifest{Kind: manifest.KindIndex}
	for i, c := range children {
		if of, ok := strings.CutPrefix(c, "attest:"); ok {
			m.Children = append(m.Children, manifest.Descriptor{Digest: Digest(c), Platform: "unknown/unknown", Attests: Digest(of)})
			continue
		}
		m.Children = append(m.Children, manifest.Descriptor{Digest: Digest(c), Platform: []string{"linux/amd64", "linux/arm64"}[i%2]})
	}
	return b.Add(name, age, m, tags...)
}

// Referrer adds an OCI referrer of subject.
func (b *Builder) Referrer(name string, age time.Duration, subject string, kind manifest.Kind, tags ...string) *Builder {
	return b.Add(name, age, &manifest.Manifest{Kind: kind, Subject: Digest(subject)}, tags...)
}

// Sig adds a cosign signature: linked to its subject only by its tag.
func (b *Builder) Sig(name string, age time.Duration, subject string) *Builder {
	return b.Add(name, age, &manifest.Manifest{Kind: manifest.KindSignature}, "sha256-"+strings.TrimPrefix(Digest(subject), "sha256:")+".sig")
}

// MultiArch adds an index with two platform images and their attestations.
func (b *Builder) MultiArch(name string, age, childAge time.Duration, tags ...string) *Builder {
	kids := []string{name + "/amd64", name + "/arm64"}
	for _, k := range kids {
		b.Image(k, childAge)
		b.Add("attest:"+k, childAge, &manifest.Manifest{Kind: manifest.KindAttestation})
	}
	return b.Index(name, age, []string{kids[0], kids[1], "attest:" + kids[0], "attest:" + kids[1]}, tags...)
}

// Placeholder adds a placeholder of ghcr-prune's own, as a tag removal
// that could not delete it leaves behind.
func (b *Builder) Placeholder(name string, age time.Duration, tags ...string) *Builder {
	return b.Add(name, age, &manifest.Manifest{Kind: manifest.KindImage, Placeholder: true}, tags...)
}

// Sized gives the manifest of name its size and the blobs it names.
func (b *Builder) Sized(name string, size int64, blobs ...manifest.Blob) *Builder {
	m := b.Snap.Manifests[Digest(name)]
	m.Size, m.Blobs = size, blobs
	return b
}

// Sizes gives every manifest a size, and every image and attestation a
// config and a layer of its own, sized from its name; images share one
// base layer too. Then a plan has bytes to free, and a base layer a kept
// image still names is not among them.
func (b *Builder) Sizes() *Builder {
	key := func(s string) uint64 {
		sum := sha256.Sum256([]byte(s))
		return binary.BigEndian.Uint64(sum[:8])
	}
	for d, m := range b.Snap.Manifests {
		name := b.Names[d]
		m.Size = int64(400 + 10*len(name))
		switch m.Kind {
		case manifest.KindIndex:
		case manifest.KindImage:
			m.Blobs = []manifest.Blob{{Key: key("config " + name), Size: 1500}, {Key: 1, Size: 28 << 20}, {Key: key("layer " + name), Size: int64(len(name)) << 20}}
		default:
			m.Blobs = []manifest.Blob{{Key: key("config " + name), Size: 250}, {Key: key("layer " + name), Size: int64(len(name)) << 10}}
		}
	}
	return b
}

// Policy is a policy with no rule but what mod sets.
func Policy(mod func(*retention.Policy)) retention.Policy {
	p := retention.Policy{KeepNTagged: -1, KeepNUntagged: -1}
	if mod != nil {
		mod(&p)
	}
	return p
}

// Patterns parses wildcard patterns, failing the test on error.
func Patterns(t testing.TB, s string) retention.Patterns {
	t.Helper()
	p, err := retention.ParsePatterns(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Deleted returns the plan's deletions under p as names, in order, after
// checking the plan's invariants.
func (b *Builder) Deleted(t testing.TB, p retention.Policy) []string {
	t.Helper()
	plan, err := retention.Compute(b.Snap, p, Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range plan.Delete {
		out = append(out, b.Names[d.Digest])
	}
	return out
}

// Decisions plans under p, checks the plan's invariants, and says by name
// what becomes of each version and why: "keep: tag prod".
func (b *Builder) Decisions(t testing.TB, p retention.Policy) map[string]string {
	t.Helper()
	plan, err := retention.Compute(b.Snap, p, Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(p); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range append(append(plan.Delete, plan.Keep...), plan.Deferred...) {
		out[b.Names[d.Digest]] = d.Action.String() + ": " + d.Reason
	}
	return out
}
