package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// The benchmark's scenario: 2,000 buildx multi-arch images (an
// index, two platform images and two attestation manifests each) =
// 10,000 versions, served by the fake with 20 ms per request.
const (
	benchLatency = 20 * time.Millisecond
	benchImages  = 2000
	benchOwner   = "bench-org"
	benchPkg     = "app"

	// benchListConcurrency mirrors internal/ghcr's unexported
	// listConcurrency: after the first page, the rest of the listing is read
	// 4 pages at once.
	benchListConcurrency = 4
	// benchPerPage mirrors internal/ghcr's perPage: versions per listing page.
	benchPerPage = 100
)

// benchInputs is a realistic scheduled cleanup, as a dry run: every image
// carries a sha-<commit> tag, every 20th a release tag too; sha-* images
// older than 30 days beyond the 50 newest go, release tags stay.
var benchInputs = map[string]string{
	"dry-run":         "true",
	"delete-tags":     "sha-*",
	"delete-untagged": "true",
	"keep-n-tagged":   "50",
	"older-than":      "30d",
}

// benchFake is seeded once per process: seeding is setup, not what is measured.
var benchFake struct {
	once     sync.Once
	srv      *fakeghcr.Server
	versions int
	err      error
}

func benchServer(b *testing.B) (*fakeghcr.Server, int) {
	b.Helper()
	benchFake.once.Do(func() {
		start := time.Now()
		srv := fakeghcr.Start(
			fakeghcr.WithToken(testToken),
			fakeghcr.WithClock(func() time.Time { return testNow }),
			fakeghcr.WithLatency(benchLatency),
			// A budget the runs never approach, so that the rate-budget
			// limit (retention.BudgetLimit) never shrinks the plan and
			// repeated runs (-count) see the same plan.
			fakeghcr.WithPrimaryBudget(1_000_000),
		)
		srv.AddOrg(benchOwner)
		n, err := seedMultiArch(srv, benchImages)
		if err != nil {
			srv.Close()
			benchFake.err = err
			return
		}
		benchFake.srv, benchFake.versions = srv, n
		b.Logf("seeded %d versions in %v", n, time.Since(start).Round(time.Millisecond))
	})
	if benchFake.err != nil {
		b.Fatal(benchFake.err)
	}
	return benchFake.srv, benchFake.versions
}

// seedMultiArch pushes n buildx-style multi-arch images into
// benchOwner/benchPkg by PUTting their manifests directly: the fake checks
// that an index's children exist, but never an image's config or layers, so
// no blob is uploaded (fakeghcr's Pusher.MultiArch would upload ~10 blobs an
// image). Image i is i*12h old; children are as old as their index.
func seedMultiArch(srv *fakeghcr.Server, n int) (int, error) {
	put := func(ref string, m benchManifest) error {
		_, status, err := srv.PutManifest(benchOwner, benchPkg, ref, m.mediaType, m.raw)
		if err == nil && status != http.StatusCreated {
			err = fmt.Errorf("PUT manifest %s: HTTP %d", ref, status)
		}
		return err
	}

	type pushed struct {
		digests []string
		age     time.Duration
		err     error
	}
	results := make([]pushed, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			img := buildxImage(i)
			var ds []string
			for _, c := range img.children {
				if err := put(c.digest, c); err != nil {
					results[i].err = err
					return
				}
				ds = append(ds, c.digest)
			}
			for _, tag := range img.tags {
				if err := put(tag, img.index); err != nil {
					results[i].err = err
					return
				}
			}
			results[i] = pushed{digests: append(ds, img.index.digest), age: time.Duration(i) * 12 * time.Hour}
		}()
	}
	wg.Wait()
	total := 0
	for _, r := range results {
		if r.err != nil {
			return 0, r.err
		}
		for _, d := range r.digests {
			srv.SetUpdated(benchOwner, benchPkg, d, testNow.Add(-r.age))
			total++
		}
	}
	if got := len(srv.Versions(benchOwner, benchPkg)); got != total {
		return 0, fmt.Errorf("seeded %d manifests but the package has %d versions", total, got)
	}
	return total, nil
}

// benchManifest is a manifest PUT as bytes.
type benchManifest struct {
	digest    string
	raw       []byte
	mediaType string
}

type benchImage struct {
	index    benchManifest
	children []benchManifest // amd64, arm64, then their attestations
	tags     []string
}

const (
	ociConfigType = "application/vnd.oci.image.config.v1+json"
	ociLayerType  = "application/vnd.oci.image.layer.v1.tar+gzip"
)

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

func blobDigest(parts ...any) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprint(parts...))))
}

func manifestOf(doc benchDoc) benchManifest {
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return benchManifest{digest: digestOf(raw), raw: raw, mediaType: doc.MediaType}
}

