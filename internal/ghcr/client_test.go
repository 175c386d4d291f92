package ghcr_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

const token = "ghp_testtoken"

var bg = context.Background()

// seedClient makes the tests' own requests to the fake. It does not share
// http.DefaultTransport, whose idle connections every httptest.Server.Close
// (in the parallel transport tests) drops, breaking requests in flight.
var seedClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// start runs a fake GHCR requiring token, with user "alice" and org "Acme".
func start(t *testing.T, opts ...fakeghcr.Option) *fakeghcr.Server {
	t.Helper()
	srv := fakeghcr.Start(append([]fakeghcr.Option{fakeghcr.WithToken(token)}, opts...)...)
	t.Cleanup(srv.Close)
	srv.AddUser("alice")
	srv.AddOrg("Acme")
	return srv
}

func connect(t *testing.T, srv *fakeghcr.Server, owner string) (*ghcr.Client, *waits) {
	t.Helper()
	tr, w := newTransport()
	c, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: owner, APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, w
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// pushN pushes n small images by digest, in parallel, with the Pusher.
func pushN(t *testing.T, p *fakeghcr.Pusher, n int) []string {
	t.Helper()
	out := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = p.Image("")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// putN is a fast pushN for listing tests: n distinct OCI image manifests PUT
// by digest with one request each (the fake, like a registry that already
// has the blobs, does not check them), oldest first. Versions() only sees
// the Packages API, so the manifests need not be pullable.
func putN(t *testing.T, srv *fakeghcr.Server, owner, pkg string, n int) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/token?scope=repository:"+strings.ToLower(owner+"/"+pkg)+":push,pull", nil)
	req.SetBasicAuth("x", token)
	resp, err := seedClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.Token == "" {
		t.Fatalf("registry token: %v", err)
	}
	out := make([]string, n)
	for i := range n {
		body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064x","size":2},"layers":[],`+
			`"annotations":{"n":"%s-%d"}}`, i, t.Name(), i)
		out[i] = sha([]byte(body))
		req, _ := http.NewRequest(http.MethodPut, srv.URL()+"/v2/"+strings.ToLower(owner+"/"+pkg)+"/manifests/"+out[i], strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		resp, err := seedClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT manifest %d: %s", i, resp.Status)
		}
	}
	return out
}

func TestNewOwnerUserAndOrg(t *testing.T) {
	t.Parallel()
	srv := start(t)
	for _, owner := range []string{"alice", "ACME"} {
		c, _ := connect(t, srv, owner)
		want := map[string]string{"alice": "alice", "ACME": "Acme"}[owner]
		if c.Owner() != want {
			t.Errorf("Owner() = %q, want GitHub's spelling %q", c.Owner(), want)
		}
	}
	// The org must be addressed under /orgs/: a package there is found.
	must[string](t)(srv.Pusher("Acme", "app").Image("v1"))
	must[string](t)(srv.Pusher("alice", "tool").Image("v1"))
	org, _ := connect(t, srv, "acme")
	if err := org.CheckPackage(bg, "app"); err != nil {
		t.Errorf("org CheckPackage: %v", err)
	}
	user, _ := connect(t, srv, "alice")
	if err := user.CheckPackage(bg, "tool"); err != nil {
		t.Errorf("user CheckPackage: %v", err)
	}
	if got := org.Image("app"); got != srv.Registry()+"/acme/app" {
		t.Errorf("Image = %q", got)
	}
}

func TestNewUnknownOwner(t *testing.T) {
	t.Parallel()
	srv := start(t)
	tr, _ := newTransport()
	_, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: "nobody", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err == nil || !strings.HasPrefix(err.Error(), "owner:") || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("err = %v, want an owner: error naming nobody", err)
	}
}

