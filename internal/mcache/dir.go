package mcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// MaxEntrySize is the largest manifest a store keeps. Registries refuse
// manifests over 4 MiB; anything bigger on disk is not one of ours.
const MaxEntrySize = 4 << 20

// Dir returns a Store that keeps one file per digest, <path>/sha256/<hex>.
// Load skips files it cannot read; Save writes only the files Load did not
// find intact, each atomically (a temporary file renamed into place), so
// concurrent runs sharing the directory never see a half-written file.
func Dir(path string) Store {
	return &dirStore{path: path, have: map[string]bool{}}
}

type dirStore struct {
	path string

	mu   sync.Mutex
	have map[string]bool // digests on disk with verified contents
}

func (s *dirStore) String() string { return "directory " + s.path }

func (s *dirStore) algDir() string { return filepath.Join(s.path, "sha256") }

func (s *dirStore) Load(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	dir := s.algDir()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("reading manifest cache %s: %w", dir, err)
	}
	have := map[string]bool{}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return map[string][]byte{}, err
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
		// A corrupt file is still handed to the Cache, which drops and
		// counts it when it is read; Save then rewrites it.
		out[digest] = raw
		if Verify(digest, raw) {
			have[digest] = true
		}
	}
	s.mu.Lock()
	s.have = have
	s.mu.Unlock()
	return out, nil
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

func (s *dirStore) Save(ctx context.Context, entries map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.algDir()
	made := false
	var errs []error
	for digest, raw := range entries {
		if s.have[digest] {
			continue
		}
		if len(raw) > MaxEntrySize || !Verify(digest, raw) {
			continue // never persist what would not be served
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !made {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("creating manifest cache %s: %w", dir, err)
			}
			made = true
		}
		if err := writeAtomic(dir, strings.TrimPrefix(digest, "sha256:"), raw); err != nil {
			errs = append(errs, err)
			if len(errs) >= 3 {
				break // the directory is not writable; stop early
			}
			continue
		}
		s.have[digest] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("saving manifest cache to %s: %w", s.path, errors.Join(errs...))
	}
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
