package fakeghcr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-github/v57/github"
)

var ctx = context.Background()

func start(t *testing.T, opts ...Option) (*Server, *github.Client) {
	t.Helper()
	s := Start(opts...)
	t.Cleanup(s.Close)
	s.AddOrg("Acme")
	s.SetViewer("octocat")
	return s, client(t, s, "")
}

func client(t *testing.T, s *Server, tok string) *github.Client {
	t.Helper()
	c := github.NewClient(nil)
	if tok != "" {
		c = c.WithAuthToken(tok)
	}
	u, err := url.Parse(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
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

func versions(t *testing.T, c *github.Client, org, pkg string, opts *github.PackageListOptions) ([]*github.PackageVersion, *github.Response) {
	t.Helper()
	vs, resp, err := c.Organizations.PackageGetAllVersions(ctx, org, "container", url.PathEscape(pkg), opts)
	if err != nil {
		t.Fatal(err)
	}
	return vs, resp
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

func tagsOf(v *github.PackageVersion) []string { return v.GetMetadata().GetContainer().Tags }

// registryStatus fetches ref anonymously and returns the HTTP status (200 on success).
func registryStatus(t *testing.T, ref string, opts ...remote.Option) int {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Get(r, opts...)
	var te *transport.Error
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &te):
		return te.StatusCode
	}
	t.Fatal(err)
	return 0
}

func errMessage(t *testing.T, err error, status int) string {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("want *github.ErrorResponse, got %T %v", err, err)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("status %d, want %d (%s)", er.Response.StatusCode, status, er.Message)
	}
	return er.Message
}

