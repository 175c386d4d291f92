package ghcr_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestManifest(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "app")
	img := must[string](t)(p.Image("v1"))
	idx, children, err := p.MultiArch("multi", []string{"linux/amd64", "linux/arm64/v8"}, true)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := connect(t, srv, "alice")
	srv.ResetStats()
	for _, d := range append([]string{img, idx}, children...) {
		m, err := c.Manifest(bg, "app", d)
		if err != nil {
			t.Fatalf("Manifest(%s): %v", d, err)
		}
		if sha(m) != d {
			t.Errorf("Manifest(%s) hashes to %s", d, sha(m))
		}
	}
	var im struct {
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(must[[]byte](t)(c.Manifest(bg, "app", idx)), &im); err != nil || len(im.Manifests) != 4 {
		t.Errorf("index has %d children (%v), want 4", len(im.Manifests), err)
	}
	n := len(children) + 3
	if s := c.Stats(); s.ManifestGets != n {
		t.Errorf("client ManifestGets = %d, want %d", s.ManifestGets, n)
	}
	st := srv.Stats()
	if st.ManifestGets != n || st.BlobRequests != 0 {
		t.Errorf("fake saw %d manifest GETs and %d blob requests, want %d and 0", st.ManifestGets, st.BlobRequests, n)
	}
	// The registry token is exchanged once, not per manifest.
	if st.TokenRequests != 1 {
		t.Errorf("%d token requests, want 1", st.TokenRequests)
	}
	_, err = c.Manifest(bg, "app", "sha256:"+strings.Repeat("0", 64))
	if err == nil {
		t.Error("Manifest of an unknown digest succeeded")
	}
	if _, err := c.Manifest(bg, "app", "not-a-digest"); err == nil {
		t.Error("Manifest of a malformed digest succeeded")
	}
}
