package mcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// MaxEntrySize is the largest manifest a store keeps. Registries refuse
// manifests over 4 MiB; anything bigger on disk is not one of ours.
const MaxEntrySize = 4 << 20

// Dir returns a Store that keeps one file per digest, <path>/sha256/<hex>.
// Load reads the files one at a time and skips those it cannot read; Save
// writes only the files Load did not find intact, each atomically (a
// temporary file renamed into place), so concurrent runs sharing the
// directory never see a half-written file.
func Dir(path string) Store {
	return &dirStore{path: path, have: map[dkey]struct{}{}}
}

type dirStore struct {
	path string

	mu   sync.Mutex
	have map[dkey]struct{} // digests on disk with verified contents
}

func (s *dirStore) String() string { return "directory " + s.path }

func (s *dirStore) algDir() string { return filepath.Join(s.path, "sha256") }

func (s *dirStore) Load(ctx context.Context, put func(digest string, raw []byte)) error {
	dir := s.algDir()
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading manifest cache %s: %w", dir, err)
	}
	defer d.Close()
	have := map[dkey]struct{}{}
	for {
		// A batch at a time: a listing of every file is itself big.
		ents, err := d.ReadDir(256)
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			if !e.Type().IsRegular() || !validHex(name) {
				continue // temporary files, strays
			}
			raw, err := readFileMax(filepath.Join(dir, name), MaxEntrySize)
			if err != nil {
				continue
			}
			digest := "sha256:" + name
			// A corrupt file is still handed on; the Cache drops and
			// counts it when it is read, and Save then rewrites it.
			if k, ok := parseDigest(digest); ok && k.verify(raw) {
				have[k] = struct{}{}
			}
			put(digest, raw)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading manifest cache %s: %w", dir, err)
		}
	}
	s.mu.Lock()
	s.have = have
	s.mu.Unlock()
	return nil
}

func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return raw, nil
}

func (s *dirStore) Save(ctx context.Context, entries iter.Seq2[string, []byte]) error {
	var errs []error
	for digest, raw := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.Add(digest, raw); err != nil {
			errs = append(errs, err)
			if len(errs) >= 3 {
				break // the directory is not writable; stop early
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("saving manifest cache to %s: %w", s.path, errors.Join(errs...))
	}
	return nil
}

// Add writes one manifest now, unless it is on disk already, so that a run
// can persist manifests while it waits on the network instead of at the end.
func (s *dirStore) Add(digest string, raw []byte) error {
	k, ok := parseDigest(digest)
	if !ok || len(raw) > MaxEntrySize || !k.verify(raw) {
		return nil // never persist what would not be served
	}
	s.mu.Lock()
	_, have := s.have[k]
	s.mu.Unlock()
	if have {
		return nil
	}
	dir := s.algDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating manifest cache %s: %w", dir, err)
	}
	if err := writeAtomic(dir, strings.TrimPrefix(digest, "sha256:"), raw); err != nil {
		return err
	}
	s.mu.Lock()
	s.have[k] = struct{}{}
	s.mu.Unlock()
	return nil
}

func writeAtomic(dir, name string, raw []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name[:12]+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(raw)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
