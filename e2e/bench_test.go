package e2e

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/mcache"
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
			// limit (prune.BudgetLimit) never shrinks the plan and
			// repeated runs (-count) see the same plan.
			fakeghcr.WithPrimaryBudget(1_000_000),
		)
		srv.AddOrg(benchOwner)
		n, err := srv.SeedBuildx(benchOwner, benchPkg, benchImages, testNow, 12*time.Hour)
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
	wall         time.Duration
	rest         int // REST requests, all methods
	restGets     int
	manifests    int // manifest GETs
	registry     int // every registry request: manifests, pings, token exchanges
	deletes      int
	planned      int
	kept         int
	untags       int
	versions     int
	cacheEntries int
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
	kept := mcache.New(nil)
	defer kept.Close()
	if err := mcache.Dir(cacheDir).Load(context.Background(), kept); err != nil {
		b.Fatalf("reading cache-dir: %v", err)
	}
	m.cacheEntries = kept.Len()
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
		if cold.cacheEntries != versions {
			b.Errorf("cold run left %d manifests in cache-dir, want %d", cold.cacheEntries, versions)
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
