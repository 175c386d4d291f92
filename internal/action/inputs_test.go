package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/sethvargo/go-githubactions"
)

// actionYAMLFile is action.yml as the runner reads it: the file, parsed
// with a YAML parser, held to GitHub's metadata rules.
func actionYAMLFile(t *testing.T) actionMetadata {
	t.Helper()
	raw, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseActionMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range metadataErrors(m) {
		t.Errorf("action.yml: %v", err)
	}
	return m
}

// metadataErrors are GitHub's rules for a Docker action's metadata, with
// the branding lists actionlint keeps in step with GitHub's.
func metadataErrors(m actionMetadata) []error {
	errs := m.check()
	if _, ok := actionlint.BrandingIcons[m.Branding.Icon]; !ok {
		errs = append(errs, fmt.Errorf("branding.icon %q is not one of GitHub's Feather icons", m.Branding.Icon))
	}
	if _, ok := actionlint.BrandingColors[m.Branding.Color]; !ok {
		errs = append(errs, fmt.Errorf("branding.color %q is not one of GitHub's colours", m.Branding.Color))
	}
	return errs
}

func TestActionYAMLIsValidMetadata(t *testing.T) {
	m := actionYAMLFile(t)
	if !bytes.Equal(mustRead(t, "action.yml"), actionYAML) {
		t.Error("the embedded action.yml is not the file")
	}
	if m.Runs.Image != "Dockerfile" && !strings.HasPrefix(m.Runs.Image, "docker://") {
		t.Errorf("runs.image %q is neither the Dockerfile nor a docker:// image", m.Runs.Image)
	}
}

// Each of these is a mistake GitHub's runner rejects or misreads; the
// first is the unquoted `packages: write` a description once held.
func TestActionMetadataRules(t *testing.T) {
	const good = "name: x\ndescription: d\nbranding:\n  icon: trash-2\n  color: blue\nruns:\n  using: docker\n  image: Dockerfile\n"
	if m, err := parseActionMetadata([]byte(good)); err != nil || len(metadataErrors(m)) > 0 {
		t.Fatalf("a valid action.yml: %v %v", err, metadataErrors(m))
	}
	tests := map[string]string{
		"mapping values are not allowed": good + "inputs:\n  token:\n    description: GITHUB_TOKEN needs `packages: write` and more\n",
		"name is required":               strings.Replace(good, "name: x\n", "", 1),
		"description is required":        strings.Replace(good, "description: d\n", "", 1),
		"runs.using":                     strings.Replace(good, "using: docker", "using: node20", 1),
		"runs.image is required":         strings.Replace(good, "  image: Dockerfile\n", "", 1),
		"has no description":             good + "inputs:\n  a:\n    default: x\n",
		"not a string":                   good + "inputs:\n  a:\n    description: a\n    default: true\n",
		"declared twice":                 good + "inputs:\n  a:\n    description: a\n  a:\n    description: b\n",
		"unknown key":                    good + "input:\n  a:\n    description: a\n",
		"icon":                           strings.Replace(good, "trash-2", "trash-3", 1),
		"color":                          strings.Replace(good, "blue", "teal", 1),
	}
	for want, text := range tests {
		m, err := parseActionMetadata([]byte(text))
		if err == nil {
			err = errors.Join(metadataErrors(m)...)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %v", want, err)
		}
	}
}

// The defaults the runner applies are the ones the code applies, and the
// safe ones are what they must be.
func TestActionYAMLDefaults(t *testing.T) {
	d := actionYAMLFile(t).defaults()
	for input, want := range map[string]string{"dry-run": "true", "registry-url": "https://ghcr.io", "max-deletions": "0"} {
		if d[input] != want {
			t.Errorf("action.yml's default for %s is %q, want %q", input, d[input], want)
		}
	}
	if !maps.Equal(d, inputDefaults) {
		t.Errorf("the code's defaults %v are not action.yml's %v", inputDefaults, d)
	}
	// Every default, given outright, means what leaving the input out means.
	left, err := parseWith(nil)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for input, v := range d {
		env["INPUT_"+strings.ToUpper(input)] = v
	}
	given, err := parseWith(env)
	if err != nil {
		t.Fatalf("action.yml's defaults given outright: %v", err)
	}
	given.inputs, left.inputs = nil, nil
	if fmt.Sprintf("%+v", given) != fmt.Sprintf("%+v", left) {
		t.Errorf("defaults given outright\n%+v\ndiffer from inputs left out\n%+v", given, left)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestActionYAMLInputsMatchTheCode(t *testing.T) {
	var got []string
	for _, in := range actionYAMLFile(t).Inputs {
		got = append(got, in.Name)
	}
	sort.Strings(got)
	want := slices.Clone(inputNames)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("action.yml inputs %v\ncode reads %v", got, want)
	}
}

func TestActionYAMLOutputsMatchTheCode(t *testing.T) {
	var got []string
	for _, o := range actionYAMLFile(t).Outputs {
		got = append(got, o.Name)
	}
	sort.Strings(got)
	want := slices.Clone(outputNames)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("action.yml outputs %v\ncode writes %v", got, want)
	}
}

func TestREADMEDocumentsEveryInputAndOutput(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(slices.Clone(inputNames), outputNames...) {
		if !strings.Contains(string(raw), "| `"+n+"` |") && !strings.Contains(string(raw), "`"+n+"`, ") && !strings.Contains(string(raw), ", `"+n+"` |") {
			t.Errorf("README.md has no table row for %q", n)
		}
	}
}

