package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
)

// DefaultPlanFile is where the plan file goes without --plan: the current
// directory, under the name the action gives it.
const DefaultPlanFile = "ghcr-prune-plan.json"

// command is a parsed command line.
type command struct {
	// inputs are the action inputs given as flags, by input name; a flag
	// given more than once holds its values one a line, as a multi-line
	// input in a workflow does.
	inputs  map[string]string
	plan    string // --plan
	summary string // --summary

	yes, help, version, demo, serve bool
}

// flagSpec is one flag: an action input, or an option of the command line.
type flagSpec struct {
	name        string
	input       bool
	boolean     bool   // given alone it means true
	placeholder string // what its value is, for --help
	description string
	def         string // default, for --help
}

// booleanWithoutDefault are the boolean inputs whose empty default means
// "decide from the other inputs" (delete-untagged) or "not given"
// (expand-packages): action.yml cannot say they are booleans, since their
// default is not true or false. flags_test.go holds this list to the
// action's parser, which rejects a value that is not a boolean.
var booleanWithoutDefault = []string{"delete-untagged", "expand-packages"}

// commandFlags are the command line's own options, besides the inputs.
var commandFlags = []flagSpec{
	{name: "plan", placeholder: "FILE", def: DefaultPlanFile,
		description: "Where the JSON plan file goes (the action's plan-path); apply-plan and restore-from take it."},
	{name: "summary", placeholder: "FILE",
		description: "Also write the Markdown job summary to FILE."},
	{name: "yes", boolean: true,
		description: "With --dry-run=false: delete without asking. Needed when standard input is not a terminal."},
	{name: "demo", boolean: true,
		description: "Run the demo: the Logto incident replayed against a built-in fake GHCR."},
	{name: "serve", boolean: true,
		description: "With --demo: leave the fake GHCR running and print the command that previews a cleanup against it."},
	{name: "version", boolean: true, description: "Print the version and exit."},
	{name: "help", boolean: true, description: "Print this help and exit (also -h)."},
}

// requiredInputs have no default outside GitHub Actions, where the
// workflow's repository would give them one.
var requiredInputs = []string{"owner", "packages"}

// flagSpecs are every flag: each action input but the token, in
// action.yml's order, then the command line's own.
func flagSpecs(m action.Metadata) []flagSpec {
	defaults := m.Defaults()
	var out []flagSpec
	for _, in := range m.Inputs {
		if in.Name == "token" {
			continue
		}
		f := flagSpec{name: in.Name, input: true, description: in.Description, def: defaults[in.Name], placeholder: "VALUE"}
		if isBoolean(in.Name, in.Default) {
			f.boolean, f.placeholder = true, ""
		}
		if in.Name == "owner" {
			f.placeholder = "NAME"
		}
		out = append(out, f)
	}
	return append(out, commandFlags...)
}

func isBoolean(name, def string) bool {
	return def == "true" || def == "false" || slices.Contains(booleanWithoutDefault, name)
}

// usageError is a command line that cannot be run as given.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// parseArgs reads flags the way people type them: --name value,
// --name=value, one dash or two, a boolean alone for true. Everything else
// is an error that names what was meant.
func parseArgs(args []string, m action.Metadata) (command, error) {
	specs := flagSpecs(m)
	byName := map[string]flagSpec{"h": {name: "help", boolean: true}}
	for _, f := range specs {
		byName[f.name] = f
	}
	cmd := command{inputs: map[string]string{}, plan: DefaultPlanFile}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, ok := flagName(arg)
		if !ok {
			return command{}, usagef("unexpected argument %q: ghcr-prune takes flags only (--name value or --name=value)", arg)
		}
		name, value, hasValue := strings.Cut(name, "=")
		f, known := byName[name]
		if !known {
			return command{}, unknownFlag(name, specs)
		}
		if !hasValue {
			switch {
			case f.boolean:
				value = "true"
			case i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
				i++
				value = args[i]
			default:
				return command{}, usagef("--%s needs a value: --%s %s or --%s=%s", f.name, f.name, f.placeholder, f.name, f.placeholder)
			}
		}
		if seen[f.name] && (f.boolean || !f.input) {
			return command{}, usagef("--%s is given twice", f.name)
		}
		seen[f.name] = true
		if err := cmd.set(f, value); err != nil {
			return command{}, err
		}
	}
	return cmd, nil
}

// flagName is arg without its one or two leading dashes.
func flagName(arg string) (string, bool) {
	name, ok := strings.CutPrefix(arg, "-")
	if !ok {
		return "", false
	}
	name = strings.TrimPrefix(name, "-")
	if name == "" || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "=") {
		return "", false
	}
	return name, true
}

func (c *command) set(f flagSpec, value string) error {
	if f.input {
		if old, ok := c.inputs[f.name]; ok {
			value = old + "\n" + value
		}
		c.inputs[f.name] = value
		return nil
	}
	if !f.boolean {
		if value == "" {
			return usagef("--%s needs a value", f.name)
		}
		switch f.name {
		case "plan":
			c.plan = value
		case "summary":
			c.summary = value
		}
		return nil
	}
	b, err := strconv.ParseBool(value)
	if err != nil {
		return usagef("--%s: %q is not a boolean (use true or false)", f.name, value)
	}
	switch f.name {
	case "yes":
		c.yes = b
	case "help":
		c.help = b
	case "version":
		c.version = b
	case "demo":
		c.demo = b
	case "serve":
		c.serve = b
	}
	return nil
}

// unknownFlag names the flag closest to name.
func unknownFlag(name string, specs []flagSpec) error {
	if name == "token" {
		return usagef("--token: the token is never a flag, so that it stays out of your shell history; %s", tokenWays)
	}
	best, dist := "", -1
	for _, f := range specs {
		if d := editDistance(name, f.name); dist < 0 || d < dist {
			best, dist = f.name, d
		}
	}
	return usagef("unknown flag --%s; did you mean --%s?", name, best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkTarget refuses a run that does not say whose packages, and which:
// outside Actions there is no repository to default them to.
func (c command) checkTarget() error {
	var missing []string
	if c.inputs["owner"] == "" {
		missing = append(missing, "--owner (the user or organization that owns the packages)")
	}
	// package and repository are dataaxiom's ways to name the package.
	if c.inputs["packages"] == "" && c.inputs["package"] == "" && c.inputs["repository"] == "" {
		missing = append(missing, "--packages (the package names, e.g. --packages app)")
	}
	if len(missing) > 0 {
		return usagef("missing %s: outside GitHub Actions there is no repository to default to", strings.Join(missing, " and "))
	}
	return nil
}
