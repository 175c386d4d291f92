package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// testNow is the clock of every end-to-end test; versions are backdated
// relative to it with fakeghcr's SetUpdated.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const testToken = "ghp_e2eTestToken0123456789"

const day = 24 * time.Hour

var twoPlatforms = []string{"linux/amd64", "linux/arm64"}

// e2e is one fake GHCR with one owner, and the action run against it.
type e2e struct {
	t     *testing.T
	srv   *fakeghcr.Server
	owner string
	pkg   string
	org   bool // owner is an organization: its REST paths start /orgs, not /users
	push  *fakeghcr.Pusher
}

// newE2E starts a fake GHCR that requires testToken, with owner as an
// organization (org=true) or a user, and a pusher for owner/pkg.
func newE2E(t *testing.T, owner, pkg string, org bool, opts ...fakeghcr.Option) *e2e {
	t.Helper()
	srv := fakeghcr.Start(append([]fakeghcr.Option{fakeghcr.WithToken(testToken), fakeghcr.WithClock(func() time.Time { return testNow })}, opts...)...)
	t.Cleanup(srv.Close)
	if org {
		srv.AddOrg(owner)
	} else {
		srv.AddUser(owner)
	}
	return &e2e{t: t, srv: srv, owner: owner, pkg: pkg, org: org, push: srv.Pusher(owner, pkg)}
}

// must fails the test on a push error and returns the digest.
func (e *e2e) must(d string, err error) string {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// age backdates a version to testNow - d.
func (e *e2e) age(digest string, d time.Duration) {
	e.srv.SetUpdated(e.owner, e.pkg, digest, testNow.Add(-d))
}

// image pushes a single-arch image (tag "" pushes by digest only) and
// backdates it.
func (e *e2e) image(tag string, age time.Duration) string {
	e.t.Helper()
	d := e.must(e.push.Image(tag))
	e.age(d, age)
	return d
}

// multiArch pushes a multi-arch index (tag "" pushes by digest only) over
// platforms, failing the test on error; it returns the index and its children.
func (e *e2e) multiArch(tag string, platforms []string, attest bool) (string, []string) {
	e.t.Helper()
	idx, children, err := e.push.MultiArch(tag, platforms, attest)
	if err != nil {
		e.t.Fatal(err)
	}
	return idx, children
}

// multi pushes a two-platform multi-arch index (tag "" pushes by digest
// only) with the index aged idxAge and its children aged childAge; it returns
// the index and its children.
func (e *e2e) multi(tag string, attest bool, idxAge, childAge time.Duration) (string, []string) {
	e.t.Helper()
	idx, children := e.multiArch(tag, twoPlatforms, attest)
	e.age(idx, idxAge)
	for _, c := range children {
		e.age(c, childAge)
	}
	return idx, children
}

// tag points tag at digest, failing the test on error.
func (e *e2e) tag(digest, tag string) {
	e.t.Helper()
	if err := e.push.Tag(digest, tag); err != nil {
		e.t.Fatal(err)
	}
}

// version is the active version holding digest.
func (e *e2e) version(digest string) fakeghcr.Version {
	e.t.Helper()
	for _, v := range e.srv.Versions(e.owner, e.pkg) {
		if v.Digest == digest && !v.Deleted {
			return v
		}
	}
	e.t.Fatalf("no active version with digest %s", digest)
	return fakeghcr.Version{}
}

// deleteVersion sends the Packages REST API's DELETE of version id through c
// and returns the (closed) response.
func (e *e2e) deleteVersion(c *http.Client, id int64) *http.Response {
	e.t.Helper()
	prefix := "users"
	if e.org {
		prefix = "orgs"
	}
	u := fmt.Sprintf("%s/%s/%s/packages/container/%s/versions/%d", e.srv.URL(), prefix, e.owner, url.PathEscape(e.pkg), id)
	req, err := http.NewRequest(http.MethodDelete, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// restDelete deletes the active version holding digest through the Packages
// REST API, as someone clicking "delete" in the UI would, leaving whatever
// pointed at it broken.
func (e *e2e) restDelete(digest string) {
	e.t.Helper()
	if resp := e.deleteVersion(http.DefaultClient, e.version(digest).ID); resp.StatusCode != http.StatusNoContent {
		e.t.Fatalf("REST delete of %s: %s", digest, resp.Status)
	}
}

// inputsOf makes inputs from key, value pairs.
func inputsOf(kv ...string) map[string]string {
	in := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		in[kv[i]] = kv[i+1]
	}
	return in
}

// applied is inputsOf with dry-run false: the action's default is a dry run.
func applied(kv ...string) map[string]string {
	return inputsOf(append([]string{"dry-run", "false"}, kv...)...)
}

// runResult is what one run of the action left behind.
type runResult struct {
	report  *prune.Report
	err     error
	summary string
	outputs map[string]string
	log     string
	plan    []byte
}

// run runs the action with inputs as a runner would: INPUT_* variables,
// GITHUB_* files and RUNNER_TEMP.
func (e *e2e) run(inputs map[string]string) runResult {
	e.t.Helper()
	return e.runWith(nil, inputs)
}

// runWith is run with more environment variables (GITHUB_WORKSPACE, say).
func (e *e2e) runWith(vars, inputs map[string]string) runResult {
	e.t.Helper()
	env := map[string]string{
		"GITHUB_REPOSITORY":       e.owner + "/" + e.pkg,
		"GITHUB_REPOSITORY_OWNER": e.owner,
		"GITHUB_API_URL":          e.srv.URL(),
		"INPUT_TOKEN":             testToken,
		"INPUT_OWNER":             e.owner,
		"INPUT_PACKAGES":          e.pkg,
		"INPUT_REGISTRY-URL":      e.srv.URL(),
	}
	for k, v := range vars {
		env[k] = v
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	var log bytes.Buffer
	r, err := action.AsRunner(context.Background(), e.t.TempDir(), env, &log, testSetup)
	// The one place the token may appear is the ::add-mask:: command that
	// tells the runner to hide it everywhere else.
	logged := strings.ReplaceAll(log.String(), "::add-mask::"+testToken, "")
	if strings.Contains(logged+r.Summary+fmt.Sprint(r.Outputs)+string(r.Plan), testToken) {
		e.t.Fatal("the token was printed")
	}
	return runResult{report: r.Report, err: err, summary: r.Summary, outputs: r.Outputs, log: log.String(), plan: r.Plan}
}

// testSetup is what every run knows besides its inputs: action.yml, a
// build name and the tests' clock.
var testSetup = func() action.Setup {
	raw, err := os.ReadFile("../action.yml")
	if err != nil {
		panic(err)
	}
	m, err := action.ParseMetadata(raw)
	if err != nil {
		panic(err)
	}
	return action.Setup{Metadata: m, Tool: "ghcr-prune test", Now: testNow}
}()

// ok fails the test when the run failed.
func (e *e2e) ok(r runResult) {
	e.t.Helper()
	if r.err != nil {
		e.t.Fatalf("run failed: %v\nsummary:\n%s\nlog:\n%s", r.err, r.summary, r.log)
	}
}

// expectSummary asserts that the step summary contains every phrase.
func expectSummary(t *testing.T, r runResult, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if !strings.Contains(r.summary, p) {
			t.Errorf("summary lacks %q:\n%s", p, r.summary)
		}
	}
}

// flat joins digests and digest lists.
func flat(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		default:
			panic("flat: bad part")
		}
	}
	return out
}

