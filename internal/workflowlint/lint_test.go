package workflowlint

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// root is the repository root: the actionlint project whose action.yml
// `uses: ./` resolves to.
const root = "../.."

// newLinter returns an actionlint linter that behaves the same on every
// machine: shellcheck and pyflakes are off (empty names disable them, whether
// or not they are on PATH; the actionlint CLI runs them when installed), no
// config file is given (none is in the repository), errors are returned, not
// printed.
func newLinter(t *testing.T) *actionlint.Linter {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: "",
		Pyflakes:   "",
		Color:      actionlint.ColorOptionKindNever,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pinnedRE matches `uses: owner/repo@<full commit sha> # vN...`. actionlint
// knows the inputs of popular actions by major version only, so before
// linting such a line is read as `uses: owner/repo@vN` (the comment stays):
// the with: keys of pinned actions are checked too. Columns do not matter,
// line numbers are kept.
var pinnedRE = regexp.MustCompile(`(uses:\s*[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)@[0-9a-f]{40}(\s+#\s*(v[0-9]+)\b[0-9A-Za-z.+-]*)`)

func unpin(src []byte) []byte {
	return pinnedRE.ReplaceAll(src, []byte("${1}@${3}${2}"))
}

// lint lints one workflow's content as path inside proj.
func lint(t *testing.T, proj *actionlint.Project, path string, content []byte) []*actionlint.Error {
	t.Helper()
	errs, err := newLinter(t).Lint(path, content, proj)
	if err != nil {
		t.Fatalf("actionlint %s: %v", path, err)
	}
	return errs
}

// mustHaveActionYML fails unless dir has a readable action.yml: actionlint
// silently skips the checks of `uses: ./` when there is none.
func mustHaveActionYML(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "action.yml"))
	if err != nil {
		t.Fatalf("no action.yml to check `uses: ./` against: %v", err)
	}
	return b
}

// actionFiles returns the files of the repository's action a copy needs:
// action.yml, and the Dockerfile its runs.image names (actionlint checks
// that it exists).
func actionFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"action.yml": mustHaveActionYML(t, root)}
	if b, err := os.ReadFile(filepath.Join(root, "Dockerfile")); err == nil {
		files["Dockerfile"] = b
	}
	return files
}

func TestWorkflowsLint(t *testing.T) {
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	mustHaveActionYML(t, abs)
	proj, err := actionlint.NewProject(abs)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(abs, ".github", "workflows", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(abs, f)
		for _, e := range lint(t, proj, f, unpin(src)) {
			t.Errorf("%s:%d:%d: %s [%s]", filepath.ToSlash(rel), e.Line, e.Column, e.Message, e.Kind)
		}
	}
}

// TestWorkflowActionRefs: every action a workflow uses is the local action,
// pinned by full commit SHA with a `# vX` comment, or (where no SHA could be
// verified) a major version tag.
func TestWorkflowActionRefs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	usesRE := regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	okRE := regexp.MustCompile(`^(?:\./|[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@(?:v[0-9]+|[0-9a-f]{40}))$`)
	shaRE := regexp.MustCompile(`@[0-9a-f]{40}$`)
	commentRE := regexp.MustCompile(`^\s+#\s*v[0-9]`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			m := usesRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			ref, rest := m[1], m[2]
			switch {
			case !okRE.MatchString(ref):
				t.Errorf("%s:%d: uses %q: want ./, owner/repo@<40-hex sha> # vX, or owner/repo@vN", f, i+1, ref)
			case shaRE.MatchString(ref) && !commentRE.MatchString(rest):
				t.Errorf("%s:%d: %s is pinned by SHA without a `# vX` comment", f, i+1, ref)
			}
		}
	}
}

// A README example, and how it is linted.
type block struct {
	line int    // README line of the block's first line (after the fence)
	text string // the block, with the fence's indentation removed
}

