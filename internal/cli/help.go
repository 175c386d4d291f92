package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
)

const usageLine = `Usage:
  ghcr-prune --owner OWNER --packages NAMES [--INPUT VALUE]...
  ghcr-prune --demo [--serve]
`

// writeHelp lists every flag with its description and default. The inputs'
// come from action.yml, so the flags and the action's inputs cannot drift.
func writeHelp(w io.Writer, m action.Metadata) {
	fmt.Fprintf(w, `ghcr-prune runs the GitHub Action's cleanup of GitHub Container Registry from your
machine: the same engine and inputs, the plan printed, and nothing deleted unless
you ask with --dry-run=false and confirm.

%s
Every input of the action is a flag of the same name: --older-than 2w,
--delete-tags 'pr-*', --validate, --dry-run=false. Repeat a flag to give a list
(or use commas where the input takes them).

The token comes from GITHUB_TOKEN, else GH_TOKEN, else 'gh auth token' (the
GitHub CLI). It is never a flag, so it stays out of your shell history.

Inputs (action.yml):
`, usageLine)
	specs := flagSpecs(m)
	for _, f := range specs {
		if f.input {
			writeFlag(w, f)
		}
	}
	fmt.Fprint(w, "\nCommand line:\n")
	for _, f := range specs {
		if !f.input {
			writeFlag(w, f)
		}
	}
}

func writeFlag(w io.Writer, f flagSpec) {
	head := "  --" + f.name
	switch {
	case f.boolean:
		head += "[=true|false]"
	default:
		head += " " + f.placeholder
	}
	switch {
	case slices.Contains(requiredInputs, f.name):
		head += "  (required)"
	case f.def != "":
		head += fmt.Sprintf("  (default %q)", f.def)
	}
	fmt.Fprintln(w, head)
	for _, line := range wrap(f.description, 74) {
		fmt.Fprintln(w, "      "+line)
	}
}

// wrap breaks s into lines of at most width columns, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(s) {
		if cur.Len() > 0 && cur.Len()+1+len(word) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteString(" ")
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
