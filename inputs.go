package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// config is the action's inputs, parsed and checked before any request is
// made, so that a typo fails the run instead of deleting the wrong thing.
type config struct {
	token       string
	owner       string
	packages    []string // names and wildcards, as given
	dryRun      bool
	policy      retention.Policy
	registryURL string
	apiURL      string
	// inputs is what the plan file records: every input as given, minus the token.
	inputs map[string]string
}

// inputNames are every input action.yml declares; tests check the two agree.
var inputNames = []string{
	"token", "owner", "packages", "dry-run",
	"delete-untagged", "delete-tags", "exclude-tags", "keep-n-tagged", "keep-n-untagged",
	"older-than", "use-regex", "delete-orphaned-images", "delete-ghost-images", "delete-partial-images",
	"registry-url", "github-api-url",
}

func parseInputs(a *githubactions.Action) (config, error) {
	in := map[string]string{}
	for _, n := range inputNames {
		in[n] = strings.TrimSpace(a.GetInput(n))
	}
	cfg := config{token: in["token"], owner: in["owner"], inputs: map[string]string{}}
	for n, v := range in {
		if n != "token" && v != "" {
			cfg.inputs[n] = v
		}
	}
	var errs []string
	fail := func(input string, err error) {
		if err != nil {
			errs = append(errs, input+": "+err.Error())
		}
	}
	ctx, err := a.Context()
	fail("context", err)
	if cfg.owner == "" && ctx != nil {
		cfg.owner = ctx.RepositoryOwner
	}
	if cfg.owner == "" {
		fail("owner", fmt.Errorf("is empty and GITHUB_REPOSITORY_OWNER is not set"))
	}
	cfg.packages = splitList(in["packages"])
	if len(cfg.packages) == 0 && ctx != nil {
		if _, repo, ok := strings.Cut(ctx.Repository, "/"); ok {
			cfg.packages = []string{strings.ToLower(repo)}
		}
	}
	if len(cfg.packages) == 0 {
		fail("packages", fmt.Errorf("is empty and GITHUB_REPOSITORY is not set"))
	}

	var b bools
	cfg.dryRun = b.parse("dry-run", in["dry-run"], true)
	useRegex := b.parse("use-regex", in["use-regex"], false)
	p := &cfg.policy
	p.DeleteGhost = b.parse("delete-ghost-images", in["delete-ghost-images"], false)
	p.DeletePartial = b.parse("delete-partial-images", in["delete-partial-images"], false)
	p.DeleteOrphaned = b.parse("delete-orphaned-images", in["delete-orphaned-images"], false)
	errs = append(errs, b.errs...)

	p.DeleteTags, err = retention.ParsePatterns(in["delete-tags"], useRegex)
	fail("delete-tags", err)
	p.ExcludeTags, err = retention.ParsePatterns(in["exclude-tags"], useRegex)
	fail("exclude-tags", err)
	p.KeepNTagged, err = parseCount(in["keep-n-tagged"])
	fail("keep-n-tagged", err)
	p.KeepNUntagged, err = parseCount(in["keep-n-untagged"])
	fail("keep-n-untagged", err)
	if in["older-than"] != "" {
		p.OlderThan, err = retention.ParseDuration(in["older-than"])
		fail("older-than", err)
	}
	// As in dataaxiom/ghcr-cleanup-action: untagged images are deleted by
	// default only when no other deletion rule is asked for.
	otherRule := in["delete-tags"] != "" || in["keep-n-tagged"] != "" || in["keep-n-untagged"] != "" ||
		p.DeleteGhost || p.DeletePartial || p.DeleteOrphaned
	p.DeleteUntagged = b.parse("delete-untagged", in["delete-untagged"], !otherRule)
	errs = append(errs, b.errs...)

	cfg.registryURL = in["registry-url"]
	if cfg.registryURL == "" {
		cfg.registryURL = "https://ghcr.io"
	}
	cfg.apiURL = in["github-api-url"]
	if cfg.apiURL == "" && ctx != nil {
		cfg.apiURL = ctx.APIURL
	}
	if cfg.apiURL == "" {
		cfg.apiURL = "https://api.github.com"
	}
	if len(errs) > 0 {
		return config{}, fmt.Errorf("invalid input:\n  %s", strings.Join(dedupe(errs), "\n  "))
	}
	return cfg, nil
}

// bools parses boolean inputs the way @actions/core does (YAML 1.2 core
// schema), collecting errors.
type bools struct{ errs []string }

func (b *bools) parse(input, v string, def bool) bool {
	switch v {
	case "":
		return def
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	b.errs = append(b.errs, fmt.Sprintf("%s: %q is not a boolean (use true or false)", input, v))
	return def
}

// parseCount parses keep-n inputs; -1 means not given.
func parseCount(v string) (int, error) {
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return -1, fmt.Errorf("%q is not a whole number of images (0 or more)", v)
	}
	return n, nil
}

// splitList splits a comma or newline separated input.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
