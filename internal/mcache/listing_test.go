package mcache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleListing() Listing {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return Listing{Owner: "Acme", Package: "team/app", VersionCount: 2, UpdatedAt: at, Versions: []ListedVersion{
		{ID: 1, Digest: "sha256:" + strings.Repeat("a", 64), Tags: []string{"v1"}, CreatedAt: at, UpdatedAt: at},
		{ID: 2, Digest: "sha256:" + strings.Repeat("b", 64), CreatedAt: at, UpdatedAt: at},
	}}
}

func TestListingsRoundTripAndUnchanged(t *testing.T) {
	dir := t.TempDir()
	s := NewListings(dir, "Acme")
	if _, ok, err := s.Load("team/app"); ok || err != nil {
		t.Fatalf("Load of nothing kept = %v, %v", ok, err)
	}
	l := sampleListing()
	if err := s.Save(l); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Load("team/app")
	if !ok || err != nil || len(got.Versions) != 2 || got.Versions[0].Tags[0] != "v1" {
		t.Fatalf("Load = %+v, %v, %v", got, ok, err)
	}
	if !got.Unchanged(2, l.UpdatedAt) || got.Unchanged(3, l.UpdatedAt) || got.Unchanged(2, l.UpdatedAt.Add(time.Second)) || got.Unchanged(0, time.Time{}) {
		t.Error("Unchanged does not compare the version count and the update time")
	}
	if _, ok, _ := NewListings(dir, "other").Load("team/app"); ok {
		t.Error("another owner's listing was served")
	}
}

func TestListingsRefuseLinkedFolder(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, "listings")); err != nil {
		t.Skip(err)
	}
	if err := NewListings(dir, "Acme").Save(sampleListing()); err == nil {
		t.Error("Save wrote through a linked listings folder")
	}
}

func TestReadListingRefuses(t *testing.T) {
	var good bytes.Buffer
	if err := WriteListing(&good, sampleListing()); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		"other package": strings.Replace(good.String(), `"team/app"`, `"team/other"`, 1),
		"format":        strings.Replace(good.String(), `"format":1`, `"format":2`, 1),
		"listed twice":  strings.Replace(good.String(), `"id":2`, `"id":1`, 1),
		"no digest":     strings.Replace(good.String(), `"sha256:`+strings.Repeat("b", 64)+`"`, `""`, 1),
		"trailing":      good.String() + "{}",
		"unknown field": strings.Replace(good.String(), `"format":1`, `"format":1,"x":1`, 1),
	} {
		if _, err := ReadListing(strings.NewReader(raw), "acme", "team/app"); err == nil {
			t.Errorf("%s: read", name)
		}
	}
	if _, err := ReadListing(bytes.NewReader(good.Bytes()), "acme", "team/app"); err != nil {
		t.Errorf("good listing: %v", err)
	}
}

func FuzzReadListing(f *testing.F) {
	var good bytes.Buffer
	WriteListing(&good, sampleListing())
	f.Add(good.Bytes())
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := ReadListing(bytes.NewReader(raw), "Acme", "team/app")
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := WriteListing(&again, l); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadListing(&again, "Acme", "team/app"); err != nil {
			t.Fatalf("a listing read does not read again: %v", err)
		}
	})
}

// A ListingSet serves a restored listing only through ReadListing: one of
// another package or owner is refused and dropped, and what this run keeps
// is served in place of what was restored.
func TestListingSetServesCheckedListings(t *testing.T) {
	var good bytes.Buffer
	WriteListing(&good, sampleListing())
	ls := newListingSet("acme", "test")
	defer ls.Close()
	for _, pkg := range []string{"team/app", "team/other"} {
		if err := ls.restore(pkg, bytes.NewReader(good.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := ls.Load("team/other"); ok || err == nil {
		t.Fatalf("a listing of team/app was served as team/other: %v, %v", ok, err)
	}
	if ls.Restored() != 1 {
		t.Fatal("the refused listing is still held")
	}
	l, ok, err := ls.Load("team/app")
	if !ok || err != nil || l.Owner != "Acme" {
		t.Fatalf("Load = %+v, %v, %v", l, ok, err)
	}
	if ls.changed() {
		t.Fatal("a listing read as restored counts as changed")
	}
	l.VersionCount, l.Owner = 3, "someone"
	if err := ls.Save(l); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := ls.Load("team/app"); !ok || err != nil || got.VersionCount != 3 {
		t.Fatalf("Load after Save = %+v, %v, %v", got, ok, err)
	}
	if !ls.changed() {
		t.Fatal("a listing kept anew does not count as changed")
	}

	other := newListingSet("someone", "test")
	defer other.Close()
	other.restore("team/app", bytes.NewReader(good.Bytes()))
	if _, ok, err := other.Load("team/app"); ok || err == nil {
		t.Fatal("Acme's listing was served to another owner")
	}

	ls.Close()
	if _, ok, _ := ls.Load("team/app"); ok || ls.Save(l) == nil {
		t.Fatal("a closed ListingSet still serves or keeps listings")
	}
}

// Packages are planned concurrently: each Loads and Saves its own listing.
func TestListingSetConcurrentUse(t *testing.T) {
	ls := newListingSet("Acme", "test")
	defer ls.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := sampleListing()
			l.Package = fmt.Sprintf("pkg-%d", i)
			if _, ok, err := ls.Load(l.Package); ok || err != nil {
				t.Errorf("Load before Save = %v, %v", ok, err)
			}
			if err := ls.Save(l); err != nil {
				t.Error(err)
			}
			if got, ok, err := ls.Load(l.Package); !ok || err != nil || got.Package != l.Package {
				t.Errorf("Load = %+v, %v, %v", got, ok, err)
			}
		})
	}
	wg.Wait()
	n := 0
	for range ls.all() {
		n++
	}
	if n != 8 {
		t.Fatalf("%d listings to save, want 8", n)
	}
}
