package retention

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// benchSource is an in-memory package: versions and raw manifests, served
// the way the GHCR client serves them (a fresh listing slice, a fresh byte
// slice per manifest, as a network read would allocate).
type benchSource struct {
	versions []Version
	raw      map[string][]byte
}

func (s *benchSource) Versions(context.Context, string) ([]Version, error) {
	out := make([]Version, len(s.versions))
	copy(out, s.versions)
	return out, nil
}

func (s *benchSource) Manifest(_ context.Context, _, digest string) ([]byte, error) {
	raw, ok := s.raw[digest]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrGone, digest)
	}
	return bytes.Clone(raw), nil
}

var benchNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type benchDesc struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    map[string]string `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type benchDoc struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        *benchDesc        `json:"config,omitempty"`
	Layers        []benchDesc       `json:"layers,omitempty"`
	Manifests     []benchDesc       `json:"manifests,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

const (
	benchOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	benchOCIIndex    = "application/vnd.oci.image.index.v1+json"
	benchOCIConfig   = "application/vnd.oci.image.config.v1+json"
	benchOCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

func benchBlob(parts ...any) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprint(parts...))))
}

// newBenchSource builds images buildx multi-arch images (an index, two
// platform images, two attestation manifests: 5 versions each), image i
// pushed i hours before benchNow, every one tagged sha-<commit>, every 20th
// also with a release tag. Manifests are real JSON of 0.5-1.5 KB under their
// real sha256 digests.
func newBenchSource(images int) *benchSource {
	s := &benchSource{raw: make(map[string][]byte, images*5)}
	id := int64(1_000_000)
	add := func(doc benchDoc, at time.Time, tags []string) (string, int) {
		raw, err := json.Marshal(doc)
		if err != nil {
			panic(err)
		}
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(raw))
		s.raw[d] = raw
		id++
		s.versions = append(s.versions, Version{ID: id, Digest: d, Tags: tags, CreatedAt: at, UpdatedAt: at})
		return d, len(raw)
	}
	for i := range images {
		commit := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i))))
		at := benchNow.Add(-time.Duration(i) * time.Hour)
		ann := map[string]string{
			"org.opencontainers.image.created":  at.Format(time.RFC3339),
			"org.opencontainers.image.revision": commit[:40],
			"org.opencontainers.image.source":   "https://github.com/acme/app",
		}
		var platforms, attests []benchDesc
		for _, arch := range []string{"amd64", "arm64"} {
			layers := make([]benchDesc, 4)
			for l := range layers {
				layers[l] = benchDesc{MediaType: benchOCILayer, Digest: benchBlob("layer", i, arch, l), Size: int64(1000003 * (l + 1))}
			}
			pd, pn := add(benchDoc{
				SchemaVersion: 2, MediaType: benchOCIManifest,
				Config: &benchDesc{MediaType: benchOCIConfig, Digest: benchBlob("config", i, arch), Size: 2345},
				Layers: layers, Annotations: ann,
			}, at, nil)
			ad, an := add(benchDoc{
				SchemaVersion: 2, MediaType: benchOCIManifest,
				Config: &benchDesc{MediaType: benchOCIConfig, Digest: benchBlob("att-config", i, arch), Size: 241},
				Layers: []benchDesc{{
					MediaType: "application/vnd.in-toto+json", Digest: benchBlob("provenance", i, arch), Size: 4321,
					Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
				}},
			}, at, nil)
			platforms = append(platforms, benchDesc{MediaType: benchOCIManifest, Digest: pd, Size: int64(pn),
				Platform: map[string]string{"architecture": arch, "os": "linux"}})
			attests = append(attests, benchDesc{MediaType: benchOCIManifest, Digest: ad, Size: int64(an),
				Platform:    map[string]string{"architecture": "unknown", "os": "unknown"},
				Annotations: map[string]string{"vnd.docker.reference.digest": pd, "vnd.docker.reference.type": "attestation-manifest"}})
		}
		tags := []string{"sha-" + commit[:7]}
		if i%20 == 0 {
			tags = append(tags, fmt.Sprintf("v1.%d.0", (images-i)/20))
		}
		if i == 0 {
			tags = append(tags, "latest")
		}
		add(benchDoc{SchemaVersion: 2, MediaType: benchOCIIndex, Manifests: append(platforms, attests...), Annotations: ann}, at, tags)
	}
	return s
}

// heapSampler records the largest HeapInuse seen every 10ms.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}

func heapInuseAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

const mib = 1 << 20

// BenchmarkLoadAndPlan100k is issue 3's memory target: 100,000 versions
// (20,000 multi-arch images) loaded, planned, checked and rendered (job
// summary and plan file) in under 200 MiB. peak-MiB is the most heap in use
// during the run beyond the in-memory package itself (fixture-MiB), sampled
// every 10ms; live-MiB is what the snapshot, plan and rendered outputs hold
// after a GC at the end.
func BenchmarkLoadAndPlan100k(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 100,000-version package")
	}
	before := heapInuseAfterGC()
	src := newBenchSource(20_000)
	if len(src.versions) != 100_000 {
		b.Fatalf("%d versions", len(src.versions))
	}
	tagPatterns, err := ParsePatterns("sha-*", false)
	if err != nil {
		b.Fatal(err)
	}
	policy := Policy{DeleteTags: tagPatterns, DeleteUntagged: true, KeepNTagged: 50, KeepNUntagged: -1, OlderThan: 30 * 24 * time.Hour}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		baseline := heapInuseAfterGC()
		h := sampleHeap()
		b.StartTimer()

		snap, err := Load(ctx, src, "app")
		if err != nil {
			b.Fatal(err)
		}
		plan, err := Compute(snap, policy, benchNow)
		if err != nil {
			b.Fatal(err)
		}
		if err := plan.Check(policy); err != nil {
			b.Fatal(err)
		}
		report := &Report{DryRun: true, Time: benchNow, Owner: "acme", Packages: []PackageReport{{Package: "app", Versions: len(snap.Versions), Plan: plan}}}
		summary := report.Markdown()
		file, err := report.JSON()
		if err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		peak := h.Stop()
		live := heapInuseAfterGC()
		runtime.KeepAlive(snap)
		runtime.KeepAlive(report)
		if len(plan.Delete)+len(plan.Keep) != len(src.versions) {
			b.Fatalf("plan covers %d+%d versions of %d", len(plan.Delete), len(plan.Keep), len(src.versions))
		}
		b.ReportMetric(float64(peak-min(peak, baseline))/mib, "peak-MiB")
		b.ReportMetric(float64(live-min(live, baseline))/mib, "live-MiB")
		b.ReportMetric(float64(baseline-min(baseline, before))/mib, "fixture-MiB")
		b.ReportMetric(float64(len(file))/mib, "planfile-MiB")
		b.Logf("delete %d, keep %d, untag %d; summary %d KiB, plan file %d KiB", len(plan.Delete), len(plan.Keep), len(plan.Untag), len(summary)/1024, len(file)/1024)
		b.StartTimer()
	}
}
