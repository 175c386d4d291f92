package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

// GitHub's secondary limit on one REST endpoint, and what it makes of
// DELETEs: the most a minute that it never refuses.
const (
	secondaryPoints  = 900 // a minute
	deletePoints     = 5
	deleteCeiling    = secondaryPoints / deletePoints // DELETEs a minute
	deleteRunHeading = "| run | wall | REST | DELETEs | versions deleted | deletions a minute | of the %d ceiling | secondary-limit answers | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)

// measureDelete runs the binary with cfg.deleteInputs against a fake of
// its own, seeded as the dry runs' is and behind the secondary limit, so
// that every delete run starts from the same versions and the dry runs'
// fake keeps them all.
func measureDelete(ctx context.Context, bin, dir, cache string, cfg config, profiles string) (measurement, error) {
	srv := fakeghcr.Start(fakeghcr.WithToken(token), fakeghcr.WithLatency(cfg.latency), fakeghcr.WithPrimaryBudget(1_000_000),
		fakeghcr.WithSecondaryLimit(secondaryPoints))
	defer srv.Close()
	if _, err := seed(srv, cfg); err != nil {
		return measurement{}, fmt.Errorf("seeding: %w", err)
	}
	run := cfg
	run.inputs = cfg.deleteInputs
	return measure(ctx, srv, []string{bin}, dir, cache, run, profiles)
}

// printDeleteHeading introduces the table of delete runs; after another
// table it first leaves a blank line.
func printDeleteHeading(w io.Writer, cfg config, versions int, after bool) {
	if after {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d package(s), %d versions each run, %v a request, %d points a minute per endpoint at %d a DELETE; deleting with %s\n\n",
		cfg.packages, versions, cfg.latency, secondaryPoints, deletePoints, joinInputs(cfg.deleteInputs))
	fmt.Fprintf(w, deleteRunHeading, deleteCeiling)
}

// printDeleteRow prints a delete run: its pace counts the versions the fake
// deleted, from the first deletion to the last.
func printDeleteRow(w io.Writer, kind string, m measurement) {
	perMinute := m.stats.DeletesPerMinute()
	fmt.Fprintf(w, "| %s | %.2f s | %d | %d | %d | %.1f | %.2f | %d | %.0f MiB |\n", kind, m.wall.Seconds(), m.rest,
		m.stats.REST["DELETE"], m.stats.VersionsDeleted, perMinute, perMinute/deleteCeiling, m.stats.SecondaryLimited, float64(m.maxRSS)/(1<<20))
}
