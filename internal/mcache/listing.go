package mcache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Listing is one package's versions as a run listed them, with the
// package's version count and last update as the owner's package listing
// showed them before. A later run that sees the same count and update
// time may plan from it instead of listing the package again.
type Listing struct {
	Owner        string          `json:"owner"`
	Package      string          `json:"package"`
	VersionCount int             `json:"version_count"`
	UpdatedAt    time.Time       `json:"updated_at"`
	Versions     []ListedVersion `json:"versions"`
}

// ListedVersion is one version of a Listing.
type ListedVersion struct {
	ID        int64     `json:"id"`
	Digest    string    `json:"digest"`
	Tags      []string  `json:"tags,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Unchanged reports whether l is of a package that now has versionCount
// versions and was last updated at updatedAt.
func (l Listing) Unchanged(versionCount int, updatedAt time.Time) bool {
	return l.VersionCount == versionCount && l.UpdatedAt.Equal(updatedAt) && !updatedAt.IsZero()
}

// maxListedVersions is the largest listing kept: the most a listing of
// versions may hold (2,000 pages of 100).
const maxListedVersions = 200_000

// maxListingSize bounds a listing file: maxListedVersions versions with a
// few tags each.
const maxListingSize = 256 << 20

// listingFormat names the file layout; a file of another format is not read.
const listingFormat = 1

type listingFile struct {
	Format int `json:"format"`
	Listing
}

// ReadListing reads a listing file that must be of owner's package pkg.
// Nothing in it is trusted: a file that is malformed, too large, of another
// package or with a version listed twice is refused.
func ReadListing(r io.Reader, owner, pkg string) (Listing, error) {
	lr := &io.LimitedReader{R: r, N: maxListingSize + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	var f listingFile
	if err := dec.Decode(&f); err != nil {
		if lr.N <= 0 {
			return Listing{}, fmt.Errorf("listing file is larger than %d bytes", maxListingSize)
		}
		return Listing{}, fmt.Errorf("listing file: %w", err)
	}
	if dec.More() {
		return Listing{}, errors.New("listing file: data after the listing")
	}
	if err := f.check(owner, pkg); err != nil {
		return Listing{}, fmt.Errorf("listing file: %w", err)
	}
	return f.Listing, nil
}

func (f *listingFile) check(owner, pkg string) error {
	switch {
	case f.Format != listingFormat:
		return fmt.Errorf("format %d, want %d", f.Format, listingFormat)
	case !strings.EqualFold(f.Owner, owner) || f.Package != pkg:
		return fmt.Errorf("of %s/%s, not %s/%s", f.Owner, f.Package, owner, pkg)
	case f.VersionCount < 0 || len(f.Versions) > maxListedVersions:
		return fmt.Errorf("%d versions (version count %d)", len(f.Versions), f.VersionCount)
	}
	seen := make(map[int64]bool, len(f.Versions))
	for _, v := range f.Versions {
		if seen[v.ID] {
			return fmt.Errorf("version %d listed twice", v.ID)
		}
		seen[v.ID] = true
		if v.Digest == "" {
			return fmt.Errorf("version %d has no digest", v.ID)
		}
		for _, t := range v.Tags {
			if t == "" {
				return fmt.Errorf("version %d has an empty tag", v.ID)
			}
		}
	}
	return nil
}

// WriteListing writes l as ReadListing reads it.
func WriteListing(w io.Writer, l Listing) error {
	return json.NewEncoder(w).Encode(listingFile{Format: listingFormat, Listing: l})
}

// Listings keeps package listings in a directory, one file per package,
// <dir>/listings/<sha256 of owner and package>.json: a package's name may
// hold slashes, and a hash is a file name whatever the name is. Like Dir,
// it refuses a dir or listings folder that is a symbolic link and reads and
// writes only through an os.Root of the folder.
type Listings struct {
	dir   string
	owner string
}

// NewListings keeps owner's listings under dir.
func NewListings(dir, owner string) *Listings {
	return &Listings{dir: dir, owner: owner}
}

func (s *Listings) String() string { return "directory " + filepath.Join(s.dir, "listings") }

func (s *Listings) fileName(pkg string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(s.owner) + "\n" + pkg))
	return hex.EncodeToString(sum[:]) + ".json"
}

// open opens the listings folder, creating it first when create is set.
func (s *Listings) open(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := isPlainDir(os.Lstat(s.dir)); err != nil {
		return nil, fmt.Errorf("%s %w", s.dir, err)
	}
	top, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	if create {
		if err := top.Mkdir("listings", 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	if err := isPlainDir(top.Lstat("listings")); err != nil {
		return nil, fmt.Errorf("%s %w", filepath.Join(s.dir, "listings"), err)
	}
	return top.OpenRoot("listings")
}

// Load reads pkg's listing; ok is false when none is kept.
func (s *Listings) Load(pkg string) (l Listing, ok bool, err error) {
	root, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return Listing{}, false, nil
	}
	if err != nil {
		return Listing{}, false, err
	}
	defer root.Close()
	name := s.fileName(pkg)
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Listing{}, false, nil
	case err != nil:
		return Listing{}, false, err
	case !fi.Mode().IsRegular():
		return Listing{}, false, fmt.Errorf("%s is not a regular file", name)
	}
	f, err := root.Open(name)
	if err != nil {
		return Listing{}, false, err
	}
	defer f.Close()
	l, err = ReadListing(f, s.owner, pkg)
	if err != nil {
		return Listing{}, false, fmt.Errorf("%s: %w", name, err)
	}
	return l, true, nil
}

// Save keeps l, replacing the file atomically (a temporary file renamed
// into place), so that a concurrent run never reads half a listing.
func (s *Listings) Save(l Listing) error {
	l.Owner = s.owner
	var buf bytes.Buffer
	if err := WriteListing(&buf, l); err != nil {
		return err
	}
	root, err := s.open(true)
	if err != nil {
		return err
	}
	defer root.Close()
	var random [6]byte
	rand.Read(random[:])
	name := s.fileName(l.Package)
	tmp := "." + name + ".tmp-" + hex.EncodeToString(random[:])
	if err := root.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return err
	}
	return nil
}