func TestNewBadURLs(t *testing.T) {
	t.Parallel()
	for _, cfg := range []ghcr.Config{
		{Owner: "a", APIURL: "ftp://x", RegistryURL: "ghcr.io"},
		{Owner: "a", APIURL: "https://api.github.com", RegistryURL: "https://ghcr.io/some/path"},
	} {
		if _, err := ghcr.New(bg, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestParseRegistryURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		host     string
		insecure bool
	}{
		"https://ghcr.io":       {"ghcr.io", false},
		"ghcr.io":               {"ghcr.io", false},
		"ghcr.io/":              {"ghcr.io", false},
		"http://127.0.0.1:5000": {"127.0.0.1:5000", true},
	} {
		host, insecure, err := ghcr.ParseRegistryURL(in)
		if err != nil || host != want.host || insecure != want.insecure {
			t.Errorf("ParseRegistryURL(%q) = %q, %v, %v", in, host, insecure, err)
		}
	}
	for _, bad := range []string{"", "ftp://ghcr.io", "https://ghcr.io/acme"} {
		if _, _, err := ghcr.ParseRegistryURL(bad); err == nil || !strings.HasPrefix(err.Error(), "registry-url:") {
			t.Errorf("ParseRegistryURL(%q) err = %v", bad, err)
		}
	}
}

// seedBig pushes 250 versions by digest into Acme/big, tags a few of them
// and backdates ten.
func seedBig(t *testing.T, srv *fakeghcr.Server) []string {
	t.Helper()
	p := srv.Pusher("Acme", "big")
	ds := putN(t, srv, "Acme", "big", 250)
	for i, tag := range []string{"latest", "v1", "v2"} {
		if err := p.Tag(ds[i*50], tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Tag(ds[0], "stable"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		srv.SetUpdated("Acme", "big", ds[i], time.Date(2023, 1, 1+i, 0, 0, 0, 0, time.UTC))
	}
	return ds
}

// wantListing compares a listing with the fake's own view of active versions.
func wantListing(t *testing.T, srv *fakeghcr.Server, owner, pkg string, got []retention.Version) {
	t.Helper()
	var want []fakeghcr.Version
	for _, v := range srv.Versions(owner, pkg) {
		if !v.Deleted {
			want = append(want, v)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d versions, want %d", len(got), len(want))
	}
	byID := map[int64]fakeghcr.Version{}
	for _, v := range want {
		byID[v.ID] = v
	}
	for _, g := range got {
		w, ok := byID[g.ID]
		if !ok {
			t.Fatalf("listed version %d is not active in the fake", g.ID)
		}
		delete(byID, g.ID)
		slices.Sort(g.Tags)
		slices.Sort(w.Tags)
		if g.Digest != w.Digest || !slices.Equal(g.Tags, w.Tags) || !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("version %d = %+v, want %+v", g.ID, g, w)
		}
	}
}

func TestVersionsAllPages(t *testing.T) {
	t.Parallel()
	srv := start(t)
	ds := seedBig(t, srv)
	c, w := connect(t, srv, "Acme")
	before := srv.Stats()
	vs, err := c.Versions(bg, "big")
	if err != nil {
		t.Fatal(err)
	}
	after := srv.Stats()
	wantListing(t, srv, "Acme", "big", vs)
	if gets := after.REST["GET"] - before.REST["GET"]; gets != 3 {
		t.Errorf("%d list requests reached the fake, want 3", gets)
	}
	if s := c.Stats(); s.ListRequests != 3 || s.ManifestGets != 0 || s.DeleteRequests != 0 {
		t.Errorf("Stats = %+v, want 3 list requests", s)
	}
	tags := map[string][]string{}
	old := 0
	for _, v := range vs {
		tags[v.Digest] = v.Tags
		if v.CreatedAt.Year() == 2023 {
			old++
		}
		if v.CreatedAt.IsZero() || v.UpdatedAt.IsZero() {
			t.Errorf("version %d has no timestamps", v.ID)
		}
	}
	if got := tags[ds[0]]; !slices.Equal(got, []string{"latest", "stable"}) {
		t.Errorf("tags of the first image = %v", got)
	}
	if got := tags[ds[100]]; !slices.Equal(got, []string{"v2"}) {
		t.Errorf("tags of image 100 = %v", got)
	}
	if old != 10 {
		t.Errorf("%d backdated versions, want 10", old)
	}
	wantWaits(t, w)
}

func TestVersionsSmallPackageOneRequest(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "small")
	must[string](t)(p.Image("v1"))
	pushN(t, p, 2)
	c, _ := connect(t, srv, "alice")
	vs, err := c.Versions(bg, "small")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "alice", "small", vs)
	if s := c.Stats(); s.ListRequests != 1 {
		t.Errorf("ListRequests = %d, want 1", s.ListRequests)
	}
}

// Exactly 100 versions fill one page and no Link header is sent.
func TestVersionsExactlyOnePage(t *testing.T) {
	t.Parallel()
	srv := start(t)
	putN(t, srv, "alice", "hundred", 100)
	c, _ := connect(t, srv, "alice")
	vs, err := c.Versions(bg, "hundred")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "alice", "hundred", vs)
	if s := c.Stats(); s.ListRequests != 1 {
		t.Errorf("ListRequests = %d, want 1", s.ListRequests)
	}
}

func TestPackageNameWithSlash(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "team/app")
	d := must[string](t)(p.Image("v1"))
	d2 := must[string](t)(p.Image(""))
	c, _ := connect(t, srv, "Acme")
	if err := c.CheckPackage(bg, "team/app"); err != nil {
		t.Fatalf("CheckPackage: %v", err)
	}
	vs, err := c.Versions(bg, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "Acme", "team/app", vs)
	m, err := c.Manifest(bg, "team/app", d)
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	if sha(m) != d {
		t.Errorf("manifest hashes to %s, want %s", sha(m), d)
	}
	var id int64
	for _, v := range vs {
		if v.Digest == d2 {
			id = v.ID
		}
	}
	if err := c.DeleteVersion(bg, "team/app", id); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if err := c.CheckPackage(bg, "team"); err == nil {
		t.Error(`CheckPackage("team") found a package`)
	}
}

