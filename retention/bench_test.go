package retention_test

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

// buildxPackage is images buildx multi-arch images (an index, two platform
// images and their two attestations each), image i pushed i hours ago and
// tagged sha-<commit>, every 20th also with a release tag, plus a cosign
// signature of the newest: the shape prune's BenchmarkLoadAndPlan100k
// loads, without the manifests' JSON.
func buildxPackage(images int) retention.Snapshot {
	b := retentiontest.New()
	for i := range images {
		commit := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i))))
		tags := []string{"sha-" + commit[:7]}
		if i%20 == 0 {
			tags = append(tags, fmt.Sprintf("v1.%d.0", (images-i)/20))
		}
		if i == 0 {
			tags = append(tags, "latest")
		}
		age := time.Duration(i) * time.Hour
		b.MultiArch("img"+strconv.Itoa(i), age, age, tags...)
	}
	b.Sig("img0.sig", 0, "img0")
	return b.Sizes().Snap
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkCompute100k plans 100,001 versions under the policy of prune's
// benchmark. live-MiB is the heap the plan holds (its graph included) after
// a garbage collection, beyond the snapshot it was planned from.
func BenchmarkCompute100k(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 100,001-version package")
	}
	snap := buildxPackage(20_000)
	tagPatterns, err := retention.ParsePatterns("sha-*", false)
	if err != nil {
		b.Fatal(err)
	}
	policy := retention.Policy{DeleteTags: tagPatterns, DeleteUntagged: true, KeepNTagged: 50, KeepNUntagged: -1, OlderThan: 30 * retentiontest.Day}
	b.ReportAllocs()
	var live uint64
	for b.Loop() {
		b.StopTimer()
		before := liveHeap()
		b.StartTimer()
		plan, err := retention.Compute(snap, policy, retentiontest.Now)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		after := liveHeap()
		live = after - min(before, after)
		if len(plan.Delete)+len(plan.Keep) != len(snap.Versions) {
			b.Fatalf("plan covers %d+%d versions of %d", len(plan.Delete), len(plan.Keep), len(snap.Versions))
		}
		runtime.KeepAlive(plan)
		b.StartTimer()
	}
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
}