var (
	fenceRE    = regexp.MustCompile("^([ \t]*)(`{3,})[ \t]*([^` \t]*)[^`]*$")
	ourUsesRE  = regexp.MustCompile(`(uses:\s*)ghcr-prune/ghcr-prune@\S+`)
	yamlInfoRE = regexp.MustCompile(`^(?i:ya?ml)$`)
)

// yamlBlocks returns the ```yaml (or ```yml) fenced blocks of a Markdown
// document. Other fenced blocks are skipped whole, so a fence inside them is
// not taken for a block. An unterminated fence is an error.
func yamlBlocks(md []byte) ([]block, error) {
	lines := strings.Split(string(md), "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(strings.TrimRight(lines[i], "\r"))
		if m == nil {
			continue
		}
		indent, fence, info := m[1], m[2], m[3]
		start := i + 1
		end := -1
		for j := start; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j])
			if strings.HasPrefix(l, fence) && strings.Trim(l, "`") == "" {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("README.md:%d: unterminated %s%s fence", i+1, fence, info)
		}
		if yamlInfoRE.MatchString(info) {
			var b strings.Builder
			for _, l := range lines[start:end] {
				l = strings.TrimRight(l, "\r")
				if strings.HasPrefix(l, indent) {
					l = l[len(indent):]
				} else {
					l = strings.TrimLeft(l, " \t")
				}
				b.WriteString(l)
				b.WriteByte('\n')
			}
			out = append(out, block{line: start + 1, text: b.String()})
		}
		i = end
	}
	return out, nil
}

type kind string

const (
	kindWorkflow kind = "workflow"
	kindSteps    kind = "steps"
	kindStep     kind = "step"
	kindInputs   kind = "inputs"
)

// classify decides how a README block is linted:
//
//   - a mapping with top-level `on:` and `jobs:` is a workflow, linted as is;
//   - a list of mappings each with `uses:` or `run:` is a list of steps, and a
//     mapping with `uses:` (and no `on:`/`jobs:`) is one step; either is wrapped
//     in a minimal workflow (on: workflow_dispatch, one ubuntu-latest job);
//   - any other mapping whose values are all scalars (strings, numbers,
//     booleans, block scalars) is a fragment of ghcr-prune's `with:` inputs
//     (the only thing such a fragment can be in this README): it is wrapped as
//     the `with:` of a `uses: ./` step, so every key must be an input of
//     action.yml;
//   - anything else (a workflow without `on:`, a list of scalars, a `jobs:`
//     fragment, a mapping of mappings, a document that does not parse) cannot
//     be classified and fails the test, so no example is skipped silently.
func classify(text string) (kind, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return "", fmt.Errorf("not YAML: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return "", fmt.Errorf("empty block")
	}
	n := doc.Content[0]
	keys := map[string]*yaml.Node{}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys[n.Content[i].Value] = n.Content[i+1]
		}
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch n.Kind {
	case yaml.MappingNode:
		switch {
		case has("on") && has("jobs"):
			return kindWorkflow, nil
		case has("on") || has("jobs") || has("steps"):
			return "", fmt.Errorf("a workflow fragment (needs both on: and jobs:)")
		case has("uses"):
			return kindStep, nil
		case has("run"):
			return kindStep, nil
		}
		for k, v := range keys {
			if v.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("not a workflow, steps or with: inputs (key %q has a %s value)", k, kindName(v))
			}
		}
		return kindInputs, nil
	case yaml.SequenceNode:
		for _, it := range n.Content {
			if it.Kind != yaml.MappingNode {
				return "", fmt.Errorf("a list of something other than steps (line %d)", it.Line)
			}
			step := false
			for i := 0; i+1 < len(it.Content); i += 2 {
				if k := it.Content[i].Value; k == "uses" || k == "run" {
					step = true
				}
			}
			if !step {
				return "", fmt.Errorf("a list item without uses: or run: (line %d)", it.Line)
			}
		}
		return kindSteps, nil
	}
	return "", fmt.Errorf("a %s, not a workflow, steps or with: inputs", kindName(n))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// wrap returns the workflow to lint for a classified block and the number of