func TestCheckPackageUnknown(t *testing.T) {
	t.Parallel()
	srv := start(t)
	c, _ := connect(t, srv, "alice")
	err := c.CheckPackage(bg, "ghost")
	if err == nil || !strings.HasPrefix(err.Error(), "packages:") || !strings.Contains(err.Error(), `"ghost"`) {
		t.Errorf("err = %v, want a packages: error naming ghost", err)
	}
	if _, err := c.Versions(bg, "ghost"); err == nil {
		t.Error("Versions of an unknown package succeeded")
	}
}

func TestPackagesWildcardListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	for _, pkg := range []string{"zeta", "alpha", "team/mid"} {
		must[string](t)(srv.Pusher("Acme", pkg).Image("v1"))
	}
	must[string](t)(srv.Pusher("alice", "mine").Image("v1"))
	c, _ := connect(t, srv, "Acme")
	names, err := c.Packages(bg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alpha", "team/mid", "zeta"}; !slices.Equal(names, want) {
		t.Errorf("Packages = %v, want %v", names, want)
	}
	u, _ := connect(t, srv, "alice")
	if names, err := u.Packages(bg); err != nil || !slices.Equal(names, []string{"mine"}) {
		t.Errorf("user Packages = %v, %v", names, err)
	}
}

func TestPackagesManyPages(t *testing.T) {
	t.Parallel()
	srv := start(t)
	want := make([]string, 105)
	var wg sync.WaitGroup
	errs := make([]error, len(want))
	for i := range want {
		want[i] = fmt.Sprintf("p%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = srv.Pusher("alice", want[i]).Image("v1")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	c, _ := connect(t, srv, "alice")
	names, err := c.Packages(bg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, want) {
		t.Errorf("Packages listed %d names, want %d", len(names), len(want))
	}
	if s := c.Stats(); s.ListRequests != 2 {
		t.Errorf("ListRequests = %d, want 2", s.ListRequests)
	}
}

func TestPackagesWithActionsToken(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeghcr.WithActionsToken())
	d := must[string](t)(srv.Pusher("Acme", "app").Image("v1"))
	c, _ := connect(t, srv, "Acme")
	_, err := c.Packages(bg)
	if err == nil {
		t.Fatal("Packages succeeded with the Actions token")
	}
	for _, s := range []string{"wildcard", "GITHUB_TOKEN", "Invalid argument"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err = %v, want it to mention %q", err, s)
		}
	}
	// The per-package endpoints still work with it.
	if err := c.CheckPackage(bg, "app"); err != nil {
		t.Errorf("CheckPackage: %v", err)
	}
	vs, err := c.Versions(bg, "app")
	if err != nil || len(vs) != 1 || vs[0].Digest != d {
		t.Errorf("Versions = %v, %v", vs, err)
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestManifest(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "app")
	img := must[string](t)(p.Image("v1"))
	idx, children, err := p.MultiArch("multi", []string{"linux/amd64", "linux/arm64/v8"}, true)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := connect(t, srv, "alice")
	srv.ResetStats()
	for _, d := range append([]string{img, idx}, children...) {
		m, err := c.Manifest(bg, "app", d)
		if err != nil {
			t.Fatalf("Manifest(%s): %v", d, err)
		}
		if sha(m) != d {
			t.Errorf("Manifest(%s) hashes to %s", d, sha(m))
		}
	}
	var im struct {
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(must[[]byte](t)(c.Manifest(bg, "app", idx)), &im); err != nil || len(im.Manifests) != 4 {
		t.Errorf("index has %d children (%v), want 4", len(im.Manifests), err)
	}
	n := len(children) + 3
	if s := c.Stats(); s.ManifestGets != n {
		t.Errorf("client ManifestGets = %d, want %d", s.ManifestGets, n)
	}
	st := srv.Stats()
	if st.ManifestGets != n || st.BlobRequests != 0 {
		t.Errorf("fake saw %d manifest GETs and %d blob requests, want %d and 0", st.ManifestGets, st.BlobRequests, n)
	}
	// The registry token is exchanged once, not per manifest.
	if st.TokenRequests != 1 {
		t.Errorf("%d token requests, want 1", st.TokenRequests)
	}
	_, err = c.Manifest(bg, "app", "sha256:"+strings.Repeat("0", 64))
	if err == nil {
		t.Error("Manifest of an unknown digest succeeded")
	}
	if _, err := c.Manifest(bg, "app", "not-a-digest"); err == nil {
		t.Error("Manifest of a malformed digest succeeded")
	}
}

func TestDeleteVersion(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	untagged := must[string](t)(p.Image(""))
	c, _ := connect(t, srv, "Acme")
	id := idOf(t, srv, "Acme", "app", untagged)
	if err := c.DeleteVersion(bg, "app", id); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if v := versionOf(srv, "Acme", "app", untagged); !v.Deleted {
		t.Error("the version is still active in the fake")
	}
	err := c.DeleteVersion(bg, "app", id)
	if !errors.Is(err, prune.ErrGone) {
		t.Errorf("second delete: err = %v, want ErrGone", err)
	}
	if err := c.DeleteVersion(bg, "app", 999999999); !errors.Is(err, prune.ErrGone) {
		t.Errorf("delete of an unknown id: err = %v, want ErrGone", err)
	}
	if s := c.Stats(); s.DeleteRequests != 3 {
		t.Errorf("DeleteRequests = %d, want 3", s.DeleteRequests)
	}
}

func TestDeleteLastTaggedRefused(t *testing.T) {
	t.Parallel()
	srv := start(t)
	d := must[string](t)(srv.Pusher("alice", "app").Image("v1"))
	c, _ := connect(t, srv, "alice")
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "alice", "app", d))
	var refused *prune.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v (%T), want *prune.RefusedError", err, err)
	}
	if want := "You cannot delete the last tagged version of a package. You must delete the package instead."; refused.Message != want {
		t.Errorf("Message = %q, want GitHub's %q", refused.Message, want)
	}
	if versionOf(srv, "alice", "app", d).Deleted {
		t.Error("the version was deleted")
	}
}

