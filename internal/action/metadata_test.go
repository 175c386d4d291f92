package action

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// actionYAMLFile is action.yml as the runner reads it: the file, parsed
// with a YAML parser, held to GitHub's metadata rules.
func actionYAMLFile(t *testing.T) Metadata {
	t.Helper()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMetadata(raw)
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
func metadataErrors(m Metadata) []error {
	errs := m.Check()
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
	if m.Runs.Image != "Dockerfile" && !strings.HasPrefix(m.Runs.Image, "docker://") {
		t.Errorf("runs.image %q is neither the Dockerfile nor a docker:// image", m.Runs.Image)
	}
}

// Each of these is a mistake GitHub's runner rejects or misreads; the
// first is the unquoted `packages: write` a description once held.
func TestActionMetadataRules(t *testing.T) {
	const good = "name: x\ndescription: d\nbranding:\n  icon: trash-2\n  color: blue\nruns:\n  using: docker\n  image: Dockerfile\n"
	if m, err := ParseMetadata([]byte(good)); err != nil || len(metadataErrors(m)) > 0 {
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
		m, err := ParseMetadata([]byte(text))
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
	d := actionYAMLFile(t).Defaults()
	for input, want := range map[string]string{"dry-run": "true", "registry-url": "https://ghcr.io", "max-deletions": "0"} {
		if d[input] != want {
			t.Errorf("action.yml's default for %s is %q, want %q", input, d[input], want)
		}
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
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(slices.Clone(inputNames), outputNames...) {
		if !strings.Contains(string(raw), "| `"+n+"` |") && !strings.Contains(string(raw), "`"+n+"`, ") && !strings.Contains(string(raw), ", `"+n+"` |") {
			t.Errorf("README.md has no table row for %q", n)
		}
	}
}

// testMetadata is action.yml as the binary embeds it.
var testMetadata = func() Metadata {
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		panic(err)
	}
	m, err := ParseMetadata(raw)
	if err != nil {
		panic(err)
	}
	return m
}()
