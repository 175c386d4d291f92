package retention_test

import (
	"slices"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestLimitKeepsWholeImagesOldestFirst(t *testing.T) {
	b := retentiontest.New().MultiArch("old", 30*retentiontest.Day, 30*retentiontest.Day).MultiArch("mid", 20*retentiontest.Day, 20*retentiontest.Day).MultiArch("new", 10*retentiontest.Day, 10*retentiontest.Day).
		Image("shared", 30*retentiontest.Day).Index("a", 30*retentiontest.Day, []string{"shared"}).Index("z", 5*retentiontest.Day, []string{"shared"})
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	limited := plan.Limit(11, "max-deletions 11")
	if err := limited.Check(p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range limited.Delete {
		got = append(got, b.Names[d.Digest])
	}
	// "old" (5) and "a" (1: "shared" is also z's) fit; "mid" (5) would
	// make 11 — it fits exactly; "shared" waits for "z", the youngest.
	want := []string{"old", "old/amd64", "old/arm64", "attest:old/amd64", "attest:old/arm64", "a",
		"mid", "mid/amd64", "mid/arm64", "attest:mid/amd64", "attest:mid/arm64"}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("limited to %v, want %v", got, want)
	}
	if len(limited.Deferred) != len(plan.Delete)-len(want) {
		t.Errorf("%d deferred, want %d", len(limited.Deferred), len(plan.Delete)-len(want))
	}
}

// A version no image reaches can hang from one that is deferred: it waits
// too, and the limited plan still passes Check.
func TestLimitDefersWhatADeferredVersionPointsAt(t *testing.T) {
	b := retentiontest.New().Image("c", 9*retentiontest.Day).Image("x", 9*retentiontest.Day).Index("a", 9*retentiontest.Day, []string{"x"})
	// p lists c and x and names c as its subject: no image reaches it.
	b.Add("p", 9*retentiontest.Day, &manifest.Manifest{Kind: manifest.KindIndex, Subject: retentiontest.Digest("c"), Children: []manifest.Descriptor{{Digest: retentiontest.Digest("c")}, {Digest: retentiontest.Digest("x")}}})
	pol := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, pol, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(plan.Delete) {
		if err := plan.Limit(n, "test").Check(pol); err != nil {
			t.Errorf("Limit(%d): %v", n, err)
		}
	}
}

// The same, with an attestation of x: a deferred x keeps it.
func TestLimitDefersTheReferrersOfWhatItDefers(t *testing.T) {
	b := retentiontest.New().Image("c", 9*retentiontest.Day).Image("x", 9*retentiontest.Day).Index("a", 9*retentiontest.Day, []string{"x"})
	b.Add("p", 9*retentiontest.Day, &manifest.Manifest{Kind: manifest.KindIndex, Subject: retentiontest.Digest("c"), Children: []manifest.Descriptor{{Digest: retentiontest.Digest("c")}, {Digest: retentiontest.Digest("x")}}})
	b.Referrer("r", 9*retentiontest.Day, "x", manifest.KindAttestation)
	pol := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, pol, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(plan.Delete) {
		if err := plan.Limit(n, "test").Check(pol); err != nil {
			t.Errorf("Limit(%d): %v", n, err)
		}
	}
}