func TestDeleteManyDownloadsRefused(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("latest"))
	popular := must[string](t)(p.Image(""))
	srv.SetPublicDownloads("Acme", "app", popular, 5001)
	c, _ := connect(t, srv, "Acme")
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "Acme", "app", popular))
	var refused *prune.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(refused.Message, "5000 downloads") {
		t.Fatalf("err = %v, want a RefusedError about 5000 downloads", err)
	}
	if errors.Is(err, prune.ErrGone) {
		t.Error("a refusal must not look like ErrGone")
	}
}

func TestDeleteForbiddenIsAnError(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	d := must[string](t)(p.Image(""))
	c, w := connect(t, srv, "Acme")
	srv.SetFault(func(wr http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		wr.Header().Set("Content-Type", "application/json")
		wr.WriteHeader(http.StatusForbidden)
		io.WriteString(wr, integration)
		return true
	})
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "Acme", "app", d))
	var refused *prune.RefusedError
	if err == nil || errors.Is(err, prune.ErrGone) || errors.As(err, &refused) {
		t.Errorf("err = %v, want a plain failure", err)
	}
	if !strings.Contains(fmt.Sprint(err), "Resource not accessible by integration") {
		t.Errorf("err = %v, want GitHub's message", err)
	}
	wantWaits(t, w)
}

func idOf(t *testing.T, srv *fakeghcr.Server, owner, pkg, digest string) int64 {
	t.Helper()
	v := versionOf(srv, owner, pkg, digest)
	if v.ID == 0 {
		t.Fatalf("no version %s in %s/%s", digest, owner, pkg)
	}
	return v.ID
}

func versionOf(srv *fakeghcr.Server, owner, pkg, digest string) fakeghcr.Version {
	for _, v := range srv.Versions(owner, pkg) {
		if v.Digest == digest {
			return v
		}
	}
	return fakeghcr.Version{}
}

// seeded is a private fake with one package of n versions, for tests that
// install fault hooks.
func seeded(t *testing.T, n int) (*fakeghcr.Server, *ghcr.Client, *waits) {
	t.Helper()
	srv := start(t)
	putN(t, srv, "Acme", "app", n)
	c, w := connect(t, srv, "Acme")
	return srv, c, w
}

func isVersionsPage(r *http.Request, page string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/versions") && r.URL.Query().Get("page") == page
}

// shiftPage2 answers page 2 of the versions listing with its last item
// dropped, the first `times` times (times < 0: always), as if a version moved
// to page 1 between reads. It fetches the real page from the fake with the
// seed header, which bypasses the hook and the statistics.
func shiftPage2(srv *fakeghcr.Server, times int) func(http.ResponseWriter, *http.Request) bool {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !isVersionsPage(r, "2") || (times >= 0 && int(n.Add(1)) > times) {
			return false
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, srv.URL()+r.URL.RequestURI(), nil)
		req.Header = r.Header.Clone()
		req.Header.Set("X-Fakeghcr-Seed", "1")
		resp, err := seedClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		var items []json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&items); err != nil || len(items) == 0 {
			http.Error(w, fmt.Sprint("bad page: ", err), http.StatusBadGateway)
			return true
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		json.NewEncoder(w).Encode(items[:len(items)-1])
		return true
	}
}

func TestVersionsPageShiftedOnceIsReread(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 201) // three pages
	srv.SetFault(shiftPage2(srv, 1))
	vs, err := c.Versions(bg, "app")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "Acme", "app", vs)
	if s := c.Stats(); s.ListRequests != 6 {
		t.Errorf("ListRequests = %d, want 6 (the listing read twice)", s.ListRequests)
	}
}

func TestVersionsKeptChanging(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 201)
	srv.SetFault(shiftPage2(srv, -1))
	_, err := c.Versions(bg, "app")
	if err == nil || !strings.Contains(err.Error(), "kept changing") {
		t.Fatalf("err = %v, want kept changing", err)
	}
	if s := c.Stats(); s.ListRequests != 9 {
		t.Errorf("ListRequests = %d, want 9 (three reads)", s.ListRequests)
	}
}

