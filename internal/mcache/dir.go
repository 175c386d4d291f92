package mcache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// MaxEntrySize is the largest manifest a store keeps. Registries refuse
// manifests over 4 MiB; anything bigger on disk is not one of ours.
const MaxEntrySize = 4 << 20

// packName is the pack file of a Dir store, in its directory.
const packName = "manifests.pack"

// UnusedFor is how long a cached manifest may go unused before Save drops
// it. Not at once: a package that failed to load this run, or another
// workflow sharing the directory through actions/cache, still needs its
// manifests, and every refetch is a download GitHub counts.
const UnusedFor = 30 * 24 * time.Hour

// touchAfter is how old a used entry's last-used day may get before Save
// moves it to today. Pruning goes by UnusedFor, a month; the day is stored
// only so that an entry nobody uses falls out.
const touchAfter = 24 * time.Hour

// Dir returns a Store that keeps every manifest in one pack file,
// <path>/manifests.pack, with the day each was last used. Load reads the
// pack once, front to back, keeping only a record per manifest, and hands
// the Cache the open file, which the Cache reads manifests from (and
// verifies) as they are asked for.
//
// Save keeps every entry the run used or added, and the entries it did not
// use that were used within UnusedFor; the rest are the manifests of
// versions long gone. It writes nothing when that set, with its days, is
// what the pack on disk holds (the steady warm run); otherwise it writes the
// whole pack once, front to back in digest order, to a temporary file
// created exclusively in the directory and renamed over the pack, so that
// concurrent runs never see a half-written pack. Records of the pack on
// disk that the Cache does not hold (another run's, written since Load, or
// left unread by a Load that failed) are kept by the same rules.
//
// A truncated or corrupt pack yields the records before the damage, and
// Load says what is wrong; a bad entry is dropped by the Cache when it is
// read and left out of the next pack. A sha256 folder of another layout is
// ignored.
//
// The directory may sit in a checkout an attacker wrote (a workflow run for
// a pull request), and the action runs as root; so path may not be a
// symbolic link, the pack is read only if it is a regular file, and every
// file is opened, written and renamed through an os.Root of path.
func Dir(path string) Store {
	return &dirStore{path: path, covered: true, sum: emptySum}
}

type dirStore struct {
	path string

	mu sync.Mutex
	// disk is the pack this store last read or wrote, and sum the plan
	// (see planSum) the Cache had then. covered says the Cache holds
	// every entry of disk, so that a rewrite need not read disk back.
	disk    fs.FileInfo
	covered bool
	sum     packSum
}

func (s *dirStore) String() string { return "directory " + s.path }

// openRoot opens path as a root, creating it first when create is set. It
// refuses a path that is a symbolic link or not a directory; a missing one
// is fs.ErrNotExist.
func (s *dirStore) openRoot(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(s.path, 0o755); err != nil {
			return nil, err
		}
	}
	if err := isPlainDir(os.Lstat(s.path)); err != nil {
		return nil, fmt.Errorf("%s %w", s.path, err)
	}
	return os.OpenRoot(s.path)
}

// isPlainDir is nil for a directory that is not a symbolic link.
func isPlainDir(fi fs.FileInfo, err error) error {
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return errors.New("is a symbolic link; refusing to follow it")
	case !fi.IsDir():
		return errors.New("is not a directory")
	}
	return nil
}

// openPack opens the pack in root, or is nil, nil, nil when there is none.
// It refuses a pack that is not a regular file, a symbolic link included.
func openPack(root *os.Root) (*os.File, fs.FileInfo, error) {
	fi, err := root.Lstat(packName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, nil, fmt.Errorf("%s is a symbolic link; refusing to follow it", packName)
	case !fi.Mode().IsRegular():
		return nil, nil, fmt.Errorf("%s is not a regular file", packName)
	}
	f, err := root.Open(packName)
	if err != nil {
		return nil, nil, err
	}
	// Open follows a link that replaced the file since Lstat.
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		f.Close()
		return nil, nil, fmt.Errorf("%s changed while it was opened", packName)
	}
	return f, fi, nil
}

func (s *dirStore) Load(ctx context.Context, c *Cache) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Until a Load completes, no plan matches and the pack on disk is not
	// covered: Save then keeps what is on disk that the Cache lacks.
	s.disk, s.covered, s.sum = nil, false, packSum{}
	root, err := s.openRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		s.covered, s.sum = true, emptySum
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading manifest cache %s: %w", s.path, err)
	}
	defer root.Close()
	where := filepath.Join(s.path, packName)
	f, fi, err := openPack(root)
	if err != nil {
		return fmt.Errorf("reading manifest cache %s: %w", s.path, err)
	}
	if f == nil {
		s.covered, s.sum = true, emptySum
		return nil
	}
	s.disk = fi
	recs, sum, err := readPack(ctx, f, fi.Size())
	if len(recs) == 0 || !c.adoptPack(f, recs) {
		f.Close()
		if len(recs) > 0 {
			return fmt.Errorf("reading manifest cache %s: the cache is closed or holds a pack already", where)
		}
	}
	if err != nil {
		return fmt.Errorf("reading manifest cache %s: %w", where, err)
	}
	s.covered, s.sum = true, sum
	return nil
}

