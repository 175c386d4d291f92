package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
	"github.com/ghcr-prune/ghcr-prune/internal/cli"
	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

// cliRun is what one run of the command line left behind.
type cliRun struct {
	code           int
	stdout, stderr string
	plan, summary  []byte
	planPath       string
}

// cliOptions change the process the command line runs in.
type cliOptions struct {
	stdin    io.Reader
	terminal bool // stdin, stdout and stderr are terminals
	ctx      context.Context
	every    time.Duration // progress interval
	getenv   map[string]string
}

// cli runs the command line in-process against the fake, with the base
// flags (owner, both URLs, packages unless args give them) and args, the token in GITHUB_TOKEN,
// and the plan file and summary in a temporary directory.
func (e *e2e) cli(args []string, o cliOptions) cliRun {
	e.t.Helper()
	dir := e.t.TempDir()
	r := cliRun{planPath: filepath.Join(dir, "plan.json")}
	summary := filepath.Join(dir, "summary.md")
	base := []string{"--owner", e.owner, "--github-api-url", e.srv.URL(), "--registry-url", e.srv.URL(), "--plan", r.planPath, "--summary", summary}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--packages") }) {
		base = append(base, "--packages", e.pkg)
	}
	if o.stdin == nil {
		o.stdin = strings.NewReader("")
	}
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	vars := map[string]string{"GITHUB_TOKEN": testToken}
	for k, v := range o.getenv {
		vars[k] = v
	}
	var stdout, stderr syncBuffer
	r.code = cli.Main(o.ctx, cli.Env{
		Args:  append(base, args...),
		Stdin: o.stdin, Stdout: &stdout, Stderr: &stderr,
		Getenv:        func(k string) string { return vars[k] },
		StdinTerminal: o.terminal, StdoutTerminal: o.terminal, StderrTerminal: o.terminal,
		GHToken:       func(context.Context) (string, error) { return "", fmt.Errorf("gh is not installed here") },
		ProgressEvery: o.every,
		Setup:         testSetup,
	})
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.plan, _ = os.ReadFile(r.planPath)
	r.summary, _ = os.ReadFile(summary)
	if strings.Contains(r.stdout+r.stderr+string(r.plan)+string(r.summary), testToken) {
		e.t.Fatal("the token was printed")
	}
	return r
}

// syncBuffer is a buffer the progress goroutine and the run share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (r cliRun) ok(t *testing.T) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// fixedManifest is an image manifest whose bytes depend only on name, so
// that two fakes seeded alike hold the same digests.
func fixedManifest(name string, annotations map[string]string) []byte {
	sum := sha256.Sum256([]byte(name))
	doc := map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifestType,
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hex.EncodeToString(sum[:]), "size": 2},
		"layers":        []any{},
	}
	if annotations != nil {
		doc["annotations"] = annotations
	}
	raw, _ := json.Marshal(doc)
	return raw
}

// fixedIndex is an index over children, each with its platform.
func fixedIndex(children map[string]string) []byte {
	var platforms []string
	for p := range children {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	var manifests []any
	for _, p := range platforms {
		os, arch, _ := strings.Cut(p, "/")
		manifests = append(manifests, map[string]any{"mediaType": ociManifestType, "digest": children[p], "size": 100, "platform": map[string]string{"os": os, "architecture": arch}})
	}
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociIndexType, "manifests": manifests})
	return raw
}

// put stores raw under ref (a tag, or "" for its digest) and ages it.
func (e *e2e) put(ref string, raw []byte, mediaType string, age time.Duration) string {
	e.t.Helper()
	if ref == "" {
		ref = digestOf(raw)
	}
	d, status, err := e.srv.PutManifest(e.owner, e.pkg, ref, mediaType, raw)
	if err != nil || status != http.StatusCreated {
		e.t.Fatalf("putting %s: %d %v", ref, status, err)
	}
	e.age(d, age)
	return d
}