// buildxImage is what `docker buildx build --platform linux/amd64,linux/arm64
// --provenance=true --push` produces for commit i, about 0.5-1.5 KB a
// manifest.
func buildxImage(i int) benchImage {
	commit := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i))))
	created := testNow.Add(-time.Duration(i) * 12 * time.Hour).Format(time.RFC3339)
	ann := map[string]string{
		"org.opencontainers.image.created":  created,
		"org.opencontainers.image.revision": commit[:40],
		"org.opencontainers.image.source":   "https://github.com/" + benchOwner + "/" + benchPkg,
	}
	var img benchImage
	var platforms, attests []benchDesc
	var attManifests []benchManifest
	for _, arch := range []string{"amd64", "arm64"} {
		layers := make([]benchDesc, 4)
		for l := range layers {
			layers[l] = benchDesc{MediaType: ociLayerType, Digest: blobDigest("layer", i, arch, l), Size: int64(1000003 * (l + 1))}
		}
		plat := manifestOf(benchDoc{
			SchemaVersion: 2, MediaType: ociManifestType,
			Config: &benchDesc{MediaType: ociConfigType, Digest: blobDigest("config", i, arch), Size: 2345},
			Layers: layers, Annotations: ann,
		})
		att := manifestOf(benchDoc{
			SchemaVersion: 2, MediaType: ociManifestType,
			Config: &benchDesc{MediaType: ociConfigType, Digest: blobDigest("att-config", i, arch), Size: 241},
			Layers: []benchDesc{{
				MediaType: "application/vnd.in-toto+json", Digest: blobDigest("provenance", i, arch), Size: 4321,
				Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
			}},
		})
		img.children = append(img.children, plat)
		attests = append(attests, benchDesc{
			MediaType: ociManifestType, Digest: att.digest, Size: int64(len(att.raw)),
			Platform:    map[string]string{"architecture": "unknown", "os": "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.digest": plat.digest, "vnd.docker.reference.type": "attestation-manifest"},
		})
		platforms = append(platforms, benchDesc{
			MediaType: ociManifestType, Digest: plat.digest, Size: int64(len(plat.raw)),
			Platform: map[string]string{"architecture": arch, "os": "linux"},
		})
		attManifests = append(attManifests, att)
	}
	img.children = append(img.children, attManifests...)
	img.index = manifestOf(benchDoc{SchemaVersion: 2, MediaType: ociIndexType, Manifests: append(platforms, attests...), Annotations: ann})
	img.tags = []string{"sha-" + commit[:7]}
	if i%20 == 0 {
		img.tags = append(img.tags, fmt.Sprintf("v1.%d.0", (benchImages-i)/20))
	}
	if i == 0 {
		img.tags = append(img.tags, "latest")
	}
	return img
}