// readPack reads the records of the pack f of size bytes, and the sum of
// their digests and days. After an error, the records before it are good
// to use.
func readPack(ctx context.Context, f io.ReaderAt, size int64) ([]packed, packSum, error) {
	p, err := scanPack(f, size)
	if err != nil {
		return nil, packSum{}, err
	}
	recs := make([]packed, 0, p.capacity())
	sum := newSummer()
	for rec, ok := p.next(); ok; rec, ok = p.next() {
		if len(recs)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return recs, packSum{}, err
			}
		}
		recs = append(recs, rec)
		sum.add(rec.k, rec.e.day, true)
	}
	return recs, sum.sum(), p.end()
}

func (s *dirStore) Save(ctx context.Context, c *Cache) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := dayOf(time.Now())
	v := c.view()
	if v.closed {
		// Its entries are gone, not unused: saving it would empty the pack.
		return fmt.Errorf("saving manifest cache to %s: the cache is closed", s.path)
	}
	sum := planSum(plan(v, today))
	if sum == s.sum {
		return nil // the pack on disk holds these entries, dated alike
	}
	if err := s.write(ctx, plan(v, today), today, sum); err != nil {
		return fmt.Errorf("saving manifest cache to %s: %w", s.path, err)
	}
	return nil
}

// write writes the pack of ours, merged with what the pack on disk holds
// that ours lacks, and renames it over the pack.
func (s *dirStore) write(ctx context.Context, ours iter.Seq2[held, day], today day, sum packSum) error {
	root, err := s.openRoot(true)
	if err != nil {
		return err
	}
	defer root.Close()
	m := &packMerge{today: today}
	if src, theirs := s.theirs(root); src != nil {
		defer src.Close()
		m.src, m.theirs = src, theirs
	}
	tmp, f, err := createTemp(root)
	if err != nil {
		return err
	}
	if m.w, err = newPackWriter(f); err == nil {
		err = m.run(ctx, ours)
	}
	if err != nil {
		f.Close()
		root.Remove(tmp)
		return err
	}
	fi, err := commit(root, tmp, f, m.w)
	if err != nil {
		return err
	}
	s.disk, s.covered, s.sum = fi, !m.merged, sum
	removeStaleTemps(root, time.Now().Add(-staleTempAge))
	return nil
}

// staleTempAge is how old a temporary pack must be before a Save removes
// it: one that old is left by a run that stopped while saving, not one
// another run is writing now.
const staleTempAge = time.Hour

// removeStaleTemps removes the temporary packs last modified before cutoff,
// so that runs killed while saving do not leave the folder growing. It
// removes regular files only, and nothing whose name is not a temporary
// pack's.
func removeStaleTemps(root *os.Root, cutoff time.Time) {
	d, err := root.Open(".")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		if !strings.HasPrefix(name, tempPrefix) {
			continue
		}
		if fi, err := root.Lstat(name); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			root.Remove(name)
		}
	}
}

// theirs opens the pack on disk to merge from, unless there is none to
// read or it is the one this store last read in full or wrote from the
// Cache alone.
func (s *dirStore) theirs(root *os.Root) (*os.File, *packScanner) {
	f, fi, err := openPack(root)
	if err != nil || f == nil {
		return nil, nil
	}
	if s.covered && s.disk != nil && os.SameFile(s.disk, fi) {
		f.Close()
		return nil, nil
	}
	p, err := scanPack(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, nil
	}
	return f, p
}

// tempPrefix starts the name of every temporary pack.
const tempPrefix = "." + packName + ".tmp-"

// createTemp creates a new temporary file in root, exclusively, so that a
// link planted under its name is not followed.
func createTemp(root *os.Root) (string, *os.File, error) {
	var random [6]byte
	rand.Read(random[:])
	name := tempPrefix + hex.EncodeToString(random[:])
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	return name, f, err
}

// commit completes the pack w wrote to f, the temporary file tmp, and
// renames it over the pack, which replaces whatever the name is instead of
// writing through it. On an error tmp is removed.
func commit(root *os.Root, tmp string, f *os.File, w *packWriter) (fs.FileInfo, error) {
	err := w.finish()
	// Readable by actions/cache, which runs as the runner's user, whatever
	// the umask; through the open file, which is the one just created.
	err = errors.Join(err, f.Chmod(0o644))
	fi, serr := f.Stat()
	err = errors.Join(err, serr, f.Close())
	if err == nil {
		err = root.Rename(tmp, packName)
	}
	if err != nil {
		root.Remove(tmp)
		return nil, err
	}
	return fi, nil
}

