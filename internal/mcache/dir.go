package mcache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// MaxEntrySize is the largest manifest a store keeps. Registries refuse
// manifests over 4 MiB; anything bigger on disk is not one of ours.
const MaxEntrySize = 4 << 20

// Dir returns a Store that keeps one file per digest, <path>/sha256/<hex>.
// Load reads the files one at a time and skips those it cannot read; Save
// writes only the files Load did not find intact, each atomically (a
// temporary file renamed into place), so concurrent runs sharing the
// directory never see a half-written file.
//
// Save then prunes: it removes the files Load listed that this process
// neither saved nor added (Cache.Used leaves out the manifests of versions
// that are gone), so the directory does not only grow. It prunes only after
// a Load that completed without error, never removes a file Load did not
// list, and never touches a name that is not 64 hex digits. Runs over
// different packages that share one directory at the same time may prune
// each other's manifests; those are fetched again, never served wrong.
//
// The directory may sit in a checkout an attacker wrote (a workflow run for
// a pull request), and the action runs as root; so neither path nor its
// sha256 folder may be a symbolic link (the store refuses them), and every
// file is read, written and removed through an os.Root of that folder,
// which no link inside it can lead out of.
func Dir(path string) Store {
	return &dirStore{path: path, files: map[dkey]fileState{}}
}

type dirStore struct {
	path string

	mu sync.Mutex
	// files is what the store knows of each digest, in one map: at
	// 100,000 manifests a map per fact was megabytes each.
	files map[dkey]fileState
	// seenValid is set when the last Load completed without error; only
	// then are the files it saw ever pruned.
	seenValid bool
}

// fileState is a set of facts about one digest's file.
type fileState uint8

const (
	fileOnDisk fileState = 1 << iota // on disk with verified contents
	fileFresh                        // on disk and modified within touchAfter: Save need not mark it used again
	fileSeen                         // a regular file the last Load listed, verified or not: prunable
	fileUsed                         // passed to Add or Save by this process: kept
)

// touchAfter is how old a used file's modification time may get before
// Save sets it to now. Pruning goes by UnusedFor, a month; touching every
// used file on every run would be a system call per manifest (100,000 of
// them at 100,000 versions) for a date that only has to be right to the day.
const touchAfter = 24 * time.Hour

// maxPruneErrors is how many removals may fail before Save stops pruning.
const maxPruneErrors = 3

func (s *dirStore) String() string { return "directory " + s.path }

func (s *dirStore) algDir() string { return filepath.Join(s.path, "sha256") }