func TestMultiArchWithAttestations(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	idx, children, err := p.MultiArch("v1", []string{"linux/amd64", "linux/arm64/v8"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 4 {
		t.Fatalf("children = %d, want 4", len(children))
	}
	vs, _ := versions(t, c, "acme", "app", nil)
	if len(vs) != 5 {
		t.Fatalf("versions = %d, want 5", len(vs))
	}
	if vs[0].GetName() != idx || !slices.Equal(tagsOf(vs[0]), []string{"v1"}) {
		t.Errorf("newest version = %s %v, want index %s tagged v1", vs[0].GetName(), tagsOf(vs[0]), idx)
	}
	for _, v := range vs[1:] {
		if tags := tagsOf(v); tags == nil || len(tags) != 0 {
			t.Errorf("child %s tags = %#v, want empty non-nil", v.GetName(), tags)
		}
		if !slices.Contains(children, v.GetName()) {
			t.Errorf("unexpected version %s", v.GetName())
		}
	}
	for i := 1; i < len(vs); i++ {
		if vs[i-1].GetID() <= vs[i].GetID() {
			t.Errorf("versions not newest first")
		}
	}
	if got := vs[0].GetURL(); got != s.URL()+"/orgs/Acme/packages/container/app/versions/"+itoa(vs[0].GetID()) {
		t.Errorf("url = %s", got)
	}
	if vs[0].GetPackageHTMLURL() != "https://github.com/orgs/Acme/packages/container/package/app" {
		t.Errorf("package_html_url = %s", vs[0].GetPackageHTMLURL())
	}

	desc := must[*remote.Descriptor](t)(remote.Get(mustRef(t, p.Ref(idx))))
	if desc.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("media type %s", desc.MediaType)
	}
	im := must[*v1.IndexManifest](t)(v1.ParseIndexManifest(bytes.NewReader(desc.Manifest)))
	att := im.Manifests[3]
	if att.Platform.OS != "unknown" || att.Annotations[AnnotationRefType] != "attestation-manifest" || att.Annotations[AnnotationRefDigest] != children[1] {
		t.Errorf("attestation descriptor = %+v", att)
	}

	pkg, _, err := c.Organizations.GetPackage(ctx, "acme", "container", "app")
	if err != nil {
		t.Fatal(err)
	}
	if pkg.GetVersionCount() != 5 || pkg.GetVisibility() != "private" || pkg.GetOwner().GetType() != "Organization" {
		t.Errorf("package = %+v", pkg)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPaginationLinks(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	for range 5 {
		must[string](t)(p.Image(""))
	}
	vs, resp := versions(t, c, "acme", "app", &github.PackageListOptions{ListOptions: github.ListOptions{PerPage: 2}})
	if len(vs) != 2 || resp.NextPage != 2 || resp.LastPage != 3 {
		t.Fatalf("page 1: %d items next=%d last=%d link=%q", len(vs), resp.NextPage, resp.LastPage, resp.Header.Get("Link"))
	}
	if !strings.HasPrefix(resp.Header.Get("Link"), "<"+s.URL()+"/orgs/acme/packages/container/app/versions?") {
		t.Errorf("link not absolute: %s", resp.Header.Get("Link"))
	}
	var all []*github.PackageVersion
	opts := &github.PackageListOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		vs, resp := versions(t, c, "acme", "app", opts)
		all = append(all, vs...)
		if resp.NextPage == 0 {
			if resp.PrevPage != 2 || resp.FirstPage != 1 {
				t.Errorf("last page prev=%d first=%d", resp.PrevPage, resp.FirstPage)
			}
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 5 {
		t.Errorf("walked %d versions, want 5", len(all))
	}
	_, resp = versions(t, c, "acme", "app", &github.PackageListOptions{ListOptions: github.ListOptions{PerPage: 500}})
	if resp.Header.Get("Link") != "" {
		t.Errorf("one page should have no Link: %s", resp.Header.Get("Link"))
	}
}

func TestTagMoveLeavesUntagged(t *testing.T) {
	clk := &testClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, c := start(t, WithClock(clk.now))
	p := s.Pusher("acme", "app")
	old := must[string](t)(p.Image("latest"))
	clk.advance(time.Hour)
	nu := must[string](t)(p.Image("latest"))
	vs, _ := versions(t, c, "acme", "app", nil)
	if vs[0].GetName() != nu || !slices.Equal(tagsOf(vs[0]), []string{"latest"}) || vs[1].GetName() != old || len(tagsOf(vs[1])) != 0 {
		t.Fatalf("after move: %s %v / %s %v", vs[0].GetName(), tagsOf(vs[0]), vs[1].GetName(), tagsOf(vs[1]))
	}
	clock := clk.advance(time.Hour)
	if err := p.Tag(old, "stable"); err != nil {
		t.Fatal(err)
	}
	vs, _ = versions(t, c, "acme", "app", nil)
	if !slices.Equal(tagsOf(vs[1]), []string{"stable"}) || !vs[1].GetUpdatedAt().Time.Equal(clock) || !vs[1].GetCreatedAt().Time.Equal(clock.Add(-2*time.Hour)) {
		t.Errorf("retag: tags=%v created=%v updated=%v", tagsOf(vs[1]), vs[1].GetCreatedAt(), vs[1].GetUpdatedAt())
	}
	if len(s.Versions("acme", "app")) != 2 {
		t.Errorf("retag created a version")
	}
}

func TestDeleteVersionRemovesDigestAndTags(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	keep := must[string](t)(p.Image("keep"))
	gone := must[string](t)(p.Image("gone"))
	must[string](t)(p.Image("")) // untagged
	if err := p.Tag(gone, "also"); err != nil {
		t.Fatal(err)
	}
	id := s.Versions("acme", "app")[1].ID
	resp, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", id)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %v %v", resp, err)
	}
	for _, ref := range []string{p.Ref(gone), p.Repository().Tag("gone").String(), p.Repository().Tag("also").String()} {
		if got := registryStatus(t, ref); got != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", ref, got)
		}
	}
	if got := registryStatus(t, p.Ref(keep)); got != http.StatusOK {
		t.Errorf("keep: %d", got)
	}
	tags := must[[]string](t)(remote.List(p.Repository()))
	if !slices.Equal(tags, []string{"keep"}) {
		t.Errorf("tags/list = %v", tags)
	}
	deleted, _ := versions(t, c, "acme", "app", &github.PackageListOptions{State: github.String("deleted")})
	if len(deleted) != 1 || deleted[0].GetName() != gone {
		t.Errorf("state=deleted = %v", deleted)
	}
	active, _ := versions(t, c, "acme", "app", nil)
	if len(active) != 2 {
		t.Errorf("active = %d", len(active))
	}

	_, err = c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", id)
	if msg := errMessage(t, err, 404); msg != "Package version not found." {
		t.Errorf("again: %q", msg)
	}
	_, err = c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", 1)
	if msg := errMessage(t, err, 404); msg != "Package version not found." {
		t.Errorf("missing: %q", msg)
	}
	_, _, err = c.Organizations.PackageGetVersion(ctx, "acme", "container", "app", 1)
	errMessage(t, err, 404)
}

func TestDeleteLastTaggedVersionRefused(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	must[string](t)(p.Image("")) // an untagged version does not count
	tagged := must[string](t)(p.Image("v1"))
	id := s.Versions("acme", "app")[0].ID
	_, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", id)
	if msg := errMessage(t, err, 400); msg != "You cannot delete the last tagged version of a package. You must delete the package instead." {
		t.Errorf("message %q", msg)
	}
	if got := registryStatus(t, p.Ref(tagged)); got != 200 {
		t.Errorf("refused delete removed the manifest: %d", got)
	}
	untagged := s.Versions("acme", "app")[1].ID
	if _, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", untagged); err != nil {
		t.Errorf("untagged delete: %v", err)
	}
}

