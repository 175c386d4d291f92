package action

import (
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
)

func parseWith(env map[string]string) (config, error) {
	base := map[string]string{"GITHUB_REPOSITORY": "acme/app", "GITHUB_REPOSITORY_OWNER": "acme"}
	for k, v := range env {
		base[k] = v
	}
	return parseInputs(githubactions.New(githubactions.WithGetenv(func(k string) string { return base[k] })), testMetadata.Defaults())
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
