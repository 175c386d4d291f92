package e2e

// The rules that keep what users keep by hand: per-group keep-n
// (group-tags), references in deployment files (keep-referenced-in), a
// safety window for pushes in flight (min-age), GitHub's refusals predicted,
// the storage a plan frees (reclaimed-bytes), and what a rule change changes
// (compare-to), each against the fake GHCR as a runner runs the action.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// expectNoChange asserts that a run that failed on its input sent no
// request that changes anything.
func expectNoChange(t *testing.T, e *e2e, r runResult, input string) {
	t.Helper()
	if r.err == nil || !strings.Contains(r.err.Error(), input+":") {
		t.Errorf("error %v does not name %s", r.err, input)
	}
	if n := deleteCount(e); n != 0 {
		t.Errorf("%d DELETEs after an input error", n)
	}
	if n := e.srv.Stats().ManifestPuts; n != 0 {
		t.Errorf("%d manifest PUTs after an input error", n)
	}
}

func TestE2ERulesGroupTags(t *testing.T) {
	t.Parallel()
	t.Run("keep the newest per branch; other tags untouched", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		mainA := e.image("main-aaaaaaa", 1*day)
		mainB := e.image("main-bbbbbbb", 2*day)
		mainC, mainCKids := e.multi("main-ccccccc", true, 3*day, 3*day)
		devD := e.image("feature-x-ddddddd", 4*day)
		devE := e.image("feature-x-eeeeeee", 5*day)
		latest := e.image("latest", 30*day)
		before := e.remaining()
		r := e.run(applied("group-tags", `^(.+)-[0-9a-f]{7,40}$`, "keep-n-tagged", "1"))
		e.ok(r)
		e.expectDeleted(r, before, flat(mainB, mainC, mainCKids, devE)...)
		e.expectRemaining(mainA, devD, latest)
		expectSummary(t, r, "tag main-aaaaaaa, among the 1 newest of group main", "beyond the 1 newest of group main",
			"tag feature-x-ddddddd, among the 1 newest of group feature-x", "tag latest, in no group of group-tags")
	})
	t.Run("the newest patch of each minor", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		v134 := e.image("v1.3.4", 1*day)
		v129 := e.image("v1.2.9", 2*day)
		v133 := e.image("v1.3.3", 3*day)
		v128 := e.image("1.2.8", 4*day)
		major := e.image("v1", 5*day)
		before := e.remaining()
		r := e.run(applied("group-tags", `^v?(\d+\.\d+)\.\d+$`, "keep-n-tagged", "1"))
		e.ok(r)
		e.expectDeleted(r, before, v133, v128)
		e.expectRemaining(v134, v129, major)
	})
	t.Run("an input error, before any change", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("main-aaaaaaa", 9*day)
		for _, in := range []map[string]string{
			applied("group-tags", `^main-[0-9a-f]+$`, "keep-n-tagged", "1"),
			applied("group-tags", `^(main-[0-9a-f]+$`, "keep-n-tagged", "1"),
			applied("group-tags", `^(.+)-[0-9a-f]+$`),
		} {
			e.srv.ResetStats()
			expectNoChange(t, e, e.run(in), "group-tags")
		}
	})
}