// openAlg opens the sha256 folder as a root, creating it (and path) first
// when create is set. It refuses a path or a sha256 that is a symbolic link
// or not a directory; a missing one is fs.ErrNotExist.
func (s *dirStore) openAlg(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(s.path, 0o755); err != nil {
			return nil, err
		}
	}
	if err := isPlainDir(os.Lstat(s.path)); err != nil {
		return nil, fmt.Errorf("%s %w", s.path, err)
	}
	top, err := os.OpenRoot(s.path)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	if create {
		if err := top.Mkdir("sha256", 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	if err := isPlainDir(top.Lstat("sha256")); err != nil {
		return nil, fmt.Errorf("%s %w", s.algDir(), err)
	}
	return top.OpenRoot("sha256")
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

func (s *dirStore) Load(ctx context.Context, put func(digest string, raw []byte)) error {
	// Until this Load completes, prune nothing: a partial listing must
	// never make Save remove files it did not see.
	s.mu.Lock()
	s.seenValid = false
	s.mu.Unlock()
	dir := s.algDir()
	alg, err := s.openAlg(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading manifest cache %s: %w", dir, err)
	}
	defer alg.Close()
	d, err := alg.Open(".")
	if err != nil {
		return fmt.Errorf("reading manifest cache %s: %w", dir, err)
	}
	defer d.Close()
	loaded, err := s.loadFiles(ctx, alg, d, put)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for k, f := range s.files {
		loaded[k] |= f & fileUsed
	}
	s.files = loaded
	s.seenValid = true
	s.mu.Unlock()
	return nil
}

// loadFiles hands on every manifest file of the folder, a batch at a time
// (a listing of every file is itself big), and says what it found of each.
func (s *dirStore) loadFiles(ctx context.Context, alg *os.Root, d *os.File, put func(digest string, raw []byte)) (map[dkey]fileState, error) {
	loaded := map[dkey]fileState{}
	recent := time.Now().Add(-touchAfter)
	for {
		ents, err := d.ReadDir(256)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		var names []string
		for _, e := range ents {
			if name := e.Name(); e.Type().IsRegular() && validHex(name) {
				names = append(names, name) // not temporary files, strays
			}
		}
		for i, f := range readFiles(alg, names) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			k, ok := parseDigest("sha256:" + names[i])
			if !ok {
				continue
			}
			loaded[k] |= fileSeen
			if f.err != nil {
				continue
			}
			// A corrupt file is still handed on; the Cache drops and
			// counts it when it is read, and Save then rewrites it.
			if f.verified {
				loaded[k] |= fileOnDisk
				if f.mtime.After(recent) {
					loaded[k] |= fileFresh
				}
			}
			put(k.String(), f.raw)
		}
		if err == io.EOF {
			return loaded, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading manifest cache %s: %w", s.algDir(), err)
		}
	}
}

// readers is how many files Load reads at once: a warm run of 100,000
// manifests opens 100,000 files, and the system calls of one overlap the
// hashing of another.
const readers = 4

// readFile is one file Load read.
type readFile struct {
	raw      []byte
	mtime    time.Time
	verified bool // raw hashes to the digest its name says
	err      error
}

// readFiles reads and verifies the named files of alg, readers at a time,
// and returns them in the order of names.
func readFiles(alg *os.Root, names []string) []readFile {
	out := make([]readFile, len(names))
	var wg sync.WaitGroup
	for w := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(names); i += readers {
				f := &out[i]
				f.raw, f.mtime, f.err = readFileModTime(alg, names[i], MaxEntrySize)
				if k, ok := parseDigest("sha256:" + names[i]); ok && f.err == nil {
					f.verified = k.verify(f.raw)
				}
			}
		}()
	}
	wg.Wait()
	return out
}

func readFileMax(root *os.Root, name string, limit int64) ([]byte, error) {
	raw, _, err := readFileModTime(root, name, limit)
	return raw, err
}

