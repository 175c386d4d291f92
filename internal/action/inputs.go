package action

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/prune"
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
	// applyPlan is the plan file apply-plan names: it narrows what this
	// run deletes.
	applyPlan *prune.PlanFile
	// restore is what restore-from names: a plan file of an applied run, or
	// version ids of the one package in packages.
	restore      []prune.RestoreItem
	validate     bool
	failOnBroken bool
	maxDeletions int
	cacheDir     string
	// packagesRegex makes packages entries RE2 regexes over the owner's
	// packages (use-regex with expand-packages, as in dataaxiom).
	packagesRegex bool
	// inputs is what the plan file records: every input as given, minus the token.
	inputs map[string]string
}

// inputNames are every input action.yml declares; tests check the two agree.
var inputNames = []string{
	"token", "owner", "packages", "dry-run",
	"delete-untagged", "delete-tags", "exclude-tags", "keep-n-tagged", "keep-n-untagged",
	"older-than", "use-regex", "delete-orphaned-images", "delete-ghost-images", "delete-partial-images",
	"registry-url", "github-api-url",
	"apply-plan", "restore-from", "validate", "fail-on-broken", "max-deletions", "cache-dir",
	// dataaxiom/ghcr-cleanup-action's inputs that ghcr-prune names otherwise
	// or does not need.
	"package", "tags", "repository", "expand-packages", "log-level",
}

// inputAliases maps dataaxiom's older input names to ghcr-prune's.
var inputAliases = map[string]string{"package": "packages", "tags": "delete-tags"}

// policyInputs are the inputs that make up the retention policy: a reviewed
// plan (apply-plan) carries its own.
var policyInputs = []string{
	"delete-untagged", "delete-tags", "exclude-tags", "keep-n-tagged", "keep-n-untagged",
	"older-than", "use-regex", "delete-orphaned-images", "delete-ghost-images", "delete-partial-images",
}

// parseInputs reads and checks every input. defaults are action.yml's
// defaults that stand for a value: the runner passes them when a workflow
// leaves an input out, and the code applies the same text, so an input left
// out and one given as its default are one thing (apply-plan compares them).
func parseInputs(a *githubactions.Action, defaults map[string]string) (config, error) {
	given := map[string]string{}
	in := map[string]string{}
	for _, n := range inputNames {
		given[n] = strings.TrimSpace(a.GetInput(n))
		in[n] = cmp.Or(given[n], defaults[n])
	}
	var errs inputErrors
	foldAliases(given, in, &errs)
	if v := in["log-level"]; v != "" && !slices.Contains([]string{"error", "warn", "info", "debug"}, v) {
		errs.add("log-level", fmt.Errorf("%q is not one of error, warn, info, debug", v))
	}
	cfg := config{token: in["token"], inputs: map[string]string{}}
	for n, v := range given {
		if n != "token" && v != "" {
			cfg.inputs[n] = v
		}
	}
	ctx, err := a.Context()
	errs.add("context", err)
	parseTarget(in, ctx, &cfg, &errs)
	parseRunInputs(in, &cfg, &errs)
	if path := in["apply-plan"]; path != "" {
		errs = append(errs, readApplyPlan(path, in, defaults, &cfg)...)
	}
	policy, perrs := parsePolicy(in)
	cfg.policy = policy
	errs = append(errs, perrs...)
	if in["restore-from"] != "" {
		if in["apply-plan"] != "" {
			errs.add("restore-from", fmt.Errorf("cannot be combined with apply-plan"))
		}
		cfg.restore, err = parseRestore(in["restore-from"], cfg.packages, cfg.owner)
		errs.add("restore-from", err)
	}
	cfg.registryURL = in["registry-url"]
	cfg.apiURL = in["github-api-url"]
	if cfg.apiURL == "" && ctx != nil {
		cfg.apiURL = ctx.APIURL
	}
	cfg.apiURL = cmp.Or(cfg.apiURL, "https://api.github.com")
	if len(errs) > 0 {
		return config{}, fmt.Errorf("invalid input:\n  %s", strings.Join(dedupe(errs), "\n  "))
	}
	return cfg, nil
}

// inputErrors collects every input error of a run, each naming its input.
type inputErrors []string

func (e *inputErrors) add(input string, err error) {
	if err != nil {
		*e = append(*e, input+": "+err.Error())
	}
}

// foldAliases takes dataaxiom/ghcr-cleanup-action's other names for the
// same inputs, so a workflow switches by changing uses: alone.
func foldAliases(given, in map[string]string, errs *inputErrors) {
	for alias, name := range inputAliases {
		if in[alias] == "" {
			continue
		}
		if in[name] != "" && in[name] != in[alias] {
			errs.add(alias, fmt.Errorf("is another name for %s; give one of them", name))
		}
		in[name], in[alias] = in[alias], ""
		given[name], given[alias] = given[alias], ""
	}
}