func parseWith(env map[string]string) (config, error) {
	base := map[string]string{"GITHUB_REPOSITORY": "acme/app", "GITHUB_REPOSITORY_OWNER": "acme"}
	for k, v := range env {
		base[k] = v
	}
	return parseInputs(githubactions.New(githubactions.WithGetenv(func(k string) string { return base[k] })))
}

func TestParseInputsDefaults(t *testing.T) {
	cfg, err := parseWith(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.dryRun || cfg.owner != "acme" || !slices.Equal(cfg.packages, []string{"app"}) ||
		cfg.registryURL != "https://ghcr.io" || cfg.apiURL != "https://api.github.com" {
		t.Errorf("defaults: %+v", cfg)
	}
	p := cfg.policy
	if !p.DeleteUntagged || p.KeepNTagged != -1 || p.KeepNUntagged != -1 || p.OlderThan != 0 {
		t.Errorf("default policy: %+v", p)
	}
}

func TestParseInputsDeleteUntaggedDefault(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"INPUT_OLDER-THAN": "3d"}, true},
		{map[string]string{"INPUT_DELETE-TAGS": "pr-*"}, false},
		{map[string]string{"INPUT_KEEP-N-TAGGED": "3"}, false},
		{map[string]string{"INPUT_KEEP-N-UNTAGGED": "3"}, false},
		{map[string]string{"INPUT_DELETE-GHOST-IMAGES": "true"}, false},
		{map[string]string{"INPUT_DELETE-GHOST-IMAGES": "false"}, true},
		{map[string]string{"INPUT_DELETE-PARTIAL-IMAGES": "true"}, false},
		{map[string]string{"INPUT_DELETE-ORPHANED-IMAGES": "true"}, false},
		{map[string]string{"INPUT_DELETE-TAGS": "pr-*", "INPUT_DELETE-UNTAGGED": "true"}, true},
		{map[string]string{"INPUT_DELETE-UNTAGGED": "false"}, false},
	}
	for _, tt := range tests {
		cfg, err := parseWith(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.policy.DeleteUntagged != tt.want {
			t.Errorf("%v: delete-untagged %v, want %v", tt.env, cfg.policy.DeleteUntagged, tt.want)
		}
	}
}

func TestParseInputsErrorsNameTheInput(t *testing.T) {
	tests := map[string]map[string]string{
		"dry-run":         {"INPUT_DRY-RUN": "maybe"},
		"use-regex":       {"INPUT_USE-REGEX": "yes please"},
		"delete-untagged": {"INPUT_DELETE-UNTAGGED": "1"},
		"older-than":      {"INPUT_OLDER-THAN": "5 dayz"},
		"keep-n-tagged":   {"INPUT_KEEP-N-TAGGED": "-1"},
		"keep-n-untagged": {"INPUT_KEEP-N-UNTAGGED": "two"},
		"delete-tags":     {"INPUT_DELETE-TAGS": "pr-(", "INPUT_USE-REGEX": "true"},
		"exclude-tags":    {"INPUT_EXCLUDE-TAGS": "sha256:nothex"},
		"owner":           {"GITHUB_REPOSITORY_OWNER": ""},
		"packages":        {"GITHUB_REPOSITORY": ""},
	}
	for input, env := range tests {
		_, err := parseWith(env)
		if err == nil || !strings.Contains(err.Error(), input+":") {
			t.Errorf("%s: error %v does not name the input", input, err)
		}
	}
}

func TestParseInputsPackagesList(t *testing.T) {
	cfg, err := parseWith(map[string]string{"INPUT_PACKAGES": "app, team/app\nweb-*\n\n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"app", "team/app", "web-*"}; !slices.Equal(cfg.packages, want) {
		t.Errorf("packages %v, want %v", cfg.packages, want)
	}
}

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

// dataaxiom/ghcr-cleanup-action workflows switch by changing uses: alone.
func TestParseInputsDataaxiomNames(t *testing.T) {
	cfg, err := parseWith(map[string]string{"INPUT_PACKAGE": "img", "INPUT_TAGS": "pr-*", "INPUT_EXPAND-PACKAGES": "true", "INPUT_LOG-LEVEL": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.packages, []string{"img"}) || !cfg.policy.DeleteTags.MatchTag("pr-1") || cfg.policy.DeleteUntagged {
		t.Errorf("package/tags not taken as packages/delete-tags: %+v", cfg)
	}
	if cfg.inputs["delete-tags"] != "pr-*" || cfg.inputs["tags"] != "" {
		t.Errorf("the plan file records %v, want the canonical names", cfg.inputs)
	}
	cfg, err = parseWith(map[string]string{"INPUT_REPOSITORY": "acme/site"})
	if err != nil || !slices.Equal(cfg.packages, []string{"site"}) {
		t.Errorf("repository: packages %v, %v", cfg.packages, err)
	}
	for input, env := range map[string]map[string]string{
		"tags":            {"INPUT_TAGS": "a", "INPUT_DELETE-TAGS": "b"},
		"package":         {"INPUT_PACKAGE": "a", "INPUT_PACKAGES": "b"},
		"log-level":       {"INPUT_LOG-LEVEL": "verbose"},
		"expand-packages": {"INPUT_EXPAND-PACKAGES": "yes"},
	} {
		if _, err := parseWith(env); err == nil || !strings.Contains(err.Error(), input+":") {
			t.Errorf("%s: error %v does not name the input", input, err)
		}
	}
}