// GitHub's third refusal: the last version of a package, tagged or not,
// cannot be deleted; the package can.
func TestDeleteLastVersionRefused(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	first := must[string](t)(p.Image(""))
	last := must[string](t)(p.Image(""))
	ids := map[string]int64{}
	for _, v := range s.Versions("acme", "app") {
		ids[v.Digest] = v.ID
	}
	if _, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", ids[first]); err != nil {
		t.Fatalf("deleting one of two versions: %v", err)
	}
	_, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", ids[last])
	if msg := errMessage(t, err, 400); msg != "You cannot delete the last version of a package. You must delete the package instead." {
		t.Errorf("message %q", msg)
	}
	if got := registryStatus(t, p.Ref(last)); got != 200 {
		t.Errorf("refused delete removed the manifest: %d", got)
	}
	s.DeleteAllVersions("acme", "app") // past the API's refusal, for tests
	if vs := s.Versions("acme", "app"); len(vs) != 2 || !vs[0].Deleted || !vs[1].Deleted {
		t.Errorf("after DeleteAllVersions: %+v", vs)
	}
	if _, err := c.Organizations.DeletePackage(ctx, "acme", "container", "app"); err != nil {
		t.Errorf("deleting the package: %v", err)
	}
}

// A classic token's scopes come back in X-OAuth-Scopes on every
// authenticated answer; other tokens get no such header.
func TestTokenScopesHeader(t *testing.T) {
	for _, tc := range []struct {
		token string
		opts  []Option
		want  []string // nil: no header
	}{
		{"ghp_x", []Option{WithTokenScopes("read:packages", "delete:packages")}, []string{"read:packages, delete:packages"}},
		{"ghp_x", []Option{WithTokenScopes()}, []string{""}},
		{"ghs_x", nil, nil},
	} {
		s, _ := start(t, append(tc.opts, WithToken(tc.token))...)
		_, resp, err := client(t, s, tc.token).Users.Get(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Values("X-OAuth-Scopes"); !slices.Equal(got, tc.want) {
			t.Errorf("%s: X-OAuth-Scopes = %q, want %q", tc.token, got, tc.want)
		}
	}
}

func TestPublicDownloadsRefused(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	must[string](t)(p.Image("latest"))
	popular := must[string](t)(p.Image("old"))
	if err := p.Tag(must[string](t)(p.Image("")), "other"); err != nil {
		t.Fatal(err)
	}
	s.SetPublicDownloads("acme", "app", popular, 5001)
	var id int64
	for _, v := range s.Versions("acme", "app") {
		if v.Digest == popular {
			id = v.ID
		}
	}
	_, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", id)
	if msg := errMessage(t, err, 400); msg != msgDownloads {
		t.Errorf("message %q", msg)
	}
	pkg := must[*github.Package](t)(func() (*github.Package, error) {
		p, _, err := c.Organizations.GetPackage(ctx, "acme", "container", "app")
		return p, err
	}())
	if pkg.GetVisibility() != "public" {
		t.Errorf("visibility %s", pkg.GetVisibility())
	}
}

func TestRestoreVersion(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	must[string](t)(p.Image("latest"))
	d := must[string](t)(p.Image("v1"))
	id := s.Versions("acme", "app")[0].ID
	if _, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "container", "app", id); err == nil {
		t.Fatal("restoring an active version should 404")
	} else {
		errMessage(t, err, 404)
	}
	must[*github.Response](t)(c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", id))
	resp, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "container", "app", id)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("restore: %v", err)
	}
	if got := registryStatus(t, p.Repository().Tag("v1").String()); got != 200 {
		t.Errorf("tag after restore: %d", got)
	}
	v := must[*github.PackageVersion](t)(func() (*github.PackageVersion, error) {
		v, _, err := c.Organizations.PackageGetVersion(ctx, "acme", "container", "app", id)
		return v, err
	}())
	if v.GetName() != d || !slices.Equal(tagsOf(v), []string{"v1"}) {
		t.Errorf("restored version %s %v", v.GetName(), tagsOf(v))
	}

	// A tag taken over while the version was deleted stays with its new holder.
	must[*github.Response](t)(c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", id))
	nu := must[string](t)(p.Image("v1"))
	must[*github.Response](t)(c.Organizations.PackageRestoreVersion(ctx, "acme", "container", "app", id))
	if got := must[*remote.Descriptor](t)(remote.Get(p.Repository().Tag("v1"))).Digest.String(); got != nu {
		t.Errorf("v1 = %s, want new holder %s", got, nu)
	}
	if got := registryStatus(t, p.Ref(d)); got != 200 {
		t.Errorf("restored digest: %d", got)
	}
}

