package action

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// RunnerResult is what one run left behind for the workflow.
type RunnerResult struct {
	Report  *prune.Report
	Summary string            // GITHUB_STEP_SUMMARY
	Outputs map[string]string // GITHUB_OUTPUT
	Plan    []byte            // the plan file
}

// AsRunner runs the action once the way a GitHub runner does: env holds the
// INPUT_* and GITHUB_* variables; the summary, output and plan files are
// made in dir (the runner's RUNNER_TEMP) and read back; the log goes to log.
// The demo and the end-to-end tests run the action through it.
func AsRunner(ctx context.Context, dir string, env map[string]string, log io.Writer, s Setup) (RunnerResult, error) {
	vars := map[string]string{
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"RUNNER_TEMP":         dir,
	}
	for k, v := range env {
		vars[k] = v
	}
	for _, f := range []string{vars["GITHUB_STEP_SUMMARY"], vars["GITHUB_OUTPUT"]} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return RunnerResult{}, err
		}
	}
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return vars[k] }), githubactions.WithWriter(log))
	report, err := Run(ctx, a, s)
	summary, _ := os.ReadFile(vars["GITHUB_STEP_SUMMARY"])
	out, _ := os.ReadFile(vars["GITHUB_OUTPUT"])
	plan, _ := planFilePath(a)
	planFile, _ := os.ReadFile(plan)
	return RunnerResult{Report: report, Summary: string(summary), Outputs: ParseOutputs(string(out)), Plan: planFile}, err
}

// ParseOutputs reads GITHUB_OUTPUT's heredoc format.
func ParseOutputs(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}
