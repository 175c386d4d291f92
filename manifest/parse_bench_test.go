package manifest_test

import (
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// BenchmarkParseBuildx parses the five manifests of one buildx image (an
// index, two platform images, two attestations): a warm run of 100,000
// versions parses 20,000 of these from its cache.
func BenchmarkParseBuildx(b *testing.B) {
	img := fakeghcr.Buildx(7, 100, "https://github.com/o/app", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	all := append([]fakeghcr.RawManifest{img.Index}, img.Children...)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range all {
			if _, err := manifest.Parse(m.Digest, m.Raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}
