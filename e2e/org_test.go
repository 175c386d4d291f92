package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// orgPackages seeds an organization of n packages of two buildx images
// each and returns their names, sorted.
func orgPackages(t *testing.T, e *e2e, n int) []string {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%02d", i)
		if _, err := e.srv.SeedBuildx(e.owner, names[i], 2, testNow.Add(-30*day), day); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// restGets is the REST GETs the fake answered since its counters were reset.
func (e *e2e) restGets() int { return e.srv.Stats().REST["GET"] }

func TestOrgWarmDryRunListsOnlyWhatChanged(t *testing.T) {
	e := newE2E(t, "acme", "svc-00", true)
	names := orgPackages(t, e, 30)
	cache := t.TempDir()
	in := inputsOf("packages", "*", "cache-dir", cache, "delete-untagged", "true", "older-than", "1d", "min-age", "0s")

	e.srv.ResetStats()
	cold := e.run(in)
	e.ok(cold)
	if got := len(cold.report.Packages); got != len(names) {
		t.Fatalf("cold run planned %d packages, want %d", got, len(names))
	}
	for i, p := range cold.report.Packages {
		if p.Package != names[i] {
			t.Fatalf("package %d is %s, want %s: the report keeps the resolved order", i, p.Package, names[i])
		}
	}
	var listed []string
	if err := json.Unmarshal([]byte(cold.outputs["packages-json"]), &listed); err != nil || !slices.Equal(listed, names) {
		t.Fatalf("packages-json = %q (%v), want the %d names", cold.outputs["packages-json"], err, len(names))
	}
	coldGets := e.restGets()

	e.srv.ResetStats()
	warm := e.run(in)
	e.ok(warm)
	st := e.srv.Stats()
	if gets := st.REST["GET"]; gets > 10 {
		t.Errorf("warm dry run over %d unchanged packages made %d REST GETs (cold %d), want at most 10", len(names), gets, coldGets)
	}
	if st.ManifestGets != 0 {
		t.Errorf("warm dry run fetched %d manifests, want none", st.ManifestGets)
	}
	if warm.outputs["planned-count"] != cold.outputs["planned-count"] || warm.outputs["kept-count"] != cold.outputs["kept-count"] {
		t.Errorf("warm plan %s/%s differs from cold %s/%s", warm.outputs["planned-count"], warm.outputs["kept-count"], cold.outputs["planned-count"], cold.outputs["kept-count"])
	}
	warmGets := st.REST["GET"]

	// A push to three packages: exactly those are listed again, and their
	// plans show the push.
	pushed := []string{names[3], names[11], names[27]}
	for _, pkg := range pushed {
		if _, err := e.srv.Pusher(e.owner, pkg).Image(""); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.ResetStats()
	after := e.run(in)
	e.ok(after)
	if gets := e.restGets(); gets != warmGets+len(pushed) {
		t.Errorf("after pushes to %d packages: %d REST GETs, want %d (the warm run's %d and one listing page each)", len(pushed), gets, warmGets+len(pushed), warmGets)
	}
	for _, p := range after.report.Packages {
		want := 0
		for _, c := range cold.report.Packages {
			if c.Package == p.Package {
				want = c.Versions
			}
		}
		if slices.Contains(pushed, p.Package) {
			want++
		}
		if p.Versions != want {
			t.Errorf("%s: planned over %d versions, want %d", p.Package, p.Versions, want)
		}
	}
	if !strings.Contains(after.log, "unchanged since an earlier run listed it") {
		t.Errorf("the log does not say which packages were planned from a kept listing")
	}
}

func TestOrgListPackagesResolvesOnly(t *testing.T) {
	e := newE2E(t, "acme", "svc-00", true)
	names := orgPackages(t, e, 3)
	e.srv.ResetStats()
	r := e.run(inputsOf("packages", "svc-0*, svc-01", "list-packages", "true", "dry-run", "false"))
	e.ok(r)
	var listed []string
	if err := json.Unmarshal([]byte(r.outputs["packages-json"]), &listed); err != nil || !slices.Equal(listed, names) {
		t.Errorf("packages-json = %q (%v), want %v", r.outputs["packages-json"], err, names)
	}
	st := e.srv.Stats()
	if st.ManifestGets != 0 || st.REST["DELETE"] != 0 || st.REST["GET"] > 3 {
		t.Errorf("list-packages made %d REST GETs, %d DELETEs and %d manifest GETs; want the owner and its package listing only", st.REST["GET"], st.REST["DELETE"], st.ManifestGets)
	}
	if _, ok := r.outputs["plan-path"]; ok {
		t.Errorf("list-packages wrote a plan file")
	}
	expectSummary(t, r, "3 packages of `acme`", "`svc-01`")
}
