package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// The local side of hostile data: what outside data can make the run write
// to the log, which plan files restore-from and apply-plan accept, where the
// run writes its files, and what is left once a deletion was made and the
// run then fails.

// hostileText is what an error body or a plan file carries to run workflow
// commands from the log.
const hostileText = "nope\n::error::pwned\n::stop-commands::x\r\n##[error]pwned"

// runnerCommands are the workflow commands the runner finds in log, by its
// two parsers (actions/runner, ActionCommand): "::name ...::data" once
// leading blanks are trimmed, else "##[name ...]" anywhere in the line. The
// runner splits the log at CR and LF.
func runnerCommands(log string) []string {
	var cmds []string
	for _, line := range strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' }) {
		t := strings.TrimLeft(line, " \t")
		if rest, ok := strings.CutPrefix(t, "::"); ok {
			if end := strings.Index(rest, "::"); end >= 0 {
				name, _, _ := strings.Cut(rest[:end], " ")
				cmds = append(cmds, name)
				continue
			}
		}
		if i := strings.Index(line, "##["); i >= 0 {
			if j := strings.Index(line[i:], "]"); j >= 0 {
				name, _, _ := strings.Cut(line[i+3:i+j], " ")
				cmds = append(cmds, name)
			}
		}
	}
	return cmds
}

// expectNoInjection checks the run's log, with its final error written as
// main writes it (::error::), for commands the run did not mean: only its
// own groups, warnings and the token's mask, and one error, the final one.
func expectNoInjection(t *testing.T, r runResult) {
	t.Helper()
	log := r.log
	if r.err != nil {
		var b bytes.Buffer
		githubactions.New(githubactions.WithWriter(&b)).Errorf("%v", r.err)
		log += b.String()
	}
	errorsSeen := 0
	for _, c := range runnerCommands(log) {
		switch c {
		case "add-mask", "group", "endgroup", "warning", "notice", "debug":
		case "error":
			errorsSeen++
		default:
			t.Errorf("the runner would run %q from the log", c)
		}
	}
	if errorsSeen > 1 {
		t.Errorf("%d ::error:: commands in the log, want at most the final error's", errorsSeen)
	}
	for _, line := range strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if t0 := strings.TrimLeft(line, " \t"); strings.HasPrefix(t0, "::error::pwned") || strings.HasPrefix(t0, "::stop-commands::") {
			t.Errorf("injected command line %q", line)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", log)
	}
}

// writeGitHubError answers like the REST API's error bodies.
func writeGitHubError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)})
}

// writeRegistryError answers like the registry's error bodies.
func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func isVersionDelete(r *http.Request) bool {
	return r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/versions/")
}

// editPlan rewrites the plan file at path through edit, as a hostile pull
// request's artifact would be.
func editPlan(t *testing.T, path string, edit func(f map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	edit(f)
	if data, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDeletion is the plan file's first package's first deletion, to edit.
func firstDeletion(f map[string]any) map[string]any {
	return f["packages"].([]any)[0].(map[string]any)["delete"].([]any)[0].(map[string]any)
}

func TestE2ESecurityLogInjection(t *testing.T) {
	t.Parallel()
	t.Run("REST error body of a DELETE", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 2*day)
		e.image("", 5*day)
		e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
			if !isVersionDelete(r) {
				return false
			}
			writeGitHubError(w, http.StatusUnprocessableEntity, hostileText)
			return true
		})
		r := e.run(applied())
		if r.err == nil {
			t.Fatal("a failed DELETE did not fail the run")
		}
		expectNoInjection(t, r)
	})
	t.Run("registry error body of a tag removal", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 2*day)
		d := e.image("pr-1", 5*day)
		e.tag(d, "v2")
		e.age(d, 5*day)
		e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			writeRegistryError(w, http.StatusBadRequest, "MANIFEST_INVALID", hostileText)
			return true
		})
		r := e.run(applied("delete-tags", "pr-*"))
		if r.err == nil {
			t.Fatal("a failed tag removal did not fail the run")
		}
		expectNoInjection(t, r)
	})
	t.Run("registry error body of a manifest read", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 2*day)
		e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			writeRegistryError(w, http.StatusForbidden, "DENIED", hostileText)
			return true
		})
		r := e.run(nil)
		if r.err == nil {
			t.Fatal("an unreadable package did not fail the run")
		}
		expectNoInjection(t, r)
	})
	t.Run("REST error body of a restore", func(t *testing.T) {
		t.Parallel()
		f := restoreSetup(t)
		path := savePlan(f.e, f.applied)
		f.e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/restore") {
				return false
			}
			writeGitHubError(w, http.StatusUnprocessableEntity, hostileText)
			return true
		})
		r := f.e.run(applied("restore-from", path))
		if r.err == nil {
			t.Fatal("failed restores did not fail the run")
		}
		expectNoInjection(t, r)
	})
	// A plan file is an artifact anyone who can open a pull request may
	// produce: an entry that no run could have written is refused when the
	// file is read, naming the file and the entry, before any request that
	// changes anything.
	for _, input := range []string{"apply-plan", "restore-from"} {
		for field, edit := range map[string]func(f map[string]any){
			"digest":  func(f map[string]any) { firstDeletion(f)["digest"] = "sha256:" + hostileText },
			"package": func(f map[string]any) { f["packages"].([]any)[0].(map[string]any)["package"] = "app" + hostileText },
			"id":      func(f map[string]any) { firstDeletion(f)["id"] = -1 },
			"tag":     func(f map[string]any) { firstDeletion(f)["tags"] = []string{hostileText} },
		} {
			t.Run(input+" file with a hostile "+field, func(t *testing.T) {
				t.Parallel()
				e := newE2E(t, "acme", "app", true)
				e.image("v1", 2*day)
				e.image("", 5*day)
				// restore-from takes an applied run's plan; apply-plan a
				// reviewed dry run's.
				var made runResult
				if input == "apply-plan" {
					made = e.run(nil)
				} else {
					made = e.run(applied())
				}
				e.ok(made)
				path := savePlan(e, made)
				editPlan(t, path, edit)
				before := e.srv.Stats().REST
				r := e.run(applied(input, path))
				if r.err == nil {
					t.Fatalf("the hostile plan file was accepted:\n%s", r.summary)
				}
				if msg := r.err.Error(); !strings.Contains(msg, input+": "+path) || !strings.Contains(msg, "packages[0]") && !strings.Contains(msg, "delete[0]") {
					t.Errorf("the error does not name the file and the entry: %v", r.err)
				}
				after := e.srv.Stats().REST
				if after[http.MethodDelete] != before[http.MethodDelete] || after[http.MethodPost] != before[http.MethodPost] {
					t.Errorf("requests that change something after an input error: %v, then %v", before, after)
				}
				expectNoInjection(t, r)
			})
		}
	}
}

