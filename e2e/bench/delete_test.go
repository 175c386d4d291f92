package main

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

func TestParseFlagsDeleteRun(t *testing.T) {
	cfg, err := parseFlags([]string{"-runs", "cold,delete", "-delete-inputs", "delete-untagged=true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.runs, cfg.deleteInputs); got != "[cold delete] map[delete-untagged:true dry-run:false]" {
		t.Errorf("runs and delete inputs = %s", got)
	}
	if _, err := parseFlags([]string{"-runs", "purge"}); err == nil {
		t.Error("-runs purge was accepted")
	}
}

// The fake counts what a delete run reports: versions deleted with the
// times of the first and last, and the answers the secondary limit refused.
func TestFakeCountsDeletions(t *testing.T) {
	srv := fakeghcr.Start(fakeghcr.WithSecondaryLimit(2 * deletePoints))
	defer srv.Close()
	srv.AddOrg(owner)
	if _, err := srv.SeedBuildx(owner, "app", 1, time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	var untagged []int64
	for _, v := range srv.Versions(owner, "app") {
		if len(v.Tags) == 0 {
			untagged = append(untagged, v.ID)
		}
	}
	for _, id := range untagged[:3] {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/orgs/%s/packages/container/app/versions/%d", srv.URL(), owner, id), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	st := srv.Stats()
	if st.REST["DELETE"] != 3 || st.VersionsDeleted != 2 || st.SecondaryLimited != 1 || st.LastDelete.Before(st.FirstDelete) {
		t.Errorf("DELETEs %d, deleted %d from %v to %v, refused %d; want 3, 2 in order, 1",
			st.REST["DELETE"], st.VersionsDeleted, st.FirstDelete, st.LastDelete, st.SecondaryLimited)
	}
}

func TestDeletesPerMinute(t *testing.T) {
	start := time.Now()
	for _, c := range []struct {
		st   fakeghcr.Stats
		want float64
	}{
		{fakeghcr.Stats{VersionsDeleted: 181, FirstDelete: start, LastDelete: start.Add(time.Minute)}, 180},
		{fakeghcr.Stats{VersionsDeleted: 1, FirstDelete: start, LastDelete: start}, 0},
		{fakeghcr.Stats{}, 0},
	} {
		if got := c.st.DeletesPerMinute(); got != c.want {
			t.Errorf("%d deletions over %v: %v a minute, want %v", c.st.VersionsDeleted, c.st.LastDelete.Sub(c.st.FirstDelete), got, c.want)
		}
	}
}

func TestParseFlagsPeerRun(t *testing.T) {
	cfg, err := parseFlags([]string{"-runs", "cold,peer", "-peer", "node ./dist/index.js"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.runs, cfg.peer); got != "[cold peer] [node ./dist/index.js]" {
		t.Errorf("runs and peer = %s", got)
	}
	if _, err := parseFlags([]string{"-runs", "peer"}); err == nil {
		t.Error("a peer run without -peer was accepted")
	}
}

// A peer run starts the peer's command with the runner's environment, the
// API's URL under the input name the peer reads included. The peer is this
// test binary (see TestMain).
func TestMeasureRunsThePeer(t *testing.T) {
	srv := fakeghcr.Start()
	defer srv.Close()
	cfg, err := parseFlags([]string{"-inputs", "bench-test-peer=" + srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := measure(t.Context(), srv, []string{os.Args[0]}, t.TempDir(), "", cfg, ""); err != nil {
		t.Errorf("the peer did not get the runner's inputs: %v", err)
	}
}

// TestMain is also the peer of TestMeasureRunsThePeer: started with a
// runner's environment, it succeeds only when the inputs a peer reads are
// there.
func TestMain(m *testing.M) {
	if api := os.Getenv("INPUT_BENCH-TEST-PEER"); api != "" {
		if os.Getenv("INPUT_GITHUB-API-URL") != api || os.Getenv("INPUT_DRY-RUN") != "true" {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