// remaining is the sorted digests of the package's active versions.
func (e *e2e) remaining() []string {
	var out []string
	for _, v := range e.srv.Versions(e.owner, e.pkg) {
		if !v.Deleted {
			out = append(out, v.Digest)
		}
	}
	sort.Strings(out)
	return out
}

// expectRemaining asserts the exact set of active versions.
func (e *e2e) expectRemaining(want ...string) {
	e.t.Helper()
	want = slices.Clone(want)
	sort.Strings(want)
	got := e.remaining()
	if !slices.Equal(got, want) {
		e.t.Errorf("remaining versions:\n got  %v\n want %v\n missing %v\n extra %v", got, want, without(want, got...), without(got, want...))
	}
}

// without is list minus the given strings.
func without(list []string, drop ...string) []string {
	var out []string
	for _, x := range list {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

// ids are the version ids of digests (active or deleted), in the given order.
func (e *e2e) ids(digests ...string) []string {
	e.t.Helper()
	var ids []string
	for _, d := range digests {
		found := false
		for _, v := range e.srv.Versions(e.owner, e.pkg) {
			if v.Digest == d {
				ids = append(ids, strconv.FormatInt(v.ID, 10))
				found = true
				break
			}
		}
		if !found {
			e.t.Fatalf("no version with digest %s", d)
		}
	}
	return ids
}

// digestOf is the sha256 digest of b.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociIndexType    = "application/vnd.oci.image.index.v1+json"
)

// repo is the package's repository in the fake's registry and the option
// that authenticates to it.
func (e *e2e) repo() (name.Repository, remote.Option) {
	e.t.Helper()
	repo, err := name.NewRepository(e.srv.Registry()+"/"+strings.ToLower(e.owner)+"/"+e.pkg, name.Insecure)
	if err != nil {
		e.t.Fatal(err)
	}
	return repo, remote.WithAuth(&authn.Basic{Username: "x", Password: testToken})
}

// expectPullable asserts that every tag left in the package pulls
// completely: its manifest and, recursively, every manifest it lists.
func (e *e2e) expectPullable() {
	e.t.Helper()
	repo, auth := e.repo()
	tags, err := remote.List(repo, auth)
	if err != nil {
		e.t.Fatalf("listing tags: %v", err)
	}
	for _, tag := range tags {
		if _, err := fakeghcr.Pull(repo.Tag(tag), auth); err != nil {
			e.t.Errorf("tag %s does not pull: %v", tag, err)
		}
	}
}