// A push while the listing is read shifts every version down one place, so
// page 2 repeats the last version of page 1; the client reads again and gets
// the new version too.
func TestVersionsConcurrentPushIsReread(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 101)
	p := srv.Pusher("Acme", "app")
	var pushed atomic.Value
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isVersionsPage(r, "2") && pushed.Load() == nil {
			d, err := p.Image("")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return true
			}
			pushed.Store(d)
		}
		return false
	})
	vs, err := c.Versions(bg, "app")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "Acme", "app", vs)
	if len(vs) != 102 {
		t.Errorf("%d versions, want 102", len(vs))
	}
	if s := c.Stats(); s.ListRequests != 4 {
		t.Errorf("ListRequests = %d, want 4 (2 pages, twice)", s.ListRequests)
	}
}

func TestVersionsErrorOnLaterPage(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 101)
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !isVersionsPage(r, "2") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Package not found."}`)
		return true
	})
	_, err := c.Versions(bg, "app")
	if err == nil || !strings.Contains(err.Error(), "page 2") {
		t.Errorf("err = %v, want an error naming page 2", err)
	}
}

// Rate limits and 5xx on the fake are absorbed by the transport below
// go-github, with the waits GitHub names.
func TestClientRetriesThroughFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write func(http.ResponseWriter)
		check func(*testing.T, []time.Duration)
	}{
		{"secondary 403", func(w http.ResponseWriter) { fakeghcr.WriteSecondaryLimit(w, http.StatusForbidden, 60*time.Second) },
			func(t *testing.T, d []time.Duration) { wantEq(t, d, 60*time.Second) }},
		{"secondary 429 no retry-after", func(w http.ResponseWriter) { fakeghcr.WriteSecondaryLimit(w, http.StatusTooManyRequests, 0) },
			func(t *testing.T, d []time.Duration) { wantEq(t, d, time.Minute) }},
		{"primary 403", func(w http.ResponseWriter) {
			fakeghcr.WritePrimaryLimit(w, http.StatusForbidden, time.Now().Add(30*time.Second))
		}, func(t *testing.T, d []time.Duration) {
			if len(d) != 1 || d[0] < 29*time.Second || d[0] > 32*time.Second {
				t.Errorf("waits = %v, want about 31s", d)
			}
		}},
		{"502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			func(t *testing.T, d []time.Duration) {
				if len(d) != 1 || d[0] > time.Second {
					t.Errorf("waits = %v, want one short backoff", d)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c, w := seeded(t, 3)
			srv.SetFault(fakeghcr.FailTimes(1, func(r *http.Request) bool { return isVersionsPage(r, "1") }, tc.write))
			vs, err := c.Versions(bg, "app")
			if err != nil {
				t.Fatal(err)
			}
			wantListing(t, srv, "Acme", "app", vs)
			tc.check(t, w.get())
			// A later call is not refused by go-github's memory of the limit.
			if err := c.CheckPackage(bg, "app"); err != nil {
				t.Errorf("CheckPackage after the limit: %v", err)
			}
		})
	}
}

func wantEq(t *testing.T, got []time.Duration, want ...time.Duration) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestClientPrimaryLimitBeyondMaxWait(t *testing.T) {
	t.Parallel()
	srv, c, w := seeded(t, 3)
	reset := time.Now().Add(time.Hour)
	srv.SetFault(func(wr http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/v2") || r.URL.Path == "/token" {
			return false
		}
		fakeghcr.WritePrimaryLimit(wr, http.StatusForbidden, reset)
		return true
	})
	before := srv.Stats().Total
	_, err := c.Versions(bg, "app")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("err = %v (%T), want a *github.RateLimitError", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "rate limit") || !strings.Contains(msg, "app") {
		t.Errorf("err = %q, want it to say rate limit and name the package", msg)
	}
	if got := srv.Stats().Total - before; got != 1 {
		t.Errorf("%d requests, want 1 (no retries)", got)
	}
	wantWaits(t, w)
	// go-github now refuses locally; the error stays a clear rate-limit one.
	err = c.DeleteVersion(bg, "app", 1)
	if !errors.As(err, &rle) || errors.Is(err, prune.ErrGone) {
		t.Errorf("delete after the limit: err = %v, want a RateLimitError", err)
	}
}

// The primary budget running out on a successful answer (remaining 0, reset
// soon) must not make go-github refuse the next call on its own: the
// transport is there to wait for the reset.
func TestClientRemainingZeroOnSuccess(t *testing.T) {
	t.Parallel()
	srv, c, w := seeded(t, 3)
	reset := strconv.FormatInt(time.Now().Add(20*time.Second).Unix(), 10)
	var calls atomic.Int32
	srv.SetFault(func(wr http.ResponseWriter, r *http.Request) bool {
		if !isVersionsPage(r, "1") {
			return false
		}
		switch calls.Add(1) {
		case 1: // the last request of the window succeeds
			wr.Header().Set("X-RateLimit-Remaining", "0")
			wr.Header().Set("X-RateLimit-Reset", reset)
			wr.Header().Set("Content-Type", "application/json")
			io.WriteString(wr, "[]")
			return true
		case 2: // the next one hits the limit
			wr.Header().Set("X-RateLimit-Remaining", "0")
			wr.Header().Set("X-RateLimit-Reset", reset)
			wr.Header().Set("Content-Type", "application/json")
			wr.WriteHeader(http.StatusForbidden)
			io.WriteString(wr, primaryBody)
			return true
		}
		return false
	})
	if vs, err := c.Versions(bg, "app"); err != nil || len(vs) != 0 {
		t.Fatalf("first listing = %v, %v", vs, err)
	}
	vs, err := c.Versions(bg, "app")
	if err != nil {
		t.Fatalf("second listing: %v", err)
	}
	if len(vs) != 3 {
		t.Errorf("%d versions, want 3", len(vs))
	}
	if d := w.get(); len(d) != 1 || d[0] < 19*time.Second || d[0] > 22*time.Second {
		t.Errorf("waits = %v, want one of about 21s", d)
	}
}

