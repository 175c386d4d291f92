package ghcr_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

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
		if v.CreatedAt.Time().Year() == 2023 {
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

// shiftPage2 answers page 2 of the versions listing with its last item
// dropped, the first `times` times (times < 0: always), as if a version moved
// to page 1 between reads. It edits the real page, fetched through forward.
func shiftPage2(srv *fakeghcr.Server, times int) func(http.ResponseWriter, *http.Request) bool {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !isVersionsPage(r, "2") || (times >= 0 && int(n.Add(1)) > times) {
			return false
		}
		editPage(w, r, srv, func(items []json.RawMessage) ([]json.RawMessage, error) {
			if len(items) == 0 {
				return nil, errors.New("empty")
			}
			return items[:len(items)-1], nil
		})
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

// A listing whose Link header claims an absurd page count fails with an
// error naming the package, instead of allocating a slice per claimed page
// (which panics at 999999999999999).
func TestVersionsHostileLastPage(t *testing.T) {
	t.Parallel()
	for _, last := range []int64{999999999999999, 2001} {
		srv, c, _ := seeded(t, 3)
		srv.SetHostile(fakeghcr.Hostile{LastPage: last})
		before := srv.Stats().REST["GET"]
		_, err := c.Versions(bg, "app")
		if err == nil || !strings.Contains(err.Error(), "listing versions of app") || !strings.Contains(err.Error(), "not trusted") {
			t.Errorf("last page %d: err = %v", last, err)
		}
		if n := srv.Stats().REST["GET"] - before; n != 1 {
			t.Errorf("last page %d: %d requests, want only the first page", last, n)
		}
	}
}
