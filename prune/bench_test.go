package prune

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/mcache"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// benchSource is an in-memory package served the way the GHCR client
// serves one: a fresh listing slice, and each manifest as a fresh byte slice,
// as a network read allocates it. The manifests are rendered again on every
// read rather than stored, so that the fixture (a few MiB of versions) does
// not inflate the heap the garbage collector paces against, and what the
// benchmark measures is ghcr-prune's memory, not the test's.
type benchSource struct {
	versions []retention.Version
	sizes    []int // by version index
	index    map[string]int
}

func (s *benchSource) Versions(context.Context, string) ([]retention.Version, error) {
	out := make([]retention.Version, len(s.versions))
	copy(out, s.versions)
	return out, nil
}

func (s *benchSource) Manifest(_ context.Context, _, digest string) ([]byte, error) {
	k, ok := s.index[digest]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrGone, digest)
	}
	return s.render(k), nil
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

// newBenchSource builds images buildx multi-arch images (5 versions each:
// amd64 image, its attestation, arm64 image, its attestation, then the
// index), image i pushed i hours before benchNow, every one tagged
// sha-<commit>, every 20th also with a release tag. Manifests are real JSON
// of 0.5-1.5 KB under their real sha256 digests.
func newBenchSource(images int) *benchSource {
	n := images * 5
	s := &benchSource{versions: make([]retention.Version, 0, n), sizes: make([]int, 0, n), index: make(map[string]int, n)}
	for k := range n {
		raw := s.render(k)
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(raw))
		i := k / 5
		at := benchNow.Add(-time.Duration(i) * time.Hour)
		var tags []string
		if k%5 == 4 {
			tags = []string{"sha-" + benchCommit(i)[:7]}
			if i%20 == 0 {
				tags = append(tags, fmt.Sprintf("v1.%d.0", (images-i)/20))
			}
			if i == 0 {
				tags = append(tags, "latest")
			}
		}
		s.index[d] = k
		s.sizes = append(s.sizes, len(raw))
		s.versions = append(s.versions, retention.Version{ID: int64(1_000_000 + k), Digest: d, Tags: tags, CreatedAt: retention.TimeOf(at), UpdatedAt: retention.TimeOf(at)})
	}
	return s
}

func benchCommit(i int) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i)))) }