// benchRun runs the action as a runner would, for a benchmark (e2e's run
// takes a *testing.T).
func benchRun(b *testing.B, srv *fakeghcr.Server, inputs map[string]string) *prune.Report {
	b.Helper()
	env := map[string]string{
		"GITHUB_REPOSITORY":       benchOwner + "/" + benchPkg,
		"GITHUB_REPOSITORY_OWNER": benchOwner,
		"GITHUB_API_URL":          srv.URL(),
		"INPUT_TOKEN":             testToken,
		"INPUT_OWNER":             benchOwner,
		"INPUT_PACKAGES":          benchPkg,
		"INPUT_REGISTRY-URL":      srv.URL(),
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	var log bytes.Buffer
	r, err := action.AsRunner(context.Background(), b.TempDir(), env, &log, testSetup)
	if err != nil {
		b.Fatalf("run: %v\n%s", err, tail(log.String(), 2000))
	}
	return r.Report
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// planMeasure is one run's wall time and the requests the fake saw.
type planMeasure struct {
	wall       time.Duration
	rest       int // REST requests, all methods
	restGets   int
	manifests  int // manifest GETs
	registry   int // every registry request: manifests, pings, token exchanges
	deletes    int
	planned    int
	kept       int
	untags     int
	versions   int
	cacheFiles int
}

func measureRun(b *testing.B, srv *fakeghcr.Server, inputs map[string]string, cacheDir string) planMeasure {
	b.Helper()
	srv.ResetStats()
	start := time.Now()
	report := benchRun(b, srv, inputs)
	wall := time.Since(start)
	st := srv.Stats()
	m := planMeasure{wall: wall, manifests: st.ManifestGets, restGets: st.REST[http.MethodGet], deletes: st.REST[http.MethodDelete]}
	for _, n := range st.REST {
		m.rest += n
	}
	m.registry = st.Total - m.rest
	if len(report.Packages) != 1 || report.Packages[0].Plan == nil {
		b.Fatalf("no plan: %+v", report.Packages)
	}
	p := report.Packages[0]
	m.versions, m.planned, m.kept, m.untags = p.Versions, len(p.Plan.Delete), len(p.Plan.Keep), len(p.Plan.Untag)
	ents, _ := os.ReadDir(filepath.Join(cacheDir, "sha256"))
	m.cacheFiles = len(ents)
	return m
}

// coldBound is the least wall time the cold run's requests allow at the
// configured concurrency: the first listing page alone (it names the last
// page), the other pages benchListConcurrency at a time, then the manifests
// prune.ManifestConcurrency at a time. (The owner lookup, the package
// check and the registry token exchange add a few more serial round trips,
// which the bound leaves out.)
func coldBound(versions, manifestGets int) (time.Duration, int) {
	pages := (versions + benchPerPage - 1) / benchPerPage
	listRounds := 1 + (pages-1+benchListConcurrency-1)/benchListConcurrency
	manifestRounds := (manifestGets + prune.ManifestConcurrency - 1) / prune.ManifestConcurrency
	return benchLatency * time.Duration(listRounds+manifestRounds), pages
}

// BenchmarkPlanColdWarm plans a 10,000-version package twice with the same
// cache-dir: cold (empty cache), then warm. Targets: cold within
// 1.25x of the bound its requests imply; warm makes no manifest GET and only
// the listing's requests. Timings are reported, never asserted.
func BenchmarkPlanColdWarm(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 10,000 versions and runs ~20s against a fake with 20ms latency")
	}
	srv, versions := benchServer(b)
	benchColdWarm(b, srv, versions)
}

func benchColdWarm(b *testing.B, srv *fakeghcr.Server, versions int) {
	b.ResetTimer()
	for range b.N {
		cacheDir := filepath.Join(b.TempDir(), "cache")
		inputs := map[string]string{"cache-dir": cacheDir}
		for k, v := range benchInputs {
			inputs[k] = v
		}

		cold := measureRun(b, srv, inputs, cacheDir)
		warm := measureRun(b, srv, inputs, cacheDir)

		bound, pages := coldBound(cold.versions, cold.manifests)
		// Deterministic request counts may be asserted; timings are not.
		if cold.versions != versions {
			b.Fatalf("cold run saw %d versions, want %d", cold.versions, versions)
		}
		if cold.manifests != versions {
			b.Errorf("cold run made %d manifest GETs, want one per version (%d)", cold.manifests, versions)
		}
		if cold.cacheFiles != versions {
			b.Errorf("cold run left %d manifests in cache-dir, want %d", cold.cacheFiles, versions)
		}
		if warm.manifests != 0 {
			b.Errorf("warm run made %d manifest GETs, want 0", warm.manifests)
		}
		// The only REST requests of a warm dry run: the owner lookup, the
		// package check and the listing pages.
		if warm.rest != pages+2 || warm.restGets != warm.rest {
			b.Errorf("warm run made %d REST requests (%d GETs), want %d listing pages + 2", warm.rest, warm.restGets, pages)
		}
		if warm.registry != 0 {
			b.Errorf("warm run made %d registry requests, want 0", warm.registry)
		}
		if cold.deletes+warm.deletes != 0 {
			b.Errorf("a dry run sent %d DELETEs", cold.deletes+warm.deletes)
		}
		if warm.planned != cold.planned || warm.kept != cold.kept || warm.untags != cold.untags {
			b.Errorf("warm plan (%d delete, %d keep, %d untag) differs from cold (%d, %d, %d)", warm.planned, warm.kept, warm.untags, cold.planned, cold.kept, cold.untags)
		}

		b.ReportMetric(cold.wall.Seconds(), "cold-s")
		b.ReportMetric(bound.Seconds(), "cold-bound-s")
		b.ReportMetric(cold.wall.Seconds()/bound.Seconds(), "cold/bound")
		b.ReportMetric(float64(cold.rest), "cold-REST-reqs")
		b.ReportMetric(float64(cold.manifests), "cold-manifest-GETs")
		b.ReportMetric(float64(cold.registry), "cold-registry-reqs")
		b.ReportMetric(warm.wall.Seconds(), "warm-s")
		b.ReportMetric(float64(warm.rest), "warm-REST-reqs")
		b.ReportMetric(float64(warm.manifests), "warm-manifest-GETs")
		b.ReportMetric(float64(pages), "list-pages")
		b.ReportMetric(float64(cold.planned), "planned-deletions")
		b.Logf("versions %d, %d listing pages; plan: delete %d, keep %d, untag %d", cold.versions, pages, cold.planned, cold.kept, cold.untags)
		b.Logf("cold: %v (bound %v, ratio %.3f), %d REST, %d manifest GETs, %d registry requests in all",
			cold.wall.Round(time.Millisecond), bound, cold.wall.Seconds()/bound.Seconds(), cold.rest, cold.manifests, cold.registry)
		b.Logf("warm: %v, %d REST, %d manifest GETs, %d registry requests in all", warm.wall.Round(time.Millisecond), warm.rest, warm.manifests, warm.registry)
	}
}