// The token goes to REST as a bearer header and to the registry only through
// the token endpoint (Basic auth); registry requests carry the registry's own
// bearer token.
func TestTokenNeverSentToRegistry(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "app")
	d := must[string](t)(p.Image("v1"))
	var mu sync.Mutex
	seen := map[string][]string{}
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		kind := "rest"
		switch {
		case r.URL.Path == "/token":
			kind = "token"
		case strings.HasPrefix(r.URL.Path, "/v2"):
			kind = "registry"
		}
		mu.Lock()
		seen[kind] = append(seen[kind], r.Header.Get("Authorization"))
		mu.Unlock()
		return false
	})
	c, _ := connect(t, srv, "alice")
	if _, err := c.Versions(bg, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Manifest(bg, "app", d); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen["rest"] {
		if a != "Bearer "+token {
			t.Errorf("REST Authorization = %q, want the bearer token", a)
		}
	}
	if len(seen["token"]) != 1 || !strings.HasPrefix(seen["token"][0], "Basic ") {
		t.Errorf("token endpoint saw %q, want one Basic auth request", seen["token"])
	}
	authed := 0
	for _, a := range seen["registry"] {
		if strings.Contains(a, token) {
			t.Errorf("registry request carried the GitHub token: %q", a)
		}
		if strings.HasPrefix(a, "Bearer fakeghcr-") {
			authed++
		}
	}
	if authed == 0 {
		t.Errorf("no registry request used a registry token: %q", seen["registry"])
	}
}

func TestWrongTokenFails(t *testing.T) {
	t.Parallel()
	srv := start(t)
	tr, _ := newTransport()
	_, err := ghcr.New(bg, ghcr.Config{Token: "wrong", Owner: "alice", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err == nil || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("err = %v, want Bad credentials", err)
	}
}

// Client methods are safe for concurrent use and Stats adds up.
func TestStatsConcurrent(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("alice", "app")
	must[string](t)(p.Image("v1"))
	ds := pushN(t, p, 8)
	c, _ := connect(t, srv, "alice")
	srv.ResetStats()
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Manifest(bg, "app", d); err != nil {
				t.Error(err)
			}
			if err := c.DeleteVersion(bg, "app", idOf(t, srv, "alice", "app", d)); err != nil {
				t.Error(err)
			}
			if err := c.CheckPackage(bg, "app"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := ghcr.Stats{ListRequests: len(ds), ManifestGets: len(ds), DeleteRequests: len(ds)}
	if s := c.Stats(); s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	st := srv.Stats()
	if st.REST["DELETE"] != len(ds) || st.REST["GET"] != len(ds) || st.ManifestGets != len(ds) {
		t.Errorf("fake stats = %+v", st)
	}
}

// A version deleted from page 1 after page 1 was read pulls the first
// version of page 2 onto page 1, so one listing never sees it: every page is
// full and nothing repeats. If the missed one is an index, its children look
// unreferenced. A run that deletes reads through prune.LoadStable, which
// lists again and must see the same listing twice.
func TestLoadStableSeesAConcurrentDeleteOnAnEarlierPage(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 250)
	victim := srv.Versions("Acme", "app")[10].ID // newest first: on page 1
	var once sync.Once
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isVersionsPage(r, "2") || isVersionsPage(r, "3") {
			once.Do(func() { // later pages all wait for the delete
				req, _ := http.NewRequest(http.MethodDelete, srv.URL()+"/orgs/Acme/packages/container/app/versions/"+strconv.FormatInt(victim, 10), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("X-Fakeghcr-Seed", "1")
				if resp, err := seedClient.Do(req); err == nil {
					resp.Body.Close()
				}
			})
		}
		return false
	})
	snap, err := prune.LoadStable(bg, c, "app")
	if err != nil {
		t.Fatal(err)
	}
	wantListing(t, srv, "Acme", "app", snap.Versions)
}