func TestNestedPackageNameAndPrefixes(t *testing.T) {
	s, c := start(t)
	s.AddUser("bob")
	must[string](t)(s.Pusher("acme", "team/app").Image("v1"))
	must[string](t)(s.Pusher("bob", "tool").Image("v1"))
	must[string](t)(s.Pusher("octocat", "mine").Image("v1"))

	vs, _ := versions(t, c, "acme", "team/app", nil)
	if len(vs) != 1 || !strings.Contains(vs[0].GetURL(), "team%2Fapp") {
		t.Errorf("escaped name: %v", vs)
	}
	_, _, err := c.Organizations.PackageGetAllVersions(ctx, "acme", "container", "team/app", nil)
	if msg := errMessage(t, err, 404); msg != "Package not found." {
		t.Errorf("unescaped: %q", msg)
	}
	_, _, err = c.Organizations.GetPackage(ctx, "acme", "npm", "team%2Fapp")
	errMessage(t, err, 404)

	if _, _, err := c.Users.PackageGetAllVersions(ctx, "bob", "container", "tool", nil); err != nil {
		t.Errorf("user prefix: %v", err)
	}
	if _, _, err := c.Users.PackageGetAllVersions(ctx, "", "container", "mine", nil); err != nil {
		t.Errorf("viewer prefix: %v", err)
	}
	_, _, err = c.Users.PackageGetAllVersions(ctx, "acme", "container", "team%2Fapp", nil)
	errMessage(t, err, 404)
	_, _, err = c.Organizations.PackageGetAllVersions(ctx, "bob", "container", "tool", nil)
	errMessage(t, err, 404)

	pkgs, _, err := c.Organizations.ListPackages(ctx, "ACME", &github.PackageListOptions{PackageType: github.String("container")})
	if err != nil || len(pkgs) != 1 || pkgs[0].GetName() != "team/app" {
		t.Errorf("list packages: %v %v", pkgs, err)
	}
	_, _, err = c.Organizations.ListPackages(ctx, "acme", nil)
	errMessage(t, err, 400)

	u, _, err := c.Users.Get(ctx, "acme")
	if err != nil || u.GetType() != "Organization" {
		t.Errorf("get org as user: %v %v", u, err)
	}
	_, _, err = c.Users.Get(ctx, "nobody")
	errMessage(t, err, 404)

	if _, err := s.Pusher("nobody", "app").Image("v1"); err == nil {
		t.Error("push to unknown owner succeeded")
	} else if te := (*transport.Error)(nil); !errors.As(err, &te) || te.StatusCode != 403 {
		t.Errorf("push to unknown owner: %v", err)
	}
}