// keep-referenced-in reads files under the workspace; outside a runner
// that is the current directory, which this test changes, so it does not
// run in parallel.
func TestE2ERulesKeepReferencedIn(t *testing.T) {
	e := newE2E(t, "acme", "app", true)
	deployed, deployedKids := e.multi("", true, 20*day, 20*day)
	pinned := e.image("1.0", 20*day)
	stale := e.image("1.1", 20*day)
	latest := e.image("latest", 20*day)
	orphan := e.image("", 20*day)
	reg := e.srv.Registry()
	ws := t.TempDir()
	files := map[string]string{
		"deploy/prod.yaml": "apiVersion: apps/v1\nkind: Deployment\n        image: " + reg + "/Acme/app@" + deployed + "\n",
		"k8s/overlays/staging/app.yml": "images:\n- name: " + reg + "/acme/app:1.0\n- name: " + reg + "/acme/app:${{ env.TAG }}\n" +
			"- name: " + reg + "/acme/app:9.9\n- name: " + reg + "/other/app:1.1\n",
		"k8s/README.md": reg + "/acme/app:1.1 is not read: *.md matches no glob",
	}
	for name, content := range files {
		p := filepath.Join(ws, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(ws)
	globs := "deploy/*.yaml\nk8s/**/*.yml, charts/*.yaml"

	before := e.remaining()
	r := e.run(applied("delete-untagged", "true", "delete-tags", "1.*", "keep-referenced-in", globs))
	e.ok(r)
	e.expectDeleted(r, before, stale, orphan)
	e.expectRemaining(flat(deployed, deployedKids, pinned, latest)...)
	expectSummary(t, r, "referenced in deploy/prod.yaml:3", "referenced in k8s/overlays/staging/app.yml:2",
		"tag 9.9, referenced in k8s/overlays/staging/app.yml:4 (keep-referenced-in), is not in the package",
		"charts/*.yaml matches no file", "1 reference with template syntax")
	if !strings.Contains(r.log, "::warning::keep-referenced-in: charts/*.yaml matches no file") {
		t.Errorf("the glob that matches nothing is no warning in the log:\n%s", r.log)
	}
	f, err := prune.ReadPlanFile(r.plan)
	if err != nil {
		t.Fatal(err)
	}
	if u := f.Packages[0].Unresolved; len(u) != 1 || u[0].Target != "9.9" {
		t.Errorf("plan file: unresolved %+v", u)
	}

	e.srv.ResetStats()
	expectNoChange(t, e, e.run(applied("keep-referenced-in", "../*.yaml")), "keep-referenced-in")
	if err := os.Symlink("/etc/hostname", filepath.Join(ws, "deploy", "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	expectNoChange(t, e, e.run(applied("keep-referenced-in", "deploy/*.yaml")), "keep-referenced-in")
}

func TestE2ERulesMinAge(t *testing.T) {
	t.Parallel()
	t.Run("per-platform images pushed by digest, merged into an index later", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		amd := e.image("", 12*time.Minute)
		arm := e.image("", 9*time.Minute)
		old := e.image("", 10*day)
		latest := e.image("latest", 10*day)
		r := e.run(applied())
		e.ok(r)
		e.expectRemaining(amd, arm, latest)
		expectDeletedIDs(e, r, old)
		expectSummary(t, r, "untagged, but only 12 minutes old (min-age 1 hour)", "untagged, but only 9 minutes old (min-age 1 hour)")
		// The merge lands: the index pulls whole.
		idx := e.must(e.push.Index("v1", []string{amd, arm}))
		expectPulls(e, idx)
		e.expectPullable()
	})
	t.Run("platform manifests of an old index pushed again", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("latest", 10*day)
		idx, kids := e.multi("", true, 10*day, 10*day)
		e.age(kids[0], 5*time.Minute) // re-pushed by a build in flight
		r := e.run(applied())
		e.ok(r)
		if !slices.Contains(e.remaining(), kids[0]) || slices.Contains(e.remaining(), idx) {
			t.Errorf("remaining %v: want %s kept and the index %s gone", e.remaining(), kids[0], idx)
		}
		expectSummary(t, r, "only 5 minutes old (min-age 1 hour)")
	})
	t.Run("the later of older-than and min-age", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("latest", 10*day)
		young := e.image("", 45*time.Minute)
		old := e.image("", 70*time.Minute)
		r := e.run(applied("older-than", "30m"))
		e.ok(r)
		expectDeletedIDs(e, r, old)
		expectSummary(t, r, "untagged, but only 45 minutes old (min-age 1 hour)")
		_ = young
	})
	t.Run("min-age 0 turns it off", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		latest := e.image("latest", 10*day)
		young := e.image("", time.Minute)
		r := e.run(applied("min-age", "0"))
		e.ok(r)
		e.expectRemaining(latest)
		expectDeletedIDs(e, r, young)
	})
	t.Run("a bad min-age, before any change", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		e.image("", 9*day)
		expectNoChange(t, e, e.run(applied("min-age", "an hour")), "min-age")
	})
	t.Run("a placeholder a failed tag removal left is deleted at once", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "acme", "app", true)
		img := e.image("pr-1", 10*day)
		e.tag(img, "v1")
		e.age(img, 10*day)
		// The placeholder's DELETE fails once: the tag has moved to it, and
		// it stays, as young as it gets.
		e.srv.SetFault(fakeghcrFailDeleteOnce())
		r := e.run(applied("delete-tags", "pr-*"))
		if r.err == nil {
			t.Fatal("the failed tag removal did not fail the run")
		}
		var holder string
		for _, v := range e.srv.Versions(e.owner, e.pkg) {
			if !v.Deleted && v.Digest != img {
				holder = v.Digest
			}
		}
		if holder == "" {
			t.Fatal("no placeholder left behind")
		}
		e.srv.SetFault(nil)
		r = e.run(applied("delete-tags", "pr-*"))
		e.ok(r)
		e.expectRemaining(img)
		expectDeletedIDs(e, r, holder)
		expectTags(e, img, "v1")
	})
}

// fakeghcrFailDeleteOnce answers the first DELETE of a version as GitHub
// answers a token without admin rights on the package.
func fakeghcrFailDeleteOnce() func(http.ResponseWriter, *http.Request) bool {
	done := false
	return func(w http.ResponseWriter, r *http.Request) bool {
		if done || r.Method != http.MethodDelete || !strings.Contains(r.URL.Path, "/versions/") {
			return false
		}
		done = true
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest","status":"403"}`)
		return true
	}
}

func TestE2ERulesRefusalsPredicted(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	older, olderKids := e.multi("v1", true, 10*day, 10*day)
	newer, newerKids := e.multi("v2", true, 5*day, 5*day)
	dry := e.run(inputsOf("delete-tags", "v*"))
	e.ok(dry)
	expectSummary(t, dry, "Blocked 1 version GitHub would refuse to delete", "GitHub refuses to delete the last tagged version of a package")
	expectOutput(t, dry, "planned-count", strconv.Itoa(1+len(olderKids)))
	f, err := prune.ReadPlanFile(dry.plan)
	if err != nil {
		t.Fatal(err)
	}
	blocked := ""
	for _, d := range f.Packages[0].Keep {
		if d.Action == retention.Blocked {
			blocked = d.Digest
		}
	}
	if blocked != newer {
		t.Errorf("blocked %s in the plan file, want the newest image %s", blocked, newer)
	}

	e.srv.ResetStats()
	r := e.run(applied("delete-tags", "v*"))
	e.ok(r)
	e.expectRemaining(flat(newer, newerKids)...)
	e.expectPullable()
	expectDeletedIDs(e, r, flat(older, olderKids)...)
	if n := deleteCount(e); n != 1+len(olderKids) {
		t.Errorf("%d DELETEs, want %d: none for what GitHub would refuse", n, 1+len(olderKids))
	}
	if res := r.report.Packages[0].Result; res.Count(prune.Refused) != 0 {
		t.Errorf("%d refusals", res.Count(prune.Refused))
	}
}

// pushSharing pushes an image with a layer of its own and base, aged age.
func pushSharing(t *testing.T, e *e2e, tag string, base v1.Layer, age time.Duration) string {
	t.Helper()
	own, err := random.Layer(3000, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), base, own)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	repo, auth := e.repo()
	var ref name.Reference = repo.Digest(d.String())
	if tag != "" {
		ref = repo.Tag(tag)
	}
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatal(err)
	}
	e.age(d.String(), age)
	return d.String()
}

// freedBy is what deleting gone frees, read from the registry: each
// manifest's bytes and every blob only manifests in gone name.
func freedBy(t *testing.T, e *e2e, gone []string) int64 {
	t.Helper()
	repo, auth := e.repo()
	blobsOf := func(digest string) (int64, map[string]int64) {
		desc, err := remote.Get(repo.Digest(digest), auth)
		if err != nil {
			t.Fatal(err)
		}
		blobs := map[string]int64{}
		var m struct {
			Config *v1.Descriptor  `json:"config"`
			Layers []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(desc.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		if m.Config != nil {
			blobs[m.Config.Digest.String()] = m.Config.Size
		}
		for _, l := range m.Layers {
			blobs[l.Digest.String()] = l.Size
		}
		return int64(len(desc.Manifest)), blobs
	}
	held := map[string]bool{}
	for _, d := range e.remaining() {
		if !slices.Contains(gone, d) {
			_, blobs := blobsOf(d)
			for b := range blobs {
				held[b] = true
			}
		}
	}
	var total int64
	freed := map[string]bool{}
	for _, d := range gone {
		size, blobs := blobsOf(d)
		total += size
		for b, n := range blobs {
			if !held[b] && !freed[b] {
				freed[b] = true
				total += n
			}
		}
	}
	return total
}

func TestE2ERulesReclaimedBytes(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	base, err := random.Layer(50_000, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	kept := pushSharing(t, e, "v1", base, 10*day)
	oldA := pushSharing(t, e, "", base, 10*day)
	oldIdx, oldKids := e.multi("", true, 10*day, 10*day)
	want := freedBy(t, e, flat(oldA, oldIdx, oldKids))

	dry := e.run(inputsOf())
	e.ok(dry)
	expectOutput(t, dry, "reclaimed-bytes", strconv.FormatInt(want, 10))
	expectSummary(t, dry, "(frees "+prune.FormatBytes(want)+")")
	r := e.run(applied())
	e.ok(r)
	e.expectRemaining(kept)
	expectOutput(t, r, "reclaimed-bytes", strconv.FormatInt(want, 10))
	f, err := prune.ReadPlanFile(r.plan)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Packages[0].ReclaimedBytes; got != want {
		t.Errorf("plan file: reclaimed_bytes %d, want %d", got, want)
	}
	expectSummary(t, r, "(freed "+prune.FormatBytes(want)+")")
}

func TestE2ERulesCompareTo(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "acme", "app", true)
	pr3 := e.image("pr-3", 1*day)
	pr2 := e.image("pr-2", 2*day)
	pr1 := e.image("pr-1", 3*day)
	e.image("latest", 9*day)
	web := e.srv.Pusher(e.owner, "web")
	if _, err := web.Image("latest"); err != nil {
		t.Fatal(err)
	}
	scheduled := e.run(inputsOf("delete-tags", "pr-*", "keep-n-tagged", "2"))
	e.ok(scheduled)
	plan := savePlan(e, scheduled)

	// The pull request keeps one fewer: pr-2 goes too.
	r := e.run(inputsOf("packages", "app, web", "delete-tags", "pr-*", "keep-n-tagged", "1", "compare-to", plan))
	e.ok(r)
	expectOutput(t, r, "changed-count", "1")
	expectSummary(t, r, "Changes against the earlier plan", "**app**: deletes 1 version the earlier plan kept, keeps 0 versions it deleted",
		"**web**: only in this plan", "tag pr-2 matches delete-tags, 2 days old", "tag pr-2, among the 2 newest tagged")
	c := r.report.Comparison.Packages[0]
	if len(c.Deleted) != 1 || c.Deleted[0].Digest != pr2 || len(c.Kept) != 0 {
		t.Errorf("app: deleted %v, kept %v; want pr-2 deleted", c.Deleted, c.Kept)
	}

	// One that keeps more: pr-1 stays.
	r = e.run(inputsOf("delete-tags", "pr-*", "keep-n-tagged", "3", "compare-to", plan))
	e.ok(r)
	expectOutput(t, r, "changed-count", "1")
	if c := r.report.Comparison.Packages[0]; len(c.Kept) != 1 || c.Kept[0].Digest != pr1 {
		t.Errorf("app: kept %v, want pr-1", c.Kept)
	}
	// Without compare-to there is no comparison.
	r = e.run(inputsOf("delete-tags", "pr-*", "keep-n-tagged", "2"))
	e.ok(r)
	if _, set := r.outputs["changed-count"]; set || strings.Contains(r.summary, "earlier plan") {
		t.Errorf("changed-count %q set without compare-to", r.outputs["changed-count"])
	}
	_ = pr3

	// Another owner's plan, or no plan at all, is an input error.
	other := newE2E(t, "other", "app", true)
	other.image("", 9*day)
	expectNoChange(t, other, other.run(applied("compare-to", plan)), "compare-to")
	expectNoChange(t, e, e.run(applied("compare-to", filepath.Join(t.TempDir(), "none.json"))), "compare-to")
}