// A user's own token reads the user's packages through /user/..., where
// GitHub shows private packages too; anyone else's token uses /users/{name}.
func TestClientUsesTheAuthenticatedUsersPaths(t *testing.T) {
	t.Parallel()
	for _, viewer := range []string{"alice", "bob"} {
		t.Run("viewer "+viewer, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			srv.SetViewer(viewer)
			d := must[string](t)(srv.Pusher("alice", "app").Image("v1"))
			var mu sync.Mutex
			var paths []string
			srv.SetFault(func(_ http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/packages/") {
					mu.Lock()
					paths = append(paths, r.URL.Path)
					mu.Unlock()
				}
				return false
			})
			c, _ := connect(t, srv, "alice")
			vs, err := c.Versions(bg, "app")
			if err != nil || len(vs) != 1 || vs[0].Digest != d {
				t.Fatalf("Versions = %v, %v", vs, err)
			}
			want := "/users/alice/packages/"
			if viewer == "alice" {
				want = "/user/packages/"
			}
			for _, p := range paths {
				if !strings.HasPrefix(p, want) {
					t.Errorf("request to %s, want %s...", p, want)
				}
			}
		})
	}
}

// deleteThenFail is a fault hook for the first DELETE: it lets the fake
// delete the version, then answers as if it had not (fail writes the
// answer, or drops the connection when nil). Later requests go through.
func deleteThenFail(srv *fakeghcr.Server, fail func(http.ResponseWriter)) func(http.ResponseWriter, *http.Request) bool {
	var once atomic.Bool
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete || once.Swap(true) {
			return false
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodDelete, srv.URL()+r.URL.RequestURI(), nil)
		req.Header = r.Header.Clone()
		req.Header.Set("X-Fakeghcr-Seed", "1")
		resp, err := seedClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return true
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			http.Error(w, "seed delete: "+resp.Status, http.StatusInternalServerError)
			return true
		}
		if fail == nil {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return true
		}
		fail(w)
		return true
	}
}

// GitHub deletes the version but the answer is lost (502, dropped
// connection); the retry finds it gone. That is this run's delete, not an
// "already gone".
func TestDeleteRetriedAfterItSucceeded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail func(http.ResponseWriter)
	}{
		{"502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }},
		{"500", func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }},
		{"connection dropped", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			p := srv.Pusher("Acme", "app")
			must[string](t)(p.Image("v1"))
			d := must[string](t)(p.Image(""))
			id := idOf(t, srv, "Acme", "app", d)
			c, w := connect(t, srv, "Acme")
			srv.SetFault(deleteThenFail(srv, tc.fail))
			before := srv.Stats().REST["DELETE"]
			if err := c.DeleteVersion(bg, "app", id); err != nil {
				t.Fatalf("DeleteVersion = %v, want nil (this run deleted it)", err)
			}
			if n := srv.Stats().REST["DELETE"] - before; n != 2 {
				t.Errorf("%d DELETEs reached the fake, want 2 (one retry)", n)
			}
			if !versionOf(srv, "Acme", "app", d).Deleted {
				t.Error("the version is still active")
			}
			if len(w.get()) != 1 {
				t.Errorf("waits = %v, want one backoff", w.get())
			}
			// A later, first-try 404 is still "already gone".
			if err := c.DeleteVersion(bg, "app", id); !errors.Is(err, prune.ErrGone) {
				t.Errorf("delete again: err = %v, want ErrGone", err)
			}
		})
	}
}

// A DELETE refused by a rate limit was not carried out: a 404 on its retry
// means someone else deleted the version, so it stays ErrGone.
func TestDeleteRetriedAfterRateLimitStillGone(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	d := must[string](t)(p.Image(""))
	id := idOf(t, srv, "Acme", "app", d)
	c, w := connect(t, srv, "Acme")
	if err := c.DeleteVersion(bg, "app", id); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(fakeghcr.FailTimes(1, func(r *http.Request) bool { return r.Method == http.MethodDelete },
		func(w http.ResponseWriter) { fakeghcr.WriteSecondaryLimit(w, http.StatusForbidden, 60*time.Second) }))
	if err := c.DeleteVersion(bg, "app", id); !errors.Is(err, prune.ErrGone) {
		t.Errorf("err = %v, want ErrGone", err)
	}
	wantWaits(t, w, 60*time.Second)
}

// A DELETE that fails with 5xx to the end is an error, neither gone nor done.
func TestDeleteAlways502IsAnError(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	d := must[string](t)(p.Image(""))
	c, _ := connect(t, srv, "Acme")
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "Acme", "app", d))
	if err == nil || errors.Is(err, prune.ErrGone) {
		t.Errorf("err = %v, want a plain failure", err)
	}
}

// untagSetup pushes an image tagged pr-1 and v1 (and another image) and
// returns the image's digest and the digests present before any untag.
func untagSetup(t *testing.T, srv *fakeghcr.Server) (string, map[string]bool) {
	t.Helper()
	p := srv.Pusher("Acme", "app")
	img := must[string](t)(p.Image("pr-1"))
	if err := p.Tag(img, "v1"); err != nil {
		t.Fatal(err)
	}
	must[string](t)(p.Image("main"))
	known := map[string]bool{}
	for _, v := range srv.Versions("Acme", "app") {
		known[v.Digest] = true
	}
	return img, known
}

