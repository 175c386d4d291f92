package ghcr_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

// A manifest answer longer than any manifest may be is not read past 4 MiB:
// go-containerregistry alone would read 100 MiB of it.
func TestManifestAnswerBounded(t *testing.T) {
	t.Parallel()
	srv := start(t)
	d := must[string](t)(srv.Pusher("Acme", "app").Image("v1"))
	c, _ := connect(t, srv, "Acme")
	srv.SetHostile(fakeghcr.Hostile{ManifestBytes: 64 << 20})
	_, err := c.Manifest(bg, "app", d)
	if !errors.Is(err, ghcr.ErrTooLarge) || !strings.Contains(err.Error(), "the registry answered GET") || !strings.Contains(err.Error(), "more than 4 MiB") {
		t.Fatalf("err = %v, want the answer refused as larger than 4 MiB", err)
	}
	// What the connection took beyond 4 MiB is socket buffers, never the
	// 64 MiB on offer.
	if sent := srv.Stats().PaddingSent; sent > 24<<20 {
		t.Errorf("the fake sent %d MiB of padding before the client stopped reading", sent>>20)
	}
	srv.SetHostile(fakeghcr.Hostile{})
	if _, err := c.Manifest(bg, "app", d); err != nil {
		t.Errorf("once the fake answers normally: %v", err)
	}
}

// A listing page longer than a page of versions can be fails the listing;
// the padding keeps it valid JSON, so only the bound tells.
func TestListingAnswerBounded(t *testing.T) {
	t.Parallel()
	srv, c, _ := seeded(t, 3)
	srv.SetHostile(fakeghcr.Hostile{ListingBytes: 16 << 20})
	_, err := c.Versions(bg, "app")
	if !errors.Is(err, ghcr.ErrTooLarge) || !strings.Contains(err.Error(), "GitHub's REST API answered GET") || !strings.Contains(err.Error(), "more than 8 MiB") || !strings.Contains(err.Error(), "app") {
		t.Fatalf("err = %v, want the page refused as larger than 8 MiB", err)
	}
	srv.SetHostile(fakeghcr.Hostile{ListingBytes: 4 << 20})
	if vs, err := c.Versions(bg, "app"); err != nil || len(vs) != 3 {
		t.Errorf("a padded page under the bound: %d versions, %v", len(vs), err)
	}
}

// An answer that says up front it is too long fails before it is read.
func TestDeclaredLengthOverTheBound(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(9<<20))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"login":"alice","type":"User"}`) // then hangs up short
	}))
	t.Cleanup(api.Close)
	tr, _ := newTransport()
	_, err := ghcr.New(bg, ghcr.Config{Owner: "alice", APIURL: api.URL, RegistryURL: api.URL, HTTP: &http.Client{Transport: tr}})
	if !errors.Is(err, ghcr.ErrTooLarge) || !strings.Contains(err.Error(), "GET /users/alice") {
		t.Errorf("err = %v, want the answer refused as too large", err)
	}
}
