package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
)

// The Docker action runs with no arguments in Actions; everything else is
// the command line.
func TestIsCommandLine(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		actions string
		want    bool
	}{
		{nil, "true", false},
		{[]string{"-demo"}, "true", true},
		{nil, "", true},
		{nil, "false", true},
		{[]string{"--owner", "acme"}, "", true},
	} {
		if got := IsCommandLine(tt.args, func(string) string { return tt.actions }); got != tt.want {
			t.Errorf("args %q, GITHUB_ACTIONS=%q: %v, want %v", tt.args, tt.actions, got, tt.want)
		}
	}
}

// What the command line does before any request: help, the version,
// usage errors.
func TestMainWithoutARun(t *testing.T) {
	m := metadata(t)
	tests := []struct {
		args       []string
		code       int
		out, errs  string
		tokenAsked bool
	}{
		{[]string{"--version"}, 0, "ghcr-prune test build\n", "", false},
		{[]string{"--help"}, 0, "Inputs (action.yml):", "", false},
		{nil, 2, "", "Usage:", false},
		{[]string{"--serve"}, 2, "", "--serve goes with --demo", false},
		{[]string{"--older-than", "2w"}, 2, "", "missing --owner", false},
		{[]string{"--owner", "acme", "--packages", "app", "--dry-run=false"}, 2, "", "give --yes", false},
		{[]string{"--owner", "acme", "--packages", "app"}, 1, "", "no token: set GITHUB_TOKEN or GH_TOKEN", true},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		asked := false
		code := Main(context.Background(), Env{Args: tt.args, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv:  func(string) string { return "" },
			GHToken: func(context.Context) (string, error) { asked = true; return "", errNoGH },
			Setup:   action.Setup{Metadata: m, Tool: "ghcr-prune test build"}})
		if code != tt.code || !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.errs) || asked != tt.tokenAsked {
			t.Errorf("%q: exit %d, gh asked %v\nstdout: %s\nstderr: %s", tt.args, code, asked, stdout.String(), stderr.String())
		}
	}
}
