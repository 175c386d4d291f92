package action

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/sethvargo/go-githubactions"
)

func writePlanFile(path string, r *prune.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// outputNames are every output action.yml declares; tests check the two agree.
var outputNames = []string{"planned-count", "kept-count", "deleted-count", "deleted-ids", "plan-path", "broken-count", "restored-count", "deferred-count"}

// writeResults writes the job summary, the plan file and the outputs.
func writeResults(a *githubactions.Action, r *prune.Report) error {
	a.AddStepSummary(r.Markdown())
	planned, kept, deferred := 0, 0, 0
	for _, p := range r.Packages {
		if p.Plan != nil {
			planned += len(p.Plan.Delete)
			kept += len(p.Plan.Keep)
			deferred += len(p.Plan.Deferred)
		}
	}
	ids := r.DeletedIDs()
	// Outputs first: whatever happens to the plan file, the ids of what
	// was deleted must reach the workflow.
	a.SetOutput("planned-count", strconv.Itoa(planned))
	a.SetOutput("kept-count", strconv.Itoa(kept))
	a.SetOutput("deleted-count", strconv.Itoa(len(ids)))
	a.SetOutput("deleted-ids", strings.Join(ids, ","))
	a.SetOutput("broken-count", strconv.Itoa(r.BrokenAfter()))
	a.SetOutput("deferred-count", strconv.Itoa(deferred))
	path, shown := planFilePath(a)
	if err := writePlanFile(path, r); err != nil {
		return fmt.Errorf("writing the plan file %s: %w", path, err)
	}
	a.SetOutput("plan-path", shown)
	return nil
}

// planFilePath is where the plan file goes and the path later steps know it
// by. A Docker action sees the runner's workspace (mounted at
// GITHUB_WORKSPACE) but not its RUNNER_TEMP, so the file goes into the
// workspace and the output is relative to it, as upload-artifact expects.
func planFilePath(a *githubactions.Action) (path, shown string) {
	const name = "ghcr-prune-plan.json"
	if ws := a.Getenv("GITHUB_WORKSPACE"); ws != "" {
		return filepath.Join(ws, name), name
	}
	dir := a.Getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	path = filepath.Join(dir, name)
	return path, path
}