// restore-from restores only in the packages the run names, of the run's
// owner, from a plan file that names its owner.
func TestE2ESecurityRestoreFromLimits(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*e2e, string) {
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 2*day)
		e.image("", 5*day)
		other := e.srv.Pusher("acme", "other")
		if _, err := other.Image("keep"); err != nil {
			t.Fatal(err)
		}
		stray, err := other.Image("")
		if err != nil {
			t.Fatal(err)
		}
		e.srv.SetUpdated("acme", "other", stray, testNow.Add(-5*day))
		r := e.run(applied("packages", "app, other"))
		e.ok(r)
		expectOutput(t, r, "deleted-count", "2")
		return e, savePlan(e, r)
	}
	restores := func(e *e2e) int { return e.srv.Stats().REST[http.MethodPost] }
	t.Run("a package not named", func(t *testing.T) {
		t.Parallel()
		e, path := setup(t)
		n := restores(e)
		r := e.run(applied("restore-from", path))
		if r.err == nil || !strings.Contains(r.err.Error(), "restore-from") || !strings.Contains(r.err.Error(), "other") {
			t.Fatalf("want an error naming restore-from and the package it will not touch, got %v", r.err)
		}
		if restores(e) != n {
			t.Error("restore requests after the input error")
		}
	})
	t.Run("every package named", func(t *testing.T) {
		t.Parallel()
		e, path := setup(t)
		r := e.run(applied("restore-from", path, "packages", "app, other"))
		e.ok(r)
		expectOutput(t, r, "restored-count", "2")
	})
	for name, tt := range map[string]struct {
		edit func(f map[string]any)
		want string
	}{
		"another owner's plan": {func(f map[string]any) { f["owner"] = "evil" }, "evil's, not acme's"},
		"a plan without owner": {func(f map[string]any) { delete(f, "owner") }, "names no owner"},
		"a non-positive id":    {func(f map[string]any) { firstDeletion(f)["id"] = 0 }, "not positive"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, path := setup(t)
			editPlan(t, path, tt.edit)
			n := restores(e)
			r := e.run(applied("restore-from", path, "packages", "app, other"))
			if r.err == nil || !strings.Contains(r.err.Error(), "restore-from") || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("want an error naming restore-from and saying %q, got %v", tt.want, r.err)
			}
			if restores(e) != n {
				t.Error("restore requests after the input error")
			}
		})
	}
	t.Run("ids that are not positive", func(t *testing.T) {
		t.Parallel()
		e, _ := setup(t)
		n := restores(e)
		for _, ids := range []string{"0", "5,-2"} {
			if r := e.run(applied("restore-from", ids)); r.err == nil || !strings.Contains(r.err.Error(), "not positive") {
				t.Errorf("restore-from %q: %v", ids, r.err)
			}
		}
		if restores(e) != n {
			t.Error("restore requests after the input error")
		}
	})
}

// runInWorkspace is e.run with GITHUB_WORKSPACE set, as on a runner: the
// plan file goes there, next to the checkout.
func (e *e2e) runInWorkspace(ws string, inputs map[string]string) runResult {
	e.t.Helper()
	return e.runWith(map[string]string{"GITHUB_WORKSPACE": ws}, inputs)
}