// readFileModTime is readFileMax with the file's modification time. It
// reads the size first, so a manifest takes one read into a buffer of its
// size rather than ReadAll's doubling.
func readFileModTime(root *os.Root, name string, limit int64) ([]byte, time.Time, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if fi.Size() > limit {
		return nil, time.Time{}, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	// One byte more than the size: a file that grew since is read to its
	// end and still held to limit.
	raw := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(raw[len(raw):cap(raw)])
		raw = raw[:len(raw)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if len(raw) == cap(raw) {
			if int64(len(raw)) > limit {
				return nil, time.Time{}, fmt.Errorf("%s is larger than %d bytes", name, limit)
			}
			raw = append(raw, 0)[:len(raw)]
		}
	}
	if int64(len(raw)) > limit {
		return nil, time.Time{}, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return raw, fi.ModTime(), nil
}

func (s *dirStore) Save(ctx context.Context, entries iter.Seq2[string, []byte]) error {
	var errs []error
	alg := &lazyAlg{s: s}
	defer alg.close()
	for digest, raw := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.add(alg, digest, raw); err != nil {
			errs = append(errs, err)
			if len(errs) >= 3 {
				// The directory is not writable; stop early. Not every
				// entry has been seen, so prune nothing either.
				return fmt.Errorf("saving manifest cache to %s: %w", s.path, errors.Join(errs...))
			}
		}
	}
	if err := s.prune(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("saving manifest cache to %s: %w", s.path, errors.Join(errs...))
	}
	return nil
}

// UnusedFor is how long a cached manifest may go unused before Save prunes
// it. Not at once: a package that failed to load this run, or another
// workflow sharing the directory through actions/cache, still needs its
// manifests, and every refetch is a download GitHub counts.
const UnusedFor = 30 * 24 * time.Hour

// prune removes the files the last complete Load listed that this process
// has not saved or added and that nobody has used for UnusedFor: the
// manifests of versions long gone.
func (s *dirStore) prune(ctx context.Context) error {
	s.mu.Lock()
	var stale []dkey
	for k, f := range s.files {
		if s.seenValid && f&fileSeen != 0 && f&fileUsed == 0 {
			stale = append(stale, k)
		}
	}
	s.mu.Unlock()
	if len(stale) == 0 {
		return nil
	}
	slices.SortFunc(stale, func(a, b dkey) int { return bytes.Compare(a[:], b[:]) })
	alg, err := s.openAlg(false)
	if err != nil {
		return fmt.Errorf("pruning unused manifests: %w", err)
	}
	defer alg.Close()
	var errs []error
	for _, k := range stale {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The name is built from the key: always <64 hex>.
		err := removeRegular(alg, hex.EncodeToString(k[:]), time.Now().Add(-UnusedFor), k)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			s.mu.Lock()
			s.files[k] &^= fileSeen | fileOnDisk | fileFresh
			s.mu.Unlock()
			continue
		}
		errs = append(errs, err)
		if len(errs) >= maxPruneErrors {
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("pruning unused manifests: %w", errors.Join(errs...))
	}
	return nil
}

// removeRegular removes path if it is a regular file last modified before
// cutoff, or one whose contents are not k's (never worth keeping), and
// leaves anything else (a directory, a symbolic link, a file in use) alone.
func removeRegular(alg *os.Root, name string, cutoff time.Time, k dkey) error {
	fi, err := alg.Lstat(name)
	if err != nil {
		return err
	}
	if fi.Mode().IsRegular() && fi.ModTime().After(cutoff) {
		if raw, err := readFileMax(alg, name, MaxEntrySize); err != nil || k.verify(raw) {
			return nil
		}
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return alg.Remove(name)
}

// Add writes one manifest now, unless it is on disk already, so that a run
// can persist manifests while it waits on the network instead of at the end.
func (s *dirStore) Add(digest string, raw []byte) error {
	alg := &lazyAlg{s: s}
	defer alg.close()
	return s.add(alg, digest, raw)
}

func (s *dirStore) add(alg *lazyAlg, digest string, raw []byte) error {
	k, ok := parseDigest(digest)
	if !ok {
		return nil // never persist what would not be served
	}
	s.mu.Lock()
	s.files[k] |= fileUsed // kept by Save's pruning, written or not
	f := s.files[k]
	s.mu.Unlock()
	have := f&fileOnDisk != 0
	if have && f&fileFresh != 0 {
		return nil // on disk, verified by Load, and recently marked used
	}
	if !have && (len(raw) > MaxEntrySize || !k.verify(raw)) {
		return nil // never persist what would not be served
	}
	root, err := alg.get()
	if err != nil {
		return err
	}
	name := hex.EncodeToString(k[:])
	if have {
		// Mark it used: pruning goes by how long a file has gone unused.
		now := time.Now()
		if root.Chtimes(name, now, now) == nil {
			s.mu.Lock()
			s.files[k] |= fileFresh
			s.mu.Unlock()
		}
		return nil
	}
	if err := writeAtomic(root, name, raw); err != nil {
		return fmt.Errorf("manifest cache %s: %w", s.algDir(), err)
	}
	s.mu.Lock()
	s.files[k] |= fileOnDisk | fileFresh
	s.mu.Unlock()
	return nil
}

// lazyAlg opens the sha256 folder (creating it) when first needed, once for
// all the entries of a Save.
type lazyAlg struct {
	s    *dirStore
	root *os.Root
}

func (l *lazyAlg) get() (*os.Root, error) {
	if l.root == nil {
		r, err := l.s.openAlg(true)
		if err != nil {
			return nil, fmt.Errorf("manifest cache %s: %w", l.s.algDir(), err)
		}
		l.root = r
	}
	return l.root, nil
}

func (l *lazyAlg) close() {
	if l.root != nil {
		l.root.Close()
	}
}

// writeAtomic writes name in alg as a new temporary file (created
// exclusively, so a link planted under its name is not followed) renamed
// into place, which replaces whatever name is instead of writing through
// it.
func writeAtomic(alg *os.Root, name string, raw []byte) error {
	var random [6]byte
	rand.Read(random[:])
	tmp := ".tmp-" + name[:12] + "-" + hex.EncodeToString(random[:])
	f, err := alg.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(raw)
	// Readable by actions/cache, which runs as the runner's user, whatever
	// the umask; through the open file, which is the one just created.
	merr := f.Chmod(0o644)
	cerr := f.Close()
	if err := errors.Join(werr, merr, cerr); err != nil {
		alg.Remove(tmp)
		return err
	}
	if err := alg.Rename(tmp, name); err != nil {
		alg.Remove(tmp)
		return err
	}
	return nil
}
