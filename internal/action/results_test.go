package action

import (
	"testing"

	"github.com/sethvargo/go-githubactions"
)

// A Docker action sees the workspace but not the runner's RUNNER_TEMP: the
// plan file goes into the workspace, named relative to it for
// upload-artifact.
func TestPlanFileGoesIntoTheWorkspace(t *testing.T) {
	ws := t.TempDir()
	env := map[string]string{"GITHUB_WORKSPACE": ws, "RUNNER_TEMP": "/home/runner/work/_temp"}
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }))
	path, shown := planFilePath(a)
	if path != ws+"/ghcr-prune-plan.json" || shown != "ghcr-prune-plan.json" {
		t.Errorf("plan file at %q shown as %q", path, shown)
	}
	env = map[string]string{"RUNNER_TEMP": ws}
	if path, shown := planFilePath(a); path != ws+"/ghcr-prune-plan.json" || shown != path {
		t.Errorf("outside a workspace: plan file at %q shown as %q", path, shown)
	}
}