// seedFixed builds the same package in any fake: untagged and tagged
// images, a multi-arch prod, the previous prod untagged, a signature whose
// subject is gone, a ghost index and a partial one; every rule has
// something to decide.
func (e *e2e) seedFixed() {
	e.t.Helper()
	img := func(name, tag string, age time.Duration) string {
		return e.put(tag, fixedManifest(name, nil), ociManifestType, age)
	}
	multi := func(name, tag string, age, childAge time.Duration) (string, []string) {
		amd, arm := img(name+"-amd64", "", childAge), img(name+"-arm64", "", childAge)
		return e.put(tag, fixedIndex(map[string]string{"linux/amd64": amd, "linux/arm64": arm}), ociIndexType, age), []string{amd, arm}
	}
	img("old-untagged", "", 9*day)
	img("recent-untagged", "", 2*time.Hour)
	img("pr-1", "pr-1", 9*day)
	img("pr-2", "pr-2", 8*day)
	c := img("pr-3", "pr-3", 7*day)
	e.tag(c, "v1")
	e.age(c, 7*day) // a tag is an update
	multi("prod", "prod", 20*day, 25*day)
	multi("previous", "", 4*day, 25*day)
	gone := sha256.Sum256([]byte("a subject that was never pushed"))
	img("orphan-sig", "sha256-"+hex.EncodeToString(gone[:])+".sig", 9*day)
	_, ghostChildren := multi("ghost", "old-release", 30*day, 30*day)
	for _, d := range ghostChildren {
		e.restDelete(d)
	}
	_, partialChildren := multi("partial", "rc", 30*day, 30*day)
	e.restDelete(partialChildren[0])
	e.srv.ResetStats()
}

// sameRun makes two fakes seeded alike, one for the action and one for the
// command line, with the URL of the second written as the first's in what is
// compared.
func sameRun(t *testing.T) (viaAction, viaCLI *e2e, normalize func([]byte) []byte) {
	viaAction = newE2E(t, "acme", "app", true)
	viaCLI = newE2E(t, "acme", "app", true)
	viaAction.seedFixed()
	viaCLI.seedFixed()
	return viaAction, viaCLI, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(viaCLI.srv.URL()), []byte(viaAction.srv.URL()))
	}
}