func TestTokenRequired(t *testing.T) {
	s, anon := start(t, WithToken("s3cret"))
	d := must[string](t)(s.Pusher("acme", "app").Image("v1"))

	_, _, err := anon.Organizations.GetPackage(ctx, "acme", "container", "app")
	if msg := errMessage(t, err, 401); msg != "Bad credentials" {
		t.Errorf("message %q", msg)
	}
	_, _, err = client(t, s, "wrong").Organizations.GetPackage(ctx, "acme", "container", "app")
	errMessage(t, err, 401)
	if _, _, err := client(t, s, "s3cret").Organizations.GetPackage(ctx, "acme", "container", "app"); err != nil {
		t.Errorf("with token: %v", err)
	}

	ref := s.Pusher("acme", "app").Ref(d)
	if got := registryStatus(t, ref); got != 401 {
		t.Errorf("anonymous pull: %d", got)
	}
	if got := registryStatus(t, ref, remote.WithAuth(&authn.Basic{Username: "u", Password: "nope"})); got != 401 {
		t.Errorf("wrong password: %d", got)
	}
	if got := registryStatus(t, ref, remote.WithAuth(&authn.Basic{Username: "u", Password: "s3cret"})); got != 200 {
		t.Errorf("token pull: %d", got)
	}
}

func TestRegistryQuirks(t *testing.T) {
	s, _ := start(t)
	p := s.Pusher("acme", "app")
	d := must[string](t)(p.Image("v1"))

	req := must[*http.Request](t)(http.NewRequest(http.MethodDelete, s.URL()+"/v2/acme/app/manifests/"+d, nil))
	resp := must[*http.Response](t)(http.DefaultClient.Do(req))
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("manifest DELETE = %d", resp.StatusCode)
	}
	if err := remote.Delete(mustRef(t, p.Ref(d))); err == nil {
		t.Error("remote.Delete succeeded")
	}
	resp = must[*http.Response](t)(http.Get(s.URL() + "/v2/acme/app/referrers/" + d))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("referrers = %d", resp.StatusCode)
	}

	// PUT by a wrong digest is rejected.
	if _, st, err := s.PutManifest("acme", "app", "sha256:"+strings.Repeat("0", 64), "application/vnd.oci.image.manifest.v1+json", []byte(`{"schemaVersion":2}`)); err != nil || st != http.StatusBadRequest {
		t.Errorf("digest mismatch = %d, %v", st, err)
	}
	// An index over unknown children is rejected.
	if _, st, err := s.PutManifest("acme", "app", "bad", "application/vnd.oci.image.index.v1+json",
		[]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+strings.Repeat("1", 64)+`","size":1}]}`)); err != nil || st != http.StatusNotFound {
		t.Errorf("index over unknown child = %d, %v", st, err)
	}

	for i := range 3 {
		if err := p.Tag(d, "t"+itoa(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	tags := must[[]string](t)(remote.List(p.Repository(), remote.WithPageSize(2)))
	if !slices.Equal(tags, []string{"t0", "t1", "t2", "v1"}) {
		t.Errorf("paged tags = %v", tags)
	}
	head := must[*v1.Descriptor](t)(remote.Head(mustRef(t, p.Ref(d))))
	if head.Digest.String() != d {
		t.Errorf("HEAD digest %s", head.Digest)
	}
}

// PutManifest stores the bytes as they are, through a server that requires
// a token, as setup: neither the statistics nor the fault hook see it.
func TestPutManifest(t *testing.T) {
	s, _ := start(t, WithToken("tok"))
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusTeapot)
		return true
	})
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)
	d, st, err := s.PutManifest("Acme", "app", "v1", "", body)
	if err != nil || st != http.StatusCreated {
		t.Fatalf("PutManifest = %d, %v", st, err)
	}
	if again, st, err := s.PutManifest("Acme", "app", d, "application/vnd.oci.image.manifest.v1+json", body); err != nil || st != http.StatusCreated || again != d {
		t.Errorf("PUT by digest = %s, %d, %v; want %s, 201", again, st, err, d)
	}
	vs := s.Versions("Acme", "app")
	if len(vs) != 1 || vs[0].Digest != d || !slices.Equal(vs[0].Tags, []string{"v1"}) || vs[0].MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("versions = %+v, want %s tagged v1", vs, d)
	}
	if _, st, _ := s.PutManifest("Acme", "app", "v2", "", []byte(`{}`)); st != http.StatusBadRequest {
		t.Errorf("a manifest with no media type = %d, want 400", st)
	}
	if st := s.Stats(); st.Total != 0 {
		t.Errorf("PutManifest counted: %+v", st)
	}
}