// parseTarget reads whose packages, and which, the run is about.
func parseTarget(in map[string]string, ctx *githubactions.GitHubContext, cfg *config, errs *inputErrors) {
	cfg.owner = in["owner"]
	if cfg.owner == "" && ctx != nil {
		cfg.owner = ctx.RepositoryOwner
	}
	if cfg.owner == "" {
		errs.add("owner", fmt.Errorf("is empty and GITHUB_REPOSITORY_OWNER is not set"))
	}
	cfg.packages = splitList(in["packages"])
	if len(cfg.packages) == 0 && in["repository"] != "" {
		// dataaxiom's repository input names the default package.
		_, repo, _ := strings.Cut(in["repository"], "/")
		cfg.packages = []string{strings.ToLower(cmp.Or(repo, in["repository"]))}
	}
	if len(cfg.packages) == 0 && ctx != nil {
		if _, repo, ok := strings.Cut(ctx.Repository, "/"); ok {
			cfg.packages = []string{strings.ToLower(repo)}
		}
	}
	var expand bools
	// Wildcards are always expanded; expand-packages matters only with
	// use-regex, where, as in dataaxiom, it makes packages regexes.
	cfg.packagesRegex = expand.parse("expand-packages", in["expand-packages"]) &&
		expand.parse("use-regex", in["use-regex"])
	*errs = append(*errs, expand.errs...)
	if len(cfg.packages) == 0 {
		errs.add("packages", fmt.Errorf("is empty and GITHUB_REPOSITORY is not set"))
	}
}

// parseRunInputs reads how the run goes, as opposed to what it decides.
func parseRunInputs(in map[string]string, cfg *config, errs *inputErrors) {
	var b bools
	cfg.dryRun = b.parse("dry-run", in["dry-run"])
	cfg.validate = b.parse("validate", in["validate"])
	cfg.failOnBroken = b.parse("fail-on-broken", in["fail-on-broken"])
	cfg.validate = cfg.validate || cfg.failOnBroken // failing on what was never checked would be silent
	*errs = append(*errs, b.errs...)
	if in["max-deletions"] != "" {
		n, err := parseCount(in["max-deletions"])
		errs.add("max-deletions", err)
		cfg.maxDeletions = max(n, 0)
	}
	cfg.cacheDir = in["cache-dir"]
}

// parsePolicy turns the rule inputs into a Policy, collecting every error.
func parsePolicy(in map[string]string) (retention.Policy, []string) {
	var errs []string
	fail := func(input string, err error) {
		if err != nil {
			errs = append(errs, input+": "+err.Error())
		}
	}
	var (
		b   bools
		p   retention.Policy
		err error
	)
	useRegex := b.parse("use-regex", in["use-regex"])
	p.DeleteGhost = b.parse("delete-ghost-images", in["delete-ghost-images"])
	p.DeletePartial = b.parse("delete-partial-images", in["delete-partial-images"])
	p.DeleteOrphaned = b.parse("delete-orphaned-images", in["delete-orphaned-images"])
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
	p.DeleteUntagged = !otherRule
	if in["delete-untagged"] != "" {
		p.DeleteUntagged = b.parse("delete-untagged", in["delete-untagged"])
	}
	return p, append(b.errs, errs...)
}

// readApplyPlan reads apply-plan's file. The plan only narrows what this run
// deletes; the rules are this run's own inputs, and must be the ones the
// plan was made with, so a plan file (an artifact anyone who can open a pull
// request may have produced) can never widen a deletion or change the owner.
func readApplyPlan(path string, in, defaults map[string]string, cfg *config) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{"apply-plan: " + err.Error()}
	}
	f, err := prune.ReadPlanFile(data)
	if err != nil {
		return []string{"apply-plan: " + path + ": " + err.Error()}
	}
	var errs []string
	for _, n := range policyInputs {
		if given, planned := cmp.Or(in[n], defaults[n]), cmp.Or(f.Inputs[n], defaults[n]); given != planned {
			errs = append(errs, fmt.Sprintf("%s: %q differs from the reviewed plan's %q (apply-plan recomputes with this run's rules, which must be the ones the plan was made with)", n, in[n], f.Inputs[n]))
		}
	}
	if f.Owner != "" && !strings.EqualFold(cfg.owner, f.Owner) {
		errs = append(errs, fmt.Sprintf("owner: %q differs from the reviewed plan's %q", cfg.owner, f.Owner))
	}
	cfg.applyPlan = f
	return errs
}

// parseRestore reads restore-from: the path of a plan file from an applied
// run, or version ids (the deleted-ids output) of the one package named in
// packages.
func parseRestore(v string, pkgs []string, owner string) ([]prune.RestoreItem, error) {
	if ids := splitList(v); len(ids) > 0 && allDigits(ids) {
		if len(pkgs) != 1 || strings.ContainsAny(pkgs[0], "*?") {
			return nil, fmt.Errorf("version ids need exactly one package named in packages")
		}
		var items []prune.RestoreItem
		// deleted-ids lists versions in deletion order; restore the reverse.
		for _, id := range slices.Backward(ids) {
			n, _ := strconv.ParseInt(id, 10, 64)
			items = append(items, prune.RestoreItem{Package: pkgs[0], ID: n})
		}
		return items, nil
	}
	data, err := os.ReadFile(v)
	if err != nil {
		return nil, err
	}
	f, err := prune.ReadPlanFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v, err)
	}
	if f.Owner != "" && !strings.EqualFold(f.Owner, owner) {
		return nil, fmt.Errorf("the plan file is %s's, not %s's (set owner)", f.Owner, owner)
	}
	return prune.RestoreItems(f)
}

func allDigits(ss []string) bool {
	for _, s := range ss {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// bools parses boolean inputs the way @actions/core does (YAML 1.2 core
// schema), collecting errors. Empty is false: an input whose absence means
// true (dry-run) has that default in action.yml, and the caller applied it.
type bools struct{ errs []string }

func (b *bools) parse(input, v string) bool {
	switch v {
	case "":
		return false
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	}
	b.errs = append(b.errs, fmt.Sprintf("%s: %q is not a boolean (use true or false)", input, v))
	return false
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