// keepDay says whether Save keeps h, and with which last-used day: an
// entry added or seeded this run is dated today, a used one is moved to
// today once its day is touchAfter old, and one unused is kept with its
// day while that is within UnusedFor. A day in the future is taken as
// today, so that no date keeps an entry forever.
func keepDay(h held, today day) (day, bool) {
	switch {
	case !h.inPack:
		return today, true
	case h.e.used && int(today)-int(h.e.day) >= days(touchAfter):
		return today, true
	}
	d := min(h.e.day, today)
	return d, h.e.used || fresh(d, today)
}

func fresh(d, today day) bool { return int(today)-int(d) <= days(UnusedFor) }

// plan yields the entries of v that Save keeps, with their days.
func plan(v *view, today day) iter.Seq2[held, day] {
	return func(yield func(held, day) bool) {
		for h := range v.all() {
			if d, ok := keepDay(h, today); ok && !yield(h, d) {
				return
			}
		}
	}
}

// packSum names a set of digests with their days, taken in digest order,
// and for each whether its bytes are the pack's: Save writes nothing when
// its plan has the sum of the pack on disk. An entry refetched in place of
// a corrupt one has the digest and day it had, and still needs writing.
type packSum [sha256.Size]byte

type summer struct{ h hash.Hash }

func newSummer() summer { return summer{sha256.New()} }

func (s summer) add(k dkey, d day, inPack bool) {
	var b [sha256.Size + 3]byte
	copy(b[:], k[:])
	binary.BigEndian.PutUint16(b[sha256.Size:], uint16(d))
	if inPack {
		b[sha256.Size+2] = 1
	}
	s.h.Write(b[:])
}

func (s summer) sum() packSum { return packSum(s.h.Sum(nil)) }

// emptySum is the sum of no entries: nothing stored, nothing to save.
var emptySum = newSummer().sum()

func planSum(p iter.Seq2[held, day]) packSum {
	s := newSummer()
	for h, d := range p {
		s.add(h.k, d, h.inPack)
	}
	return s.sum()
}

// packMerge writes the entries Save keeps together with the records of the
// pack on disk that they lack, both in digest order, verifying every one.
type packMerge struct {
	w      *packWriter
	today  day
	src    io.ReaderAt  // the pack on disk; nil: nothing to merge
	theirs *packScanner // reading src
	cur    packed       // the next record of theirs, while more
	more   bool
	merged bool // a record of theirs was written
	buf    []byte
}

func (m *packMerge) run(ctx context.Context, ours iter.Seq2[held, day]) error {
	m.advance()
	n := 0
	for h, d := range ours {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := m.theirsBefore(&h.k); err != nil {
			return err
		}
		var alt *packed
		if m.more && m.cur.k == h.k {
			// Another run may have used it since this one loaded.
			d = max(d, min(m.cur.e.day, m.today))
			alt = &packed{m.cur.k, m.cur.e}
			m.advance()
		}
		raw, err := m.read(h.k, h.e, h.src)
		if err != nil && alt != nil {
			raw, err = m.read(alt.k, alt.e, m.src)
		}
		if err != nil {
			continue // never write what would not be served
		}
		if err := m.w.add(h.k, d, raw); err != nil {
			return err
		}
	}
	return m.theirsBefore(nil)
}

func (m *packMerge) advance() {
	m.more = false
	if m.theirs != nil {
		m.cur, m.more = m.theirs.next()
	}
}

// theirsBefore writes the records of theirs before k (all of them when k
// is nil) that are fresh and verify.
func (m *packMerge) theirsBefore(k *dkey) error {
	for m.more && (k == nil || m.cur.k.compare(*k) < 0) {
		rec := m.cur
		m.advance()
		d := min(rec.e.day, m.today)
		if !fresh(d, m.today) {
			continue
		}
		raw, err := m.read(rec.k, rec.e, m.src)
		if err != nil {
			continue
		}
		if err := m.w.add(rec.k, d, raw); err != nil {
			return err
		}
		m.merged = true
	}
	return nil
}

// read reads e's bytes from src into m's buffer, which the next read
// reuses, and checks them against k.
func (m *packMerge) read(k dkey, e entry, src io.ReaderAt) ([]byte, error) {
	if int(e.n) > cap(m.buf) {
		m.buf = make([]byte, e.n)
	}
	raw := m.buf[:e.n]
	if _, err := src.ReadAt(raw, e.off); err != nil {
		return nil, err
	}
	if !k.verify(raw) {
		return nil, fmt.Errorf("%s does not match its bytes", k)
	}
	return raw, nil
}