func TestArtifacts(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	img := must[string](t)(p.Image("v1"))
	sig := must[string](t)(p.CosignSignature(img))
	att := must[string](t)(p.CosignAttestation(img))
	ref1 := must[string](t)(p.Referrer(img, SigstoreBundle))
	fallback1 := must[*remote.Descriptor](t)(remote.Get(p.Repository().Tag(strings.Replace(img, ":", "-", 1)))).Digest.String()
	ref2 := must[string](t)(p.Referrer(img, "application/spdx+json"))
	helm := must[string](t)(p.Helm("1.2.3"))

	refs := must[v1.ImageIndex](t)(remote.Referrers(p.Repository().Digest(img)))
	im := must[*v1.IndexManifest](t)(refs.IndexManifest())
	var got []string
	for _, m := range im.Manifests {
		got = append(got, m.Digest.String())
	}
	slices.Sort(got)
	want := []string{ref1, ref2}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("referrers = %v, want %v", got, want)
	}

	byDigest := map[string]Version{}
	for _, v := range s.Versions("acme", "app") {
		byDigest[v.Digest] = v
	}
	hex := strings.TrimPrefix(img, "sha256:")
	checks := map[string][]string{
		img: {"v1"}, sig: {"sha256-" + hex + ".sig"}, att: {"sha256-" + hex + ".att"},
		ref1: {}, ref2: {}, fallback1: {}, helm: {"1.2.3"},
	}
	for d, tags := range checks {
		if v, ok := byDigest[d]; !ok || !slices.Equal(v.Tags, tags) {
			t.Errorf("version %s: %+v, want tags %v", d, v, tags)
		}
	}
	// 7 above plus the second fallback index, which holds the tag now.
	if len(byDigest) != 8 {
		t.Errorf("versions = %d, want 8", len(byDigest))
	}
	helmDesc := must[*remote.Descriptor](t)(remote.Get(mustRef(t, p.Ref(helm))))
	if !strings.Contains(string(helmDesc.Manifest), string(HelmConfig)) {
		t.Errorf("helm manifest %s", helmDesc.Manifest)
	}

	// Shared children and nested indexes.
	idx, children, err := p.MultiArch("", []string{"linux/amd64"}, false)
	if err != nil {
		t.Fatal(err)
	}
	outer := must[string](t)(p.Index("nested", []string{idx, children[0], img}))
	vs, _ := versions(t, c, "acme", "app", nil)
	if vs[0].GetName() != outer || !slices.Equal(tagsOf(vs[0]), []string{"nested"}) {
		t.Errorf("nested index version %s %v", vs[0].GetName(), tagsOf(vs[0]))
	}
}