// A checkout (in a pull_request_target workflow, the pull request's) can
// plant symbolic links where the run writes: the plan file and cache-dir
// refuse them and write nothing where they point.
func TestE2ESecuritySymlinkedWrites(t *testing.T) {
	t.Parallel()
	t.Run("plan file", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 2*day)
		stray := e.image("", 5*day)
		ws := t.TempDir()
		victim := filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(ws, "ghcr-prune-plan.json")); err != nil {
			t.Fatal(err)
		}
		r := e.runInWorkspace(ws, applied())
		if r.err == nil || !strings.Contains(r.err.Error(), "plan file") || !strings.Contains(r.err.Error(), "symbolic link") {
			t.Fatalf("want an error saying the plan file is a symbolic link, got %v", r.err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "precious" {
			t.Errorf("the link's target now holds %q", b)
		}
		// What was deleted still reaches the workflow.
		expectDeletedIDs(e, r, stray)
		expectSummary(t, r, "1 version deleted")
	})
	t.Run("cache-dir", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("v1", 2*day)
		ws := t.TempDir()
		victim := t.TempDir()
		cache := filepath.Join(ws, ".ghcr-prune-cache")
		if err := os.Mkdir(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		victimPack := filepath.Join(victim, "manifests.pack")
		if err := os.WriteFile(victimPack, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victimPack, filepath.Join(cache, "manifests.pack")); err != nil {
			t.Fatal(err)
		}
		r := e.runInWorkspace(ws, inputsOf("cache-dir", cache))
		e.ok(r)
		if !strings.Contains(r.log, "::warning::manifest cache") || !strings.Contains(r.log, "symbolic link") {
			t.Errorf("no warning about the linked cache:\n%s", r.log)
		}
		if b, _ := os.ReadFile(victimPack); string(b) != "precious" {
			t.Errorf("the link's target now holds %q", b)
		}
		if ents, _ := os.ReadDir(victim); len(ents) != 1 {
			t.Errorf("the link's folder now holds %v", ents)
		}
	})
}

// A listing that turns hostile after the first DELETE (a Link header naming
// page 999999999999999, once a crash after deletions) fails the package,
// and the plan file, the summary and deleted-ids still record the deletion.
func TestE2ESecurityHostileListingAfterADeletion(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	e.image("v1", 2*day)
	idx, _ := e.multi("", false, 5*day, 5*day)
	var deleted atomic.Bool
	seed := &http.Client{Transport: fakeghcr.SeedTransport(http.DefaultTransport)}
	e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isVersionDelete(r) {
			deleted.Store(true)
			return false
		}
		if !deleted.Load() || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/versions") {
			return false
		}
		// The real page, with a Link header that says there are a great
		// many more.
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL()+r.URL.RequestURI(), nil)
		req.Header = r.Header.Clone()
		resp, err := seed.Do(req)
		if err != nil {
			t.Error(err)
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		u := e.srv.URL() + r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Link", fmt.Sprintf(`<%s?page=2&per_page=100>; rel="next", <%s?page=999999999999999&per_page=100>; rel="last"`, u, u))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
		return true
	})
	cache := t.TempDir()
	r := e.run(applied("cache-dir", cache))
	if r.err == nil {
		t.Fatal("the hostile listing did not fail the run")
	}
	expectNoTokenIn(t, cache)
	expectDeletedIDs(e, r, idx)
	f, err := prune.ReadPlanFile(r.plan)
	if err != nil {
		t.Fatalf("no readable plan file: %v", err)
	}
	found := false
	for _, d := range f.Packages[0].Delete {
		if d.Digest == idx && d.Outcome == prune.Deleted {
			found = true
		}
	}
	if !found {
		t.Errorf("the plan file does not record the deletion of %s: %+v", idx, f.Packages[0].Delete)
	}
	expectSummary(t, r, "1 version deleted")
}

// apply-plan takes a plan file only for the owner it was made for, and one
// that names no owner is no run's.
func TestE2ESecurityApplyPlanNeedsItsOwner(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		edit func(f map[string]any)
		want string
	}{
		"another owner's plan": {func(f map[string]any) { f["owner"] = "evil" }, `"acme" differs from the reviewed plan's "evil"`},
		"a plan without owner": {func(f map[string]any) { delete(f, "owner") }, "names no owner"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			e.image("v1", 2*day)
			e.image("", 5*day)
			dry := e.run(nil)
			e.ok(dry)
			path := savePlan(e, dry)
			editPlan(t, path, tt.edit)
			d0 := deleteCount(e)
			r := e.run(applied("apply-plan", path))
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("want an error saying %q, got %v", tt.want, r.err)
			}
			if deleteCount(e) != d0 {
				t.Error("DELETE requests after the input error")
			}
		})
	}
}

// expectNoTokenIn fails the test if any file under dir holds the token.
func expectNoTokenIn(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(testToken)) {
			t.Errorf("%s holds the token", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("nothing under %s to check", dir)
	}
}
