package mcache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// maxKeptListings caps the listings a ListingSet restores and saves: an
// owner's package listing stops at 10,000 packages.
const maxKeptListings = 10_000

// maxPackageName caps a package name a ListingSet restores.
const maxPackageName = 1024

// ListingSet is one owner's package listings kept in the GitHub Actions
// cache with the manifests (see Actions): the listings the store restored
// and those this run keeps. Like a Cache it holds their bytes in an
// unlinked temporary file, not the heap, and trusts nothing restored: every
// read goes through ReadListing, and a listing of another owner or package
// is refused. The store saves the listings this run read or kept; the
// others (of packages gone, or not in this run) fall out. It is safe for
// concurrent use.
type ListingSet struct {
	owner string
	where string

	mu       sync.Mutex
	sp       spill // nil until a listing is held, and once closed
	spName   string
	size     int64
	restored map[string]listingSpan // by package, as the store restored them
	kept     map[string]listingSpan // read or kept this run, by package
	closed   bool
}

// listingSpan locates one listing's bytes in the spill file.
type listingSpan struct {
	off, n int64
	sum    [sha256.Size]byte
}

func newListingSet(owner, where string) *ListingSet {
	return &ListingSet{owner: owner, where: where, restored: map[string]listingSpan{}, kept: map[string]listingSpan{}}
}

func (s *ListingSet) String() string { return s.where }

// Restored is the number of listings the store restored.
func (s *ListingSet) Restored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.restored)
}

// Load reads pkg's listing, the one this run kept or else the one
// restored; ok is false when there is none. A restored listing that
// ReadListing refuses is dropped, and the error says why.
func (s *ListingSet) Load(pkg string) (l Listing, ok bool, err error) {
	s.mu.Lock()
	sp, kept := s.kept[pkg]
	if !kept {
		sp, ok = s.restored[pkg]
	}
	src := s.sp
	s.mu.Unlock()
	if !kept && !ok {
		return Listing{}, false, nil
	}
	l, err = ReadListing(io.NewSectionReader(src, sp.off, sp.n), s.owner, pkg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Listing{}, false, errors.New("the listings are closed")
	}
	if err != nil {
		if s.restored[pkg] == sp {
			delete(s.restored, pkg)
		}
		return Listing{}, false, err
	}
	if _, ok := s.kept[pkg]; !ok {
		s.kept[pkg] = sp
	}
	return l, true, nil
}

// Save keeps l for the store to save, in place of any listing of its
// package held before.
func (s *ListingSet) Save(l Listing) error {
	l.Owner = s.owner
	var buf bytes.Buffer
	if err := WriteListing(&buf, l); err != nil {
		return err
	}
	if buf.Len() > maxListingSize {
		return fmt.Errorf("the listing is %d bytes, over the %d byte cap", buf.Len(), maxListingSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, err := s.appendLocked(&buf)
	if err != nil {
		return err
	}
	s.kept[l.Package] = sp
	return nil
}

// restore holds the listing of pkg that r yields, unread until Load. The
// store calls it as it decodes, package names in increasing order.
func (s *ListingSet) restore(pkg string, r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, err := s.appendLocked(r)
	if err != nil {
		return err
	}
	s.restored[pkg] = sp
	return nil
}

// appendLocked copies r to the end of the spill file, creating it first.
func (s *ListingSet) appendLocked(r io.Reader) (listingSpan, error) {
	if s.closed {
		return listingSpan{}, errors.New("the listings are closed")
	}
	if s.sp == nil {
		s.sp, s.spName = newSpill("ghcr-prune-listings-*")
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(io.NewOffsetWriter(s.sp, s.size), h), r)
	if err != nil {
		return listingSpan{}, fmt.Errorf("holding a package listing: %w", err)
	}
	sp := listingSpan{off: s.size, n: n, sum: [sha256.Size]byte(h.Sum(nil))}
	s.size += n
	return sp, nil
}

// changed reports whether this run kept a listing the store did not
// restore, byte for byte.
func (s *ListingSet) changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pkg, sp := range s.kept {
		if r, ok := s.restored[pkg]; !ok || r.sum != sp.sum {
			return true
		}
	}
	return false
}

// keptSorted is the packages of the listings to save, in order, with
// where their bytes are.
func (s *ListingSet) keptSorted() ([]string, map[string]listingSpan, io.ReaderAt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pkgs := slices.Sorted(maps.Keys(s.kept))
	return pkgs, maps.Clone(s.kept), s.sp
}

// all yields the listings to save, in package order.
func (s *ListingSet) all() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		pkgs, spans, src := s.keptSorted()
		for _, pkg := range pkgs {
			sp := spans[pkg]
			raw := make([]byte, sp.n)
			if _, err := src.ReadAt(raw, sp.off); err != nil || sha256.Sum256(raw) != sp.sum {
				continue // never save what would not be read back
			}
			if !yield(pkg, raw) {
				return
			}
		}
	}
}

// sum names the listings to save: each package with the hash of its
// listing, in package order.
func (s *ListingSet) sum(h io.Writer) {
	pkgs, spans, _ := s.keptSorted()
	for _, pkg := range pkgs {
		sp := spans[pkg]
		h.Write(binary.AppendUvarint(nil, uint64(len(pkg))))
		io.WriteString(h, pkg)
		h.Write(sp.sum[:])
	}
}

// saved records that the listings kept are what the store holds now.
func (s *ListingSet) saved() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restored = maps.Clone(s.kept)
}

// Close releases the spill file. The set is empty afterwards.
func (s *ListingSet) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.sp != nil {
		err = s.sp.Close()
		if s.spName != "" {
			err = errors.Join(err, os.Remove(s.spName))
		}
	}
	s.sp, s.size, s.closed = nil, 0, true
	clear(s.restored)
	clear(s.kept)
	return err
}

// newSpill is an unlinked temporary file, or memory when none can be
// created. name is set where an open file cannot be removed.
func newSpill(pattern string) (sp spill, name string) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return &memSpill{}, ""
	}
	if os.Remove(f.Name()) != nil {
		name = f.Name()
	}
	return f, name
}