func TestRateLimits(t *testing.T) {
	s, c := start(t, WithPrimaryBudget(3))
	must[string](t)(s.Pusher("acme", "app").Image("v1"))
	for i := range 3 {
		_, resp, err := c.Organizations.GetPackage(ctx, "acme", "container", "app")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		h := resp.Header
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != itoa(int64(2-i)) ||
			h.Get("X-RateLimit-Used") != itoa(int64(i+1)) || h.Get("X-RateLimit-Resource") != "core" || h.Get("X-RateLimit-Reset") == "" {
			t.Errorf("headers %d: %v", i, h)
		}
	}
	// A fresh client: the old one saw remaining=0 and refuses locally.
	_, _, err := client(t, s, "").Organizations.GetPackage(ctx, "acme", "container", "app")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Remaining != 0 || !strings.HasPrefix(rle.Message, "API rate limit exceeded for user ID") {
		t.Fatalf("want RateLimitError, got %T %v", err, err)
	}
	if time.Until(rle.Rate.Reset.Time) < 59*time.Minute {
		t.Errorf("reset %v", rle.Rate.Reset)
	}

	s2, c2 := start(t, WithSecondaryLimit(6))
	must[string](t)(s2.Pusher("acme", "app").Image("v1"))
	must[string](t)(s2.Pusher("acme", "app").Image(""))
	ids := []int64{s2.Versions("acme", "app")[0].ID, 1}
	if _, err := c2.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", ids[0]); err != nil {
		t.Fatal(err) // 5 points
	}
	if _, _, err := c2.Organizations.GetPackage(ctx, "acme", "container", "app"); err != nil {
		t.Fatal(err) // another endpoint has its own budget
	}
	_, err = c2.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", ids[1])
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) || are.GetRetryAfter() != time.Minute {
		t.Fatalf("want AbuseRateLimitError with retry-after 60s, got %T %v", err, err)
	}
}

func TestActionsToken(t *testing.T) {
	s, c := start(t, WithActionsToken())
	must[string](t)(s.Pusher("acme", "app").Image("v1"))
	_, _, err := c.Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{PackageType: github.String("container")})
	if msg := errMessage(t, err, 400); msg != "Invalid argument." {
		t.Errorf("message %q", msg)
	}
	if _, _, err := c.Organizations.PackageGetAllVersions(ctx, "acme", "container", "app", nil); err != nil {
		t.Errorf("per-package endpoint: %v", err)
	}
}

func TestFaultsDeterministic(t *testing.T) {
	run := func() []int {
		s, _ := start(t, WithFaults(42, 0.3))
		var codes []int
		for range 30 {
			resp, err := http.Get(s.URL() + "/users/acme")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		return codes
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("not deterministic:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 502) || !slices.Contains(a, 200) {
		t.Errorf("want a mix of 200 and 502: %v", a)
	}
}

func TestFaultHookAndStats(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	d := must[string](t)(p.Image("v1"))
	if st := s.Stats(); st.Total != 0 {
		t.Errorf("pusher requests counted: %+v", st)
	}
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusTeapot)
			return true
		}
		return false
	})
	_, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", "app", 5)
	errMessage(t, err, http.StatusTeapot)
	must[*remote.Descriptor](t)(remote.Get(mustRef(t, p.Ref(d))))
	st := s.Stats()
	if st.REST["DELETE"] != 1 || st.ManifestGets != 1 || st.Total < 2 {
		t.Errorf("stats %+v", st)
	}
	s.ResetStats()
	if s.Stats().Total != 0 {
		t.Error("ResetStats")
	}
}