// hideNewVersions hides every version not in known from the versions
// listing, for the first `times` listings after the first manifest PUT
// (times < 0: always), as if the Packages API lagged the registry.
func hideNewVersions(srv *fakeghcr.Server, known map[string]bool, times int) (func(http.ResponseWriter, *http.Request) bool, *atomic.Int32) {
	var put atomic.Bool
	var hidden atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			put.Store(true)
			return false
		}
		if !put.Load() || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/versions") {
			return false
		}
		if times >= 0 && int(hidden.Load()) >= times {
			return false
		}
		hidden.Add(1)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, srv.URL()+r.URL.RequestURI(), nil)
		req.Header = r.Header.Clone()
		req.Header.Set("X-Fakeghcr-Seed", "1")
		resp, err := seedClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		var items []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
			http.Error(w, fmt.Sprint("bad page: ", err), http.StatusBadGateway)
			return true
		}
		kept := []map[string]any{}
		for _, v := range items {
			if name, _ := v["name"].(string); known[name] {
				kept = append(kept, v)
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		json.NewEncoder(w).Encode(kept)
		return true
	}, &hidden
}

func wantUntagged(t *testing.T, srv *fakeghcr.Server, img string, known map[string]bool) {
	t.Helper()
	placeholders := 0
	for _, v := range srv.Versions("Acme", "app") {
		switch {
		case v.Digest == img:
			if v.Deleted || !slices.Equal(v.Tags, []string{"v1"}) {
				t.Errorf("image: deleted %v, tags %v; want active with [v1]", v.Deleted, v.Tags)
			}
		case !known[v.Digest]:
			placeholders++
			if !v.Deleted {
				t.Errorf("placeholder %s left active with tags %v", v.Digest, v.Tags)
			}
		}
	}
	if placeholders != 1 {
		t.Errorf("%d placeholders, want 1", placeholders)
	}
}

func TestUntag(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	c, w := connect(t, srv, "Acme")
	if err := c.Untag(bg, "app", "pr-1", img); err != nil {
		t.Fatal(err)
	}
	wantUntagged(t, srv, img, known)
	wantWaits(t, w)
	// One package page holds every version: it is read once.
	if s := c.Stats(); s.ListRequests != 1 || s.DeleteRequests != 1 || s.RegistryWrites != 1 {
		t.Errorf("Stats = %+v, want 1 list, 1 delete, 1 registry write", s)
	}
}

// The Packages API lags the registry: the placeholder shows up in the
// listing a little later, and Untag waits for it.
func TestUntagWaitsForTheListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	c, w := connect(t, srv, "Acme")
	hook, hidden := hideNewVersions(srv, known, 2)
	srv.SetFault(hook)
	if err := c.Untag(bg, "app", "pr-1", img); err != nil {
		t.Fatal(err)
	}
	if hidden.Load() != 2 {
		t.Errorf("the placeholder was hidden from %d listings, want 2", hidden.Load())
	}
	wantUntagged(t, srv, img, known)
	wantWaits(t, w, 500*time.Millisecond, time.Second)
}

// A placeholder that never shows up fails the untag after about 30 s of
// looking, and says the tag now points at the placeholder.
func TestUntagGivesUpWaitingForTheListing(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	c, w := connect(t, srv, "Acme")
	hook, hidden := hideNewVersions(srv, known, -1)
	srv.SetFault(hook)
	err := c.Untag(bg, "app", "pr-1", img)
	if err == nil || !strings.Contains(err.Error(), "placeholder") || !strings.Contains(err.Error(), "no version of app has digest") {
		t.Fatalf("err = %v, want a placeholder-not-found error", err)
	}
	var total time.Duration
	got := w.get()
	for _, d := range got {
		total += d
	}
	if len(got) != 6 || got[0] != 500*time.Millisecond || total < 25*time.Second || total > 35*time.Second {
		t.Errorf("waits = %v (%v in all), want 6 growing from 0.5s to about 30s", got, total)
	}
	if n := hidden.Load(); n != 7 {
		t.Errorf("%d listings, want 7", n)
	}
}

// Untag's wait for the listing ends with the caller's context.
func TestUntagWaitStopsWithContext(t *testing.T) {
	t.Parallel()
	srv := start(t)
	img, known := untagSetup(t, srv)
	tr := ghcr.NewTransport(nil) // the real Sleep
	tr.Base = http.DefaultTransport.(*http.Transport).Clone()
	c, err := ghcr.New(bg, ghcr.Config{Token: token, Owner: "Acme", APIURL: srv.URL(), RegistryURL: srv.URL(), HTTP: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	hook, _ := hideNewVersions(srv, known, -1)
	srv.SetFault(hook)
	ctx, cancel := context.WithTimeout(bg, 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Untag(ctx, "app", "pr-1", img)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
}

// New's own HTTP client has a timeout: a call to a server that never
// answers fails once it passes, without retries.
func TestNewClientTimeout(t *testing.T) {
	t.Parallel()
	var hung atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/users/alice" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"login":"alice","type":"User"}`)
			return
		}
		hung.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := ghcr.New(bg, ghcr.Config{Owner: "alice", APIURL: srv.URL, RegistryURL: srv.URL, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.CheckPackage(bg, "app")
	// net/http reports the client's timeout as either, depending on timing.
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") && !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("err = %v, want a Client.Timeout error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	if n := hung.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (a caller's timeout is not retried)", n)
	}
}
