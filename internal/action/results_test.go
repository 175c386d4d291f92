package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
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

func smallReport() *prune.Report {
	return &prune.Report{Time: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Owner: "acme",
		Packages: []prune.PackageReport{{Package: "app", Versions: 1, Plan: &retention.Plan{Package: "app"}}}}
}

// The workspace holds the checkout, which a pull request may have written:
// a ghcr-prune-plan.json there that is a symbolic link (to a file, to a
// directory, dangling) is refused, and what it points at is left alone.
func TestPlanFileRefusesSymbolicLinks(t *testing.T) {
	for _, kind := range []string{"file", "directory", "dangling"} {
		t.Run(kind, func(t *testing.T) {
			ws, elsewhere := t.TempDir(), t.TempDir()
			target := filepath.Join(elsewhere, "victim")
			switch kind {
			case "file":
				if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
					t.Fatal(err)
				}
			case "directory":
				if err := os.Mkdir(target, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(ws, "ghcr-prune-plan.json")
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
			err := writePlanFile(path, smallReport())
			if err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("writePlanFile through a link: %v", err)
			}
			switch kind {
			case "file":
				if b, _ := os.ReadFile(target); string(b) != "precious" {
					t.Errorf("the link's target now holds %q", b)
				}
			case "directory":
				if ents, _ := os.ReadDir(target); len(ents) != 0 {
					t.Errorf("the link's target directory now holds %v", ents)
				}
			case "dangling":
				if _, err := os.Lstat(target); err == nil {
					t.Error("the dangling link's target was created")
				}
			}
			if ents, _ := os.ReadDir(ws); len(ents) != 1 {
				t.Errorf("the workspace holds %v, want only the link", ents)
			}
		})
	}
}

func TestPlanFileReplacesAFileAndRefusesADirectory(t *testing.T) {
	ws := t.TempDir()
	path := filepath.Join(ws, "ghcr-prune-plan.json")
	if err := os.WriteFile(path, []byte("an older plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePlanFile(path, smallReport()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := prune.ReadPlanFile(data); err != nil || f.Owner != "acme" {
		t.Fatalf("the plan file reads back as %v, %v", f, err)
	}
	if ents, _ := os.ReadDir(ws); len(ents) != 1 {
		t.Errorf("the workspace holds %v: a temporary file was left", ents)
	}
	dir := filepath.Join(t.TempDir(), "ghcr-prune-plan.json")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writePlanFile(dir, smallReport()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("writing over a directory: %v", err)
	}
}