// lines put before the block's first line.
func wrap(k kind, text string) (string, int) {
	const job = "on: workflow_dispatch\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
	var head string
	var indent int
	switch k {
	case kindWorkflow:
		return text, 0
	case kindSteps:
		head, indent = job, 6
	case kindStep:
		head, indent = job+"      -\n", 8
	case kindInputs:
		head, indent = job+"      - uses: ./\n        with:\n", 10
	}
	// Re-indent: remove the block's common indentation, add the wrapper's.
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); common < 0 || n < common {
			common = n
		}
	}
	var b strings.Builder
	b.WriteString(head)
	pad := strings.Repeat(" ", indent)
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(pad + l[common:] + "\n")
	}
	return b.String(), strings.Count(head, "\n")
}

// A finding is a lint error (or an unclassifiable block) at a README line.
type finding struct {
	line int
	msg  string
}

func (f finding) String() string { return fmt.Sprintf("README.md:%d: %s", f.line, f.msg) }

// lintMarkdown lints every YAML example of md in a temporary project whose
// root has the action's files (action.yml, Dockerfile), each as .github/workflows/readme-N.yml, with
// `uses: ghcr-prune/ghcr-prune@<anything>` read as `uses: ./`. It returns
// the findings and how many blocks use ghcr-prune.
func lintMarkdown(t *testing.T, md []byte, action map[string][]byte) (findings []finding, ours int) {
	t.Helper()
	blocks, err := yamlBlocks(md)
	if err != nil {
		return []finding{{0, err.Error()}}, 0
	}
	if len(blocks) == 0 {
		return []finding{{0, "no ```yaml blocks"}}, 0
	}
	dir := t.TempDir()
	wfDir := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(wfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range action {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proj, err := actionlint.NewProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		k, err := classify(b.text)
		if err != nil {
			findings = append(findings, finding{b.line - 1, "```yaml block cannot be classified: " + err.Error()})
			continue
		}
		text := b.text
		if ourUsesRE.MatchString(text) {
			ours++
			text = ourUsesRE.ReplaceAllString(text, "${1}./")
		}
		wf, offset := wrap(k, text)
		t.Logf("README.md:%d: %s example, linted as readme-%d.yml", b.line, k, i+1)
		path := filepath.Join(wfDir, fmt.Sprintf("readme-%d.yml", i+1))
		if err := os.WriteFile(path, []byte(wf), 0o644); err != nil {
			t.Fatal(err)
		}
		errs, err := newLinter(t).LintFile(path, proj)
		if err != nil {
			t.Fatalf("actionlint %s: %v", path, err)
		}
		for _, e := range errs {
			line := b.line - 1 // the fence, for an error in the wrapper
			if e.Line > offset {
				line = b.line + e.Line - offset - 1
			}
			findings = append(findings, finding{line, fmt.Sprintf("%s example (block at line %d): %s [%s]", k, b.line, e.Message, e.Kind)})
		}
	}
	return findings, ours
}

func TestREADMEExamplesLint(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	findings, ours := lintMarkdown(t, md, actionFiles(t))
	for _, f := range findings {
		t.Error(f)
	}
	if ours == 0 {
		t.Error("no README example uses ghcr-prune/ghcr-prune@...: nothing was checked against action.yml")
	}
}

// TestREADMEHarness proves the README check catches bad examples, at the
// right line, and passes good ones.
func TestREADMEHarness(t *testing.T) {
	action := actionFiles(t)
	fence := "```"
	for _, tc := range []struct {
		name string
		md   string
		line int    // README line of the expected finding; 0: no finding
		want string // substring of the finding
	}{
		{"steps with an unknown input", "# x\n\n" + fence + "yaml\n      - uses: ghcr-prune/ghcr-prune@v1\n        with:\n          older-than: 2 weeks\n          delete-tagz: pr-*\n" + fence + "\n",
			7, `"delete-tagz" is not defined`},
		{"workflow with an unknown input", fence + "yaml\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ghcr-prune/ghcr-prune@main\n        with:\n          dry-runn: false\n" + fence + "\n",
			9, `"dry-runn" is not defined`},
		{"one step, indented fence", "- item\n\n  " + fence + "yaml\n  uses: ghcr-prune/ghcr-prune@v1\n  with:\n    keep-n-taged: 3\n  " + fence + "\n",
			6, `"keep-n-taged" is not defined`},
		{"inputs fragment", fence + "yml\ndelete-tags: pr-*\nolder_than: 3d\n" + fence + "\n",
			3, `"older_than" is not defined`},
		{"bad expression", fence + "yaml\n- uses: ghcr-prune/ghcr-prune@v1\n  with:\n    dry-run: ${{ github.nope }}\n" + fence + "\n",
			4, `property "nope" is not defined`},
		{"unclassifiable: list of strings", fence + "yaml\n- a\n- b\n" + fence + "\n", 1, "cannot be classified"},
		{"unclassifiable: jobs without on", fence + "yaml\njobs:\n  a:\n    runs-on: ubuntu-latest\n" + fence + "\n", 1, "cannot be classified"},
		{"unclassifiable: mapping of mappings", fence + "yaml\nwith:\n  a: b\n" + fence + "\n", 1, "cannot be classified"},
		{"unclassifiable: not YAML", fence + "yaml\na: [\n" + fence + "\n", 1, "cannot be classified"},
		{"unterminated fence", "text\n" + fence + "yaml\n- uses: ghcr-prune/ghcr-prune@v1\n", 0, "unterminated"},
		{"no yaml blocks", fence + "sh\ngo test ./...\n" + fence + "\n", 0, "no ```yaml blocks"},
		{"good examples", fence + "yaml\n      - uses: ghcr-prune/ghcr-prune@v1\n        with:\n          delete-tags: pr-*\n          dry-run: false\n" + fence + "\n\n" +
			fence + "json\n{\"not\": \"yaml\"}\n" + fence + "\n\n" +
			fence + "\n" + fence + "yaml\nnot: [a block\n" + fence + "\n" + // a fence inside a plain block is not a block
			fence + "yaml\nvalidate: true\nolder-than: |\n  3d\n" + fence + "\n", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings, _ := lintMarkdown(t, []byte(tc.md), action)
			if tc.line < 0 {
				for _, f := range findings {
					t.Errorf("unexpected finding: %s", f)
				}
				return
			}
			for _, f := range findings {
				if strings.Contains(f.msg, tc.want) && f.line == tc.line {
					return
				}
			}
			t.Errorf("want a finding at line %d containing %q, got %v", tc.line, tc.want, findings)
		})
	}
}

// TestLocalActionChecked proves `uses: ./` in the repository's workflows is
// checked against the real action.yml (actionlint ignores a missing one), and
// that the inputs of a SHA-pinned popular action are checked too.
func TestLocalActionChecked(t *testing.T) {
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := actionlint.NewProject(abs)
	if err != nil {
		t.Fatal(err)
	}
	wf := []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n" +
		"      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with:\n          fetch-deptth: 0\n" +
		"      - uses: ./\n        with:\n          delete-tagz: x\n")
	errs := lint(t, proj, filepath.Join(abs, ".github", "workflows", "selftest.yml"), unpin(wf))
	var msgs bytes.Buffer
	for _, e := range errs {
		fmt.Fprintln(&msgs, e.Error())
	}
	for _, want := range []string{`:11:`, `"delete-tagz" is not defined`, `:8:`, `"fetch-deptth" is not defined`} {
		if !strings.Contains(msgs.String(), want) {
			t.Errorf("want %q in the errors; got:\n%s", want, msgs.String())
		}
	}
}
