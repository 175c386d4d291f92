package fakeghcr

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v57/github"
)

// Hostile's Link header claims the page count it is given; its padding
// keeps a listing valid JSON and a manifest's bytes after it intact.
func TestHostile(t *testing.T) {
	s, c := start(t)
	p := s.Pusher("acme", "app")
	d := must[string](t)(p.Image("v1"))
	s.SetHostile(Hostile{LastPage: 999999999999999})
	_, resp := versions(t, c, "acme", "app", nil)
	if resp.NextPage != 2 || resp.LastPage != 999999999999999 {
		t.Errorf("next %d, last %d; Link %q", resp.NextPage, resp.LastPage, resp.Header.Get("Link"))
	}
	_, resp, err := c.Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{PackageType: github.String("container"), ListOptions: github.ListOptions{Page: 7}})
	if err != nil || resp.NextPage != 8 {
		t.Errorf("packages listing: next %d, %v", resp.NextPage, err)
	}

	s.SetHostile(Hostile{ListingBytes: 1 << 20, ManifestBytes: 2 << 20})
	vs, resp := versions(t, c, "acme", "app", nil)
	if len(vs) != 1 || resp.Header.Get("Link") != "" {
		t.Errorf("padded listing: %d versions, Link %q", len(vs), resp.Header.Get("Link"))
	}
	req := must[*http.Request](t)(http.NewRequest(http.MethodGet, s.URL()+"/v2/acme/app/manifests/"+d, nil))
	mresp := must[*http.Response](t)(http.DefaultClient.Do(req))
	body := must[[]byte](t)(io.ReadAll(mresp.Body))
	mresp.Body.Close()
	if mresp.ContentLength != -1 || len(body) != 2<<20 || strings.TrimLeft(string(body), " ")[0] != '{' {
		t.Errorf("padded manifest: Content-Length %d, %d bytes", mresp.ContentLength, len(body))
	}
	if sent := s.Stats().PaddingSent; sent < 3<<20-2048 {
		t.Errorf("PaddingSent = %d", sent)
	}

	s.SetHostile(Hostile{})
	if _, resp := versions(t, c, "acme", "app", nil); resp.Header.Get("Link") != "" {
		t.Errorf("switched off, the listing still has a Link: %q", resp.Header.Get("Link"))
	}
}