func TestDeletePackageAndRestore(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	d := must[string](t)(p.Image("v1"))
	if _, err := c.Organizations.DeletePackage(ctx, "acme", "container", "app"); err != nil {
		t.Fatal(err)
	}
	if got := registryStatus(t, p.Ref(d)); got != 404 {
		t.Errorf("deleted package still served: %d", got)
	}
	_, _, err := c.Organizations.GetPackage(ctx, "acme", "container", "app")
	errMessage(t, err, 404)
	if _, err := c.Organizations.RestorePackage(ctx, "acme", "container", "app"); err != nil {
		t.Fatal(err)
	}
	if got := registryStatus(t, p.Repository().Tag("v1").String()); got != 200 {
		t.Errorf("restored package: %d", got)
	}
}

func TestRawErrorShapeAndLimits(t *testing.T) {
	s, _ := start(t)
	get := func(path string) (int, map[string]any) {
		resp := must[*http.Response](t)(http.Get(s.URL() + path))
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("%s: no rate-limit headers", path)
		}
		return resp.StatusCode, body
	}
	code, body := get("/orgs/acme/packages/container/nope/versions")
	if code != 404 || body["status"] != "404" || body["message"] != "Package not found." ||
		!strings.HasPrefix(body["documentation_url"].(string), "https://docs.github.com/rest/packages/packages#") {
		t.Errorf("404 body %v", body)
	}
	if code, body = get("/orgs/acme/packages?package_type=container&page=101&per_page=100"); code != 400 || body["status"] != "400" {
		t.Errorf("page*per_page: %d %v", code, body)
	}
	if code, body = get("/users/ghost"); code != 404 || body["message"] != "Not Found" {
		t.Errorf("unknown user: %d %v", code, body)
	}
}

func TestLatency(t *testing.T) {
	s, c := start(t, WithLatency(50*time.Millisecond))
	must[string](t)(s.Pusher("acme", "app").Image("v1")) // seeding is not delayed
	begin := time.Now()
	if _, _, err := c.Organizations.GetPackage(ctx, "acme", "container", "app"); err != nil {
		t.Fatal(err)
	}
	if time.Since(begin) < 50*time.Millisecond {
		t.Error("no latency")
	}
}

func TestFaultHelpers(t *testing.T) {
	s, c := start(t)
	must[string](t)(s.Pusher("acme", "app").Image("v1"))
	isREST := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/orgs/") }
	s.SetFault(FailTimes(1, isREST, func(w http.ResponseWriter) { WriteSecondaryLimit(w, http.StatusTooManyRequests, 0) }))
	_, resp, err := c.Organizations.GetPackage(ctx, "acme", "container", "app")
	if errMessage(t, err, 429); resp.Header.Get("Retry-After") != "" {
		t.Error("retry-after set")
	}
	if _, _, err := c.Organizations.GetPackage(ctx, "acme", "container", "app"); err != nil {
		t.Errorf("second call: %v", err)
	}
	s.SetFault(FailTimes(1, isREST, func(w http.ResponseWriter) { WriteSecondaryLimit(w, http.StatusForbidden, 30*time.Second) }))
	_, _, err = client(t, s, "").Organizations.GetPackage(ctx, "acme", "container", "app")
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) || are.GetRetryAfter() != 30*time.Second {
		t.Errorf("secondary 403: %T %v", err, err)
	}
	s.SetFault(FailTimes(1, isREST, func(w http.ResponseWriter) { WritePrimaryLimit(w, http.StatusForbidden, time.Now().Add(time.Minute)) }))
	_, _, err = client(t, s, "").Organizations.GetPackage(ctx, "acme", "container", "app")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) {
		t.Errorf("primary 403: %T %v", err, err)
	}
}

func TestPageParams(t *testing.T) {
	for _, tc := range []struct {
		q          string
		page, size int
	}{{"", 1, 30}, {"page=3&per_page=500", 3, 100}, {"page=0&per_page=-1", 1, 30}, {"page=x", 1, 30}} {
		q := must[url.Values](t)(url.ParseQuery(tc.q))
		if page, size := pageParams(q); page != tc.page || size != tc.size {
			t.Errorf("%q: %d,%d want %d,%d", tc.q, page, size, tc.page, tc.size)
		}
	}
}
