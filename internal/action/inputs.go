package action

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
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
	// listPackages makes the run resolve packages, set packages-json and
	// read nothing else (list-packages).
	listPackages bool
	// packagesRegex makes packages entries RE2 regexes over the owner's
	// packages (use-regex with expand-packages, as in dataaxiom).
	packagesRegex bool
	// inputs is what the plan file records: every input as given, minus the token.
	inputs map[string]string
	// references is what keep-referenced-in found and could not read.
	references referenceScan
	// compareTo is the earlier plan file compare-to names, at compareToPath.
	compareTo     *prune.PlanFile
	compareToPath string
}

// inputNames are every input action.yml declares; tests check the two agree.
var inputNames = []string{
	"token", "owner", "packages", "dry-run",
	"delete-untagged", "delete-tags", "exclude-tags", "keep-n-tagged", "keep-n-untagged",
	"older-than", "use-regex", "delete-orphaned-images", "delete-ghost-images", "delete-partial-images",
	"group-tags", "keep-referenced-in", "min-age",
	"registry-url", "github-api-url",
	"apply-plan", "restore-from", "validate", "fail-on-broken", "max-deletions", "cache-dir", "compare-to", "list-packages",
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
	"group-tags", "keep-referenced-in", "min-age",
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
	errs = append(errs, readKeepReferenced(a, in, &cfg)...)
	if path := in["compare-to"]; path != "" {
		cfg.compareTo, err = readCompareTo(path, cfg.owner)
		cfg.compareToPath = path
		errs.add("compare-to", err)
	}
	if in["restore-from"] != "" {
		if in["apply-plan"] != "" {
			errs.add("restore-from", fmt.Errorf("cannot be combined with apply-plan"))
		}
		if cfg.listPackages {
			errs.add("list-packages", fmt.Errorf("cannot be combined with restore-from, which names its packages itself"))
		}
		cfg.restore, err = parseRestore(in["restore-from"], &cfg)
		errs.add("restore-from", err)
	}
	cfg.registryURL = in["registry-url"]
	cfg.apiURL = in["github-api-url"]
	if cfg.apiURL == "" && ctx != nil {
		cfg.apiURL = ctx.APIURL
	}
	cfg.apiURL = cmp.Or(cfg.apiURL, "https://api.github.com")
	errs = append(errs, checkURLs(cfg, in["github-api-url"] == "")...)
	if len(errs) > 0 {
		return config{}, fmt.Errorf("invalid input:\n  %s", strings.Join(dedupe(errs), "\n  "))
	}
	return cfg, nil
}

// checkURLs checks registry-url and github-api-url before any request: the
// token goes to both, and plain http only on this machine. fromEnv says the
// API URL came from GITHUB_API_URL rather than the input.
func checkURLs(cfg config, fromEnv bool) []string {
	var errs []string
	if _, _, err := ghcr.ParseRegistryURL(cfg.registryURL); err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := ghcr.ParseAPIURL(cfg.apiURL); err != nil {
		msg := err.Error()
		if fromEnv {
			msg += " (from GITHUB_API_URL)"
		}
		errs = append(errs, msg)
	}
	return errs
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
	cfg.listPackages = b.parse("list-packages", in["list-packages"])
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
	// min-age: 0 turns it off, as a bare 0 reads, though a duration
	// otherwise needs its unit.
	if v := in["min-age"]; v != "" && v != "0" {
		p.MinAge, err = retention.ParseDuration(v)
		fail("min-age", err)
	}
	if v := in["group-tags"]; v != "" {
		p.GroupTags, err = retention.ParseTagGroups(v)
		fail("group-tags", err)
		if in["keep-n-tagged"] == "" {
			fail("group-tags", fmt.Errorf("ranks images for keep-n-tagged, which is not given"))
		}
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
	data, err := readPlanFile(path)
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
	if f.Owner == "" {
		errs = append(errs, "apply-plan: "+path+": the plan file names no owner (every run's plan file does)")
	} else if !strings.EqualFold(cfg.owner, f.Owner) {
		errs = append(errs, fmt.Sprintf("owner: %q differs from the reviewed plan's %q", cfg.owner, f.Owner))
	}
	cfg.applyPlan = f
	return errs
}

// parseRestore reads restore-from: the path of a plan file from an applied
// run, or version ids (the deleted-ids output) of the one package named in
// packages. Either way it restores only in the packages the run names.
func parseRestore(v string, cfg *config) ([]prune.RestoreItem, error) {
	if ids := splitList(v); len(ids) > 0 && allDigits(ids) {
		return restoreIDs(ids, cfg.packages)
	}
	data, err := readPlanFile(v)
	if err != nil {
		return nil, err
	}
	return restorePlan(data, v, cfg.owner, namedBy(cfg.packages, cfg.packagesRegex))
}

// restoreIDs are version ids of the one package in pkgs, in deletion order
// (as deleted-ids lists them); they are restored in the reverse.
func restoreIDs(ids, pkgs []string) ([]prune.RestoreItem, error) {
	if len(pkgs) != 1 || strings.ContainsAny(pkgs[0], "*?") {
		return nil, fmt.Errorf("version ids need exactly one package named in packages")
	}
	var items []prune.RestoreItem
	for _, id := range slices.Backward(ids) {
		n, _ := strconv.ParseInt(id, 10, 64)
		if n <= 0 {
			return nil, fmt.Errorf("version id %s is not positive", id)
		}
		items = append(items, prune.RestoreItem{Package: pkgs[0], ID: n})
	}
	return items, nil
}

// restorePlan reads the plan file data (from path) and lists what it
// deleted in owner's packages that named accepts.
func restorePlan(data []byte, path, owner string, named func(string) bool) ([]prune.RestoreItem, error) {
	f, err := prune.ReadPlanFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	items, err := prune.RestoreItems(f, owner, named)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}

// namedBy reports whether the packages input names pkg: outright, or
// through a wildcard (with regex, a regex) as resolvePackages expands it.
func namedBy(entries []string, regex bool) func(pkg string) bool {
	return func(pkg string) bool {
		for _, e := range entries {
			if !regex && !strings.ContainsAny(e, "*?") {
				if strings.EqualFold(e, pkg) {
					return true
				}
				continue
			}
			if pat, err := retention.ParsePatterns(e, regex); err == nil && pat.MatchTag(pkg) {
				return true
			}
		}
		return false
	}
}

// maxPlanFileSize bounds the plan file a run reads. A plan file takes about
// 450 bytes a version, so this is room for some 300,000 versions, and far
// below what would exhaust the runner's memory.
const maxPlanFileSize = 128 << 20

// readPlanFile reads the plan file at path, up to maxPlanFileSize.
func readPlanFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPlanFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPlanFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, more than any plan file", path, maxPlanFileSize>>20)
	}
	return data, nil
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
