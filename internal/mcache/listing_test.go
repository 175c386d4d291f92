package mcache

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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