// render is the manifest of version k; an index needs its children (the
// four versions before it) listed already.
func (s *benchSource) render(k int) []byte {
	i, role := k/5, k%5
	arch := []string{"amd64", "amd64", "arm64", "arm64"}[min(role, 3)]
	at := benchNow.Add(-time.Duration(i) * time.Hour)
	ann := map[string]string{
		"org.opencontainers.image.created":  at.Format(time.RFC3339),
		"org.opencontainers.image.revision": benchCommit(i)[:40],
		"org.opencontainers.image.source":   "https://github.com/acme/app",
	}
	var doc benchDoc
	switch role {
	case 0, 2: // platform image
		layers := make([]benchDesc, 4)
		for l := range layers {
			layers[l] = benchDesc{MediaType: benchOCILayer, Digest: benchBlob("layer", i, arch, l), Size: int64(1000003 * (l + 1))}
		}
		doc = benchDoc{SchemaVersion: 2, MediaType: benchOCIManifest,
			Config: &benchDesc{MediaType: benchOCIConfig, Digest: benchBlob("config", i, arch), Size: 2345},
			Layers: layers, Annotations: ann}
	case 1, 3: // BuildKit provenance attestation
		doc = benchDoc{SchemaVersion: 2, MediaType: benchOCIManifest,
			Config: &benchDesc{MediaType: benchOCIConfig, Digest: benchBlob("att-config", i, arch), Size: 241},
			Layers: []benchDesc{{
				MediaType: "application/vnd.in-toto+json", Digest: benchBlob("provenance", i, arch), Size: 4321,
				Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
			}}}
	case 4: // index
		base := k - 4
		child := func(c int) benchDesc {
			return benchDesc{MediaType: benchOCIManifest, Digest: s.versions[base+c].Digest, Size: int64(s.sizes[base+c])}
		}
		doc = benchDoc{SchemaVersion: 2, MediaType: benchOCIIndex, Annotations: ann}
		for _, c := range []int{0, 2} {
			d := child(c)
			d.Platform = map[string]string{"architecture": []string{"amd64", "", "arm64"}[c], "os": "linux"}
			doc.Manifests = append(doc.Manifests, d)
		}
		for _, c := range []int{1, 3} {
			d := child(c)
			d.Platform = map[string]string{"architecture": "unknown", "os": "unknown"}
			d.Annotations = map[string]string{"vnd.docker.reference.digest": s.versions[base+c-1].Digest, "vnd.docker.reference.type": "attestation-manifest"}
			doc.Manifests = append(doc.Manifests, d)
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return raw
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

// cachedBenchSource is benchSource behind the cross-run manifest cache, as
// the action runs it (main.go's cachedClient): every raw manifest read stays
// in memory until the cache is saved.
type cachedBenchSource struct {
	*benchSource
	fetch mcache.FetchFunc
}

func (s cachedBenchSource) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	return s.fetch(ctx, pkg, digest)
}

// BenchmarkLoadAndPlan100k measures the planner's heap: 100,000 versions
// (20,000 multi-arch images) loaded, planned, checked and rendered (job
// summary and plan file) in under 200 MiB. peak-MiB is the most heap in use
// (HeapInuse, sampled every 10ms) during the run beyond what was in use
// before it (the fixture, fixture-MiB); live-MiB is what is still in use
// after a GC at the end, with the snapshot, plan and rendered outputs
// referenced. "core" is retention alone; "with-manifest-cache" adds the
// action's cross-run manifest cache (an empty one, as on a cold run), which
// holds every raw manifest until it is saved.
func BenchmarkLoadAndPlan100k(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 100,000-version package")
	}
	before := heapInuseAfterGC()
	src := newBenchSource(20_000)
	if len(src.versions) != 100_000 {
		b.Fatalf("%d versions", len(src.versions))
	}
	fixture := heapInuseAfterGC() - before
	tagPatterns, err := retention.ParsePatterns("sha-*", false)
	if err != nil {
		b.Fatal(err)
	}
	policy := retention.Policy{DeleteTags: tagPatterns, DeleteUntagged: true, KeepNTagged: 50, KeepNUntagged: -1, OlderThan: 30 * 24 * time.Hour}
	// The binary runs with a soft memory limit (main.go's memoryLimit);
	// measure with the same, counted on top of the fixture.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(160<<20 + fixture)))
	b.Run("core", func(b *testing.B) { benchLoadAndPlan(b, src, fixture, policy, false) })
	b.Run("with-manifest-cache", func(b *testing.B) { benchLoadAndPlan(b, src, fixture, policy, true) })
}

func benchLoadAndPlan(b *testing.B, src *benchSource, fixture uint64, policy retention.Policy, withCache bool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		baseline := heapInuseAfterGC()
		h := sampleHeap()
		b.StartTimer()

		var (
			read  Source = src
			cache *mcache.Cache
		)
		if withCache {
			cache = mcache.New(nil)
			read = cachedBenchSource{src, mcache.Wrap(src.Manifest, cache)}
		}
		snap, err := Load(ctx, read, "app")
		if err != nil {
			b.Fatal(err)
		}
		plan, err := retention.Compute(snap, policy, benchNow)
		if err != nil {
			b.Fatal(err)
		}
		if err := plan.Check(policy); err != nil {
			b.Fatal(err)
		}
		saved := 0
		if withCache {
			for range cache.Used() { // what saveCache streams to the store
				saved++
			}
		}
		report := &Report{DryRun: true, Time: benchNow, Owner: "acme", Packages: []PackageReport{{Package: "app", Versions: len(snap.Versions), Plan: plan}}}
		summary := report.Markdown()
		// The action streams the plan file to disk; count what it writes.
		var file countingWriter
		if err := report.WriteJSON(&file); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		peak := h.Stop()
		live := heapInuseAfterGC()
		runtime.KeepAlive(snap)
		runtime.KeepAlive(report)
		runtime.KeepAlive(cache)
		if cache != nil {
			cache.Close()
		}
		if len(plan.Delete)+len(plan.Keep) != len(src.versions) {
			b.Fatalf("plan covers %d+%d versions of %d", len(plan.Delete), len(plan.Keep), len(src.versions))
		}
		if withCache && saved != len(src.versions) {
			b.Fatalf("cache holds %d manifests, want %d", saved, len(src.versions))
		}
		b.ReportMetric(float64(peak-min(peak, baseline))/mib, "peak-MiB")
		b.ReportMetric(float64(live-min(live, baseline))/mib, "live-MiB")
		b.ReportMetric(float64(fixture)/mib, "fixture-MiB")
		b.ReportMetric(float64(file)/mib, "planfile-MiB")
		b.Logf("delete %d, keep %d, untag %d; summary %d KiB, plan file %d KiB", len(plan.Delete), len(plan.Keep), len(plan.Untag), len(summary)/1024, int(file)/1024)
		b.StartTimer()
	}
}

// countingWriter counts bytes and keeps none.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