// Every input of the action is a flag of the command line, and the same
// values make the same plan file and job summary. A new input needs a row.
func TestCLIFlagsMatchInputs(t *testing.T) {
	shared := t.TempDir()
	reviewed := filepath.Join(shared, "reviewed.json")
	cacheDir := filepath.Join(shared, "cache")
	rows := map[string]map[string]string{
		"owner":                  {}, // given in every row, as are packages and both URLs
		"packages":               {"packages": "app"},
		"dry-run":                {"dry-run": "false"},
		"delete-untagged":        {"delete-untagged": "true", "delete-tags": "pr-*"},
		"delete-tags":            {"delete-tags": "pr-*"},
		"exclude-tags":           {"delete-tags": "pr-*", "exclude-tags": "v1"},
		"keep-n-tagged":          {"delete-tags": "pr-*", "keep-n-tagged": "1"},
		"keep-n-untagged":        {"keep-n-untagged": "1"},
		"older-than":             {"older-than": "5d"},
		"use-regex":              {"use-regex": "true", "delete-tags": "pr-[12]"},
		"delete-orphaned-images": {"delete-orphaned-images": "true"},
		"delete-ghost-images":    {"delete-ghost-images": "true"},
		"delete-partial-images":  {"delete-partial-images": "true"},
		"registry-url":           {},
		"github-api-url":         {},
		"apply-plan":             {"delete-tags": "pr-*", "apply-plan": reviewed},
		"restore-from":           {"dry-run": "false"}, // ids filled in after a deletion
		"validate":               {"validate": "true"},
		"fail-on-broken":         {"fail-on-broken": "true"},
		"cache-dir":              {"cache-dir": cacheDir},
		"max-deletions":          {"max-deletions": "2"},
		"list-packages":          {"list-packages": "true"},
		"min-age":                {"min-age": "5d"},
		"group-tags":             {"delete-tags": "*", "group-tags": "^(pr)-[0-9]+$", "keep-n-tagged": "1"},
		"keep-referenced-in":     {"keep-referenced-in": "cli_test.go"},
		"compare-to":             {"delete-tags": "pr-*", "compare-to": reviewed},
		"package":                {"packages": "", "package": "app"},
		"tags":                   {"tags": "pr-*"},
		"repository":             {"packages": "", "repository": "acme/app"},
		"expand-packages":        {"expand-packages": "true", "use-regex": "true", "packages": "a.p"},
		"log-level":              {"log-level": "debug"},
	}
	for _, in := range testSetup.Metadata.Inputs {
		if _, ok := rows[in.Name]; !ok && in.Name != "token" { // the token is never a flag: GITHUB_TOKEN
			t.Errorf("input %s has no row: add one that uses it", in.Name)
		}
	}
	// The plan apply-plan and compare-to read: the rules' own dry run.
	first := newE2E(t, "acme", "app", true)
	first.seedFixed()
	r := first.run(inputsOf("delete-tags", "pr-*", "github-api-url", first.srv.URL()))
	first.ok(r)
	if err := os.WriteFile(reviewed, r.plan, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, row := range rows {
		t.Run(name, func(t *testing.T) {
			viaAction, viaCLI, normalize := sameRun(t)
			inputs := map[string]string{"github-api-url": viaAction.srv.URL()}
			for k, v := range row {
				inputs[k] = v
			}
			if name == "restore-from" {
				ids := deleteFirst(t, viaAction, viaCLI)
				inputs["restore-from"] = ids
			}
			want := viaAction.run(inputs)
			var args []string
			for k, v := range inputs {
				if k != "github-api-url" && k != "packages" {
					args = append(args, "--"+k+"="+v)
				}
			}
			if v, ok := inputs["packages"]; ok {
				args = append(args, "--packages="+v)
			}
			if inputs["dry-run"] == "false" {
				args = append(args, "--yes")
			}
			got := viaCLI.cli(args, cliOptions{})
			if (got.code == 0) != (want.err == nil) {
				t.Fatalf("the action: %v; the command line: exit %d\n%s", want.err, got.code, got.stderr)
			}
			if want.summary == "" || (len(want.plan) == 0 && name != "restore-from" && name != "list-packages") {
				t.Fatalf("the action wrote no summary or plan file to compare: %v\n%s", want.err, want.log)
			}
			if g := normalize(got.plan); !bytes.Equal(g, want.plan) {
				t.Errorf("plan files differ:\naction:\n%s\ncommand line:\n%s", want.plan, g)
			}
			if g := normalize(got.summary); string(g) != want.summary {
				t.Errorf("summaries differ:\naction:\n%s\ncommand line:\n%s", want.summary, g)
			}
		})
	}
}

// deleteFirst deletes pr-* in both fakes, through the action in one and the
// command line in the other, and returns the ids (the same in both).
func deleteFirst(t *testing.T, viaAction, viaCLI *e2e) string {
	t.Helper()
	r := viaAction.run(applied("delete-tags", "pr-*", "github-api-url", viaAction.srv.URL()))
	viaAction.ok(r)
	c := viaCLI.cli([]string{"--delete-tags", "pr-*", "--dry-run=false", "--yes"}, cliOptions{})
	c.ok(t)
	if !strings.Contains(c.stdout, r.outputs["deleted-ids"]) || r.outputs["deleted-ids"] == "" {
		t.Fatalf("the two deletions differ: %q\n%s", r.outputs["deleted-ids"], c.stdout)
	}
	return r.outputs["deleted-ids"]
}

// The command line's output is the summary's content, as text; the plan
// file and summary paths are printed.
func TestCLIPrintsThePlan(t *testing.T) {
	e := newE2E(t, "acme", "app", true)
	e.seedFixed()
	r := e.cli([]string{"--delete-tags", "pr-*"}, cliOptions{})
	r.ok(t)
	for _, want := range []string{
		"ghcr-prune: dry run, 2 versions would be deleted",
		"Token: classic personal access token (ghp_)",
		"Would delete 2 versions, in this order:",
		"tag pr-1 matches delete-tags",
		"Would remove 1 tag from images that stay:",
		"Kept ",
		"Warnings:",
		"ghost image",
		"Plan file: " + r.planPath,
		"Job summary: ",
		"To delete what is listed, run again with --dry-run=false.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("colour on a stdout that is not a terminal")
	}
	if strings.Contains(r.stderr, "::") {
		t.Errorf("workflow commands reached the terminal:\n%s", r.stderr)
	}
	colored := e.cli([]string{"--delete-tags", "pr-*"}, cliOptions{terminal: true})
	if !strings.Contains(colored.stdout, "\x1b[1m") {
		t.Error("no colour on a terminal")
	}
	plain := e.cli([]string{"--delete-tags", "pr-*"}, cliOptions{terminal: true, getenv: map[string]string{"NO_COLOR": "1"}})
	if strings.Contains(plain.stdout, "\x1b[") {
		t.Error("colour despite NO_COLOR")
	}
}

// Without a terminal to ask on, --dry-run=false is refused before any
// request, unless --yes.
func TestCLIRefusesToDeleteWithoutATerminal(t *testing.T) {
	e := newE2E(t, "acme", "app", true)
	e.seedFixed()
	before := e.remaining()
	e.srv.ResetStats()
	r := e.cli([]string{"--delete-tags", "pr-*", "--dry-run=false"}, cliOptions{stdin: strings.NewReader("y\n")})
	if r.code != 2 || !strings.Contains(r.stderr, "give --yes") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if st := e.srv.Stats(); st.Total != 0 {
		t.Errorf("%d requests before refusing", st.Total)
	}
	if len(r.plan) != 0 {
		t.Error("a refused run wrote a plan file")
	}
	r = e.cli([]string{"--delete-tags", "pr-*", "--dry-run=false", "--yes"}, cliOptions{})
	r.ok(t)
	if got := len(before) - len(e.remaining()); got != 2 {
		t.Errorf("--yes deleted %d versions, want 2", got)
	}
	if !strings.Contains(r.stdout, "ghcr-prune: 2 versions deleted") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// answer is a terminal's standard input: before it answers, something
// else changes the package (a push, a tag), as could happen while a person
// reads the plan.
type answer struct {
	before func()
	text   string
	once   sync.Once
	r      io.Reader
}

func (a *answer) Read(p []byte) (int, error) {
	a.once.Do(func() {
		if a.before != nil {
			a.before()
		}
		a.r = strings.NewReader(a.text)
	})
	return a.r.Read(p)
}

// On a terminal the plan is shown, then the question; yes deletes what was
// shown and nothing else, even when the package changed meanwhile.
func TestCLIAsksOnATerminal(t *testing.T) {
	t.Run("no", func(t *testing.T) {
		e := newE2E(t, "acme", "app", true)
		e.seedFixed()
		before := e.remaining()
		r := e.cli([]string{"--delete-tags", "pr-*", "--dry-run=false"}, cliOptions{terminal: true, stdin: &answer{text: "n\n"}})
		r.ok(t)
		if !strings.Contains(r.stderr, "Delete 2 versions of 1 package from acme and remove 1 tag? [y/N] ") {
			t.Errorf("no question:\n%s", r.stderr)
		}
		if !strings.Contains(r.stdout, "Would delete 2 versions") || !strings.Contains(r.stdout, "Nothing was deleted.") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		e.expectRemaining(before...)
		if n := e.srv.Stats().REST[http.MethodDelete]; n != 0 {
			t.Errorf("%d DELETEs after a no", n)
		}
	})
	t.Run("yes", func(t *testing.T) {
		e := newE2E(t, "acme", "app", true)
		e.seedFixed()
		pr1 := digestOf(fixedManifest("pr-1", nil))
		var late string
		a := &answer{text: "y\n", before: func() {
			e.tag(pr1, "keep-me")         // shown as deleted, kept now
			late = e.image("pr-9", 9*day) // never shown: not deleted
		}}
		r := e.cli([]string{"--delete-tags", "pr-*", "--dry-run=false"}, cliOptions{terminal: true, stdin: a})
		r.ok(t)
		if !strings.Contains(r.stdout, "Would delete 2 versions") || !strings.Contains(r.stdout, "ghcr-prune: 1 version deleted") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		remaining := e.remaining()
		for _, d := range []string{pr1, late} {
			if !slices.Contains(remaining, d) {
				t.Errorf("%s was deleted, but the plan shown did not delete it now", d)
			}
		}
		if slices.Contains(remaining, digestOf(fixedManifest("pr-2", nil))) {
			t.Error("pr-2 was shown and confirmed, and not deleted")
		}
		var plan struct {
			Inputs   map[string]string `json:"inputs"`
			Packages []struct {
				Skipped []struct{ Digest string } `json:"skipped"`
			} `json:"packages"`
		}
		if err := json.Unmarshal(r.plan, &plan); err != nil {
			t.Fatal(err)
		}
		if plan.Inputs["apply-plan"] != r.planPath || len(plan.Packages) != 1 || len(plan.Packages[0].Skipped) == 0 {
			t.Errorf("the applied run was not confined to the plan shown: %s", r.plan)
		}
	})
}

// Ctrl-C during deletions stops after the DELETE in flight, which is not
// cut off: GitHub carries it out, and the plan file and summary say so.
func TestCLIInterruptStopsAfterTheDeleteInFlight(t *testing.T) {
	e := newE2E(t, "acme", "app", true)
	e.seedFixed()
	ctx, interrupt := context.WithCancelCause(context.Background())
	defer interrupt(nil)
	var deletes atomic.Int32
	e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && deletes.Add(1) == 2 {
			interrupt(cli.ErrInterrupted)
			time.Sleep(200 * time.Millisecond) // long enough for a cancelled client to give up
		}
		return false
	})
	before := e.remaining()
	r := e.cli([]string{"--delete-tags", "pr-*", "--delete-untagged", "--dry-run=false", "--yes"}, cliOptions{ctx: ctx})
	if r.code != 130 {
		t.Fatalf("exit %d, want 130\n%s", r.code, r.stderr)
	}
	gone := without(before, e.remaining()...)
	if len(gone) != 2 || deletes.Load() != 2 {
		t.Fatalf("%d deleted with %d DELETEs, want the 2 sent", len(gone), deletes.Load())
	}
	var plan struct {
		Packages []struct {
			Delete []struct {
				Digest, Outcome string
			} `json:"delete"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(r.plan, &plan); err != nil {
		t.Fatalf("no plan file after Ctrl-C: %v", err)
	}
	var deleted, notAttempted []string
	for _, d := range plan.Packages[0].Delete {
		switch d.Outcome {
		case "deleted":
			deleted = append(deleted, d.Digest)
		case "not attempted":
			notAttempted = append(notAttempted, d.Digest)
		}
	}
	slices.Sort(deleted)
	slices.Sort(gone)
	if !slices.Equal(deleted, gone) || len(notAttempted) != len(plan.Packages[0].Delete)-2 {
		t.Errorf("the plan file says deleted %v, not attempted %v; the fake lost %v", deleted, notAttempted, gone)
	}
	if !strings.Contains(string(r.summary), fmt.Sprintf("Deleted 2 of %d planned versions", len(plan.Packages[0].Delete))) || !strings.Contains(r.stdout, "stopped before deleting") {
		t.Errorf("summary:\n%s\nstdout:\n%s", r.summary, r.stdout)
	}
}

// Progress lines appear on work that outlasts the interval and not on work
// that does not.
func TestCLIProgress(t *testing.T) {
	slow := newE2E(t, "acme", "app", true, fakeghcr.WithLatency(40*time.Millisecond))
	slow.seedFixed()
	r := slow.cli([]string{"--delete-tags", "pr-*", "--dry-run=false", "--yes"}, cliOptions{every: 30 * time.Millisecond})
	r.ok(t)
	lines := strings.Count(r.stderr, "ghcr-prune ")
	if lines < 3 || !strings.Contains(r.stderr, "app: ") || !strings.Contains(r.stderr, "manifests (") || !strings.Contains(r.stderr, "deleted ") {
		t.Errorf("%d progress lines on a slow fake:\n%s", lines, r.stderr)
	}
	fast := newE2E(t, "acme", "app", true)
	fast.seedFixed()
	r = fast.cli([]string{"--delete-tags", "pr-*"}, cliOptions{every: 5 * time.Second})
	r.ok(t)
	if strings.Contains(r.stderr, "ghcr-prune ") {
		t.Errorf("progress on a fast run:\n%s", r.stderr)
	}
}

// The binary: a pipe is not a terminal, INPUT_* variables do not reach the
// command line, and with no arguments in Actions it is the action.
func TestCLIBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ghcr-prune")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e := newE2E(t, "acme", "app", true)
	e.seedFixed()
	before := e.remaining()
	dir := t.TempDir()
	flags := []string{"--owner", "acme", "--packages", "app", "--delete-tags", "pr-*", "--github-api-url", e.srv.URL(), "--registry-url", e.srv.URL()}
	run := func(stdin string, env []string, args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Stdin = dir, strings.NewReader(stdin)
		cmd.Env = append([]string{"PATH=", "HOME=" + dir}, env...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	t.Run("a pipe is not a terminal", func(t *testing.T) {
		e.srv.ResetStats()
		out, code := run("y\n", []string{"GITHUB_TOKEN=" + testToken}, append(flags, "--dry-run=false")...)
		if code != 2 || !strings.Contains(out, "standard input is not a terminal") || e.srv.Stats().Total != 0 {
			t.Errorf("exit %d, %d requests:\n%s", code, e.srv.Stats().Total, out)
		}
	})
	t.Run("INPUT_ variables are ignored", func(t *testing.T) {
		out, code := run("", []string{"GITHUB_TOKEN=" + testToken, "INPUT_DRY-RUN=false", "INPUT_DELETE-TAGS=*"}, flags...)
		if code != 0 || !strings.Contains(out, "dry run, 2 versions would be deleted") {
			t.Errorf("exit %d:\n%s", code, out)
		}
		e.expectRemaining(before...)
		if _, err := os.Stat(filepath.Join(dir, cli.DefaultPlanFile)); err != nil {
			t.Errorf("no plan file in the current directory: %v", err)
		}
	})
	t.Run("no token", func(t *testing.T) {
		out, code := run("", nil, flags...)
		if code != 1 || !strings.Contains(out, "GITHUB_TOKEN or GH_TOKEN") || !strings.Contains(out, "gh auth token") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("GH_TOKEN", func(t *testing.T) {
		if out, code := run("", []string{"GH_TOKEN=" + testToken}, flags...); code != 0 {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("help and version", func(t *testing.T) {
		out, code := run("", nil, "--help")
		if code != 0 || !strings.Contains(out, "--older-than VALUE") || !strings.Contains(out, "--dry-run[=true|false]") {
			t.Errorf("--help: exit %d:\n%s", code, out)
		}
		out, code = run("", nil, "-version")
		if code != 0 || !strings.HasPrefix(out, "ghcr-prune ") {
			t.Errorf("-version: exit %d: %s", code, out)
		}
		out, code = run("", nil, "--older-then", "2w")
		if code != 2 || !strings.Contains(out, "did you mean --older-than?") {
			t.Errorf("a typo: exit %d: %s", code, out)
		}
		out, code = run("", nil)
		if code != 2 || !strings.Contains(out, "Usage:") {
			t.Errorf("no arguments outside Actions: exit %d: %s", code, out)
		}
	})
	t.Run("in Actions without arguments it is the action", func(t *testing.T) {
		output := filepath.Join(dir, "output")
		for _, f := range []string{output, filepath.Join(dir, "summary.md")} {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, code := run("", []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=acme/app", "GITHUB_REPOSITORY_OWNER=acme",
			"GITHUB_API_URL=" + e.srv.URL(), "GITHUB_OUTPUT=" + output, "GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary.md"),
			"RUNNER_TEMP=" + dir, "INPUT_TOKEN=" + testToken, "INPUT_REGISTRY-URL=" + e.srv.URL(), "INPUT_DELETE-TAGS=pr-*", "INPUT_DRY-RUN=true"})
		raw, _ := os.ReadFile(output)
		if code != 0 || !strings.Contains(out, "::add-mask::") || action.ParseOutputs(string(raw))["planned-count"] != "2" {
			t.Errorf("exit %d, outputs %q:\n%s", code, raw, out)
		}
	})
}
