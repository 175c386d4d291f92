package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
)

// metadata is action.yml, as the binary embeds it.
func metadata(t *testing.T) action.Metadata {
	t.Helper()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := action.ParseMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseArgs(t *testing.T) {
	m := metadata(t)
	tests := []struct {
		name   string
		args   []string
		inputs map[string]string
		check  func(command) bool
	}{
		{"space and equals", []string{"--owner", "acme", "--packages=app"}, map[string]string{"owner": "acme", "packages": "app"}, nil},
		{"one dash", []string{"-owner", "acme", "-older-than=2w"}, map[string]string{"owner": "acme", "older-than": "2w"}, nil},
		{"a boolean alone is true", []string{"--validate", "--delete-untagged"}, map[string]string{"validate": "true", "delete-untagged": "true"}, nil},
		{"a boolean with a value", []string{"--dry-run=false"}, map[string]string{"dry-run": "false"}, nil},
		{"a repeated list flag is one value a line", []string{"--delete-tags", "pr-*", "--delete-tags=sha-*"}, map[string]string{"delete-tags": "pr-*\nsha-*"}, nil},
		{"commas stay for the input to split", []string{"--packages", "app,app/worker"}, map[string]string{"packages": "app,app/worker"}, nil},
		{"an empty value", []string{"--older-than="}, map[string]string{"older-than": ""}, nil},
		{"command flags", []string{"--plan", "p.json", "--summary=s.md", "--yes"}, map[string]string{},
			func(c command) bool { return c.plan == "p.json" && c.summary == "s.md" && c.yes }},
		{"the plan file's default", nil, map[string]string{}, func(c command) bool { return c.plan == DefaultPlanFile }},
		{"-h", []string{"-h"}, map[string]string{}, func(c command) bool { return c.help }},
		{"demo and serve", []string{"-demo", "-serve"}, map[string]string{}, func(c command) bool { return c.demo && c.serve }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseArgs(tt.args, m)
			if err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(c.inputs, tt.inputs) {
				t.Errorf("inputs %q, want %q", c.inputs, tt.inputs)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("command %+v", c)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Every mistake is an error that says what was meant, before anything runs.
func TestParseArgsErrors(t *testing.T) {
	m := metadata(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--older-then", "2w"}, "unknown flag --older-then; did you mean --older-than?"},
		{[]string{"--delete-tag", "pr-*"}, "did you mean --delete-tags?"},
		{[]string{"--dryrun=false"}, "did you mean --dry-run?"},
		{[]string{"--summery", "s.md"}, "did you mean --summary?"},
		{[]string{"--token", "ghp_x"}, "the token is never a flag"},
		{[]string{"--older-than"}, "--older-than needs a value"},
		{[]string{"--packages", "--validate"}, "--packages needs a value"},
		{[]string{"app"}, `unexpected argument "app"`},
		{[]string{"--", "--owner"}, `unexpected argument "--"`},
		{[]string{"--dry-run=false", "--dry-run"}, "--dry-run is given twice"},
		{[]string{"--plan", "a", "--plan", "b"}, "--plan is given twice"},
		{[]string{"--yes=maybe"}, `--yes: "maybe" is not a boolean`},
		{[]string{"--plan="}, "--plan needs a value"},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args, m)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

// The command line's own flags are not inputs, and never will be unseen.
func TestCommandFlagsAreNotInputs(t *testing.T) {
	for _, in := range metadata(t).Inputs {
		for _, f := range commandFlags {
			if f.name == in.Name {
				t.Errorf("--%s is both an input and an option of the command line", f.name)
			}
		}
	}
}

// The flags treat as booleans exactly the inputs the action's parser reads
// as booleans: each input is given a value that is not one, with a second
// input bad on purpose so that the run stops at the parser, before any
// request, and the error says which inputs wanted a boolean.
func TestBooleanFlagsAreTheParsersBooleans(t *testing.T) {
	m := metadata(t)
	for _, in := range m.Inputs {
		switch in.Name {
		case "token", "owner", "packages":
			continue
		}
		poison := "--max-deletions=-5"
		if in.Name == "max-deletions" {
			poison = "--log-level=loud"
		}
		args := []string{"--owner", "acme", "--packages", "app", "--" + in.Name + "=maybe", poison, "--plan", filepath.Join(t.TempDir(), "plan.json")}
		var stderr strings.Builder
		code := Main(context.Background(), Env{Args: args, Stdout: &strings.Builder{}, Stderr: &stderr,
			Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": "ghp_test"}[k] },
			Setup:  action.Setup{Metadata: m}})
		if code != 1 || !strings.Contains(stderr.String(), "invalid input") {
			t.Fatalf("--%s=maybe: exit %d, %s", in.Name, code, stderr.String())
		}
		parserSaysBoolean := strings.Contains(stderr.String(), in.Name+`: "maybe" is not a boolean`)
		if flag := isBoolean(in.Name, in.Default); flag != parserSaysBoolean {
			t.Errorf("--%s: the flags read it as a boolean: %v; the action's parser: %v", in.Name, flag, parserSaysBoolean)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		inputs map[string]string
		want   string
	}{
		{map[string]string{}, "missing --owner (the user or organization that owns the packages) and --packages"},
		{map[string]string{"owner": "acme"}, "missing --packages"},
		{map[string]string{"packages": "app"}, "missing --owner"},
		{map[string]string{"owner": "acme", "packages": "app"}, ""},
		{map[string]string{"owner": "acme", "package": "app"}, ""},
		{map[string]string{"owner": "acme", "repository": "acme/app"}, ""},
	}
	for _, tt := range tests {
		err := command{inputs: tt.inputs}.checkTarget()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v: got %v, want %q", tt.inputs, err, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"older-then", "older-than", 1}, {"dryrun", "dry-run", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
