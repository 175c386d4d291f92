package mcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func digestOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func manifestN(i int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":%d}}`, i)
}

// fakeRegistry counts fetches per digest.
type fakeRegistry struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	fetches map[string]int
	total   atomic.Int64
	tamper  bool // serve wrong bytes
}

func newFakeRegistry(n int) (*fakeRegistry, []string) {
	r := &fakeRegistry{blobs: map[string][]byte{}, fetches: map[string]int{}}
	var ds []string
	for i := range n {
		raw := manifestN(i)
		d := digestOf(raw)
		r.blobs[d] = raw
		ds = append(ds, d)
	}
	return r, ds
}

func (r *fakeRegistry) fetch(ctx context.Context, pkg, digest string) ([]byte, error) {
	r.total.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetches[digest]++
	raw, ok := r.blobs[digest]
	if !ok {
		return nil, errors.New("not found")
	}
	if r.tamper {
		return append([]byte("x"), raw...), nil
	}
	return raw, nil
}

func TestCacheHitMissCorrupt(t *testing.T) {
	a, b := manifestN(1), manifestN(2)
	da, db := digestOf(a), digestOf(b)
	c := New(map[string][]byte{
		da: a,
		db: []byte("tampered"), // stored under b's digest
	})
	if raw, ok := c.Get(da); !ok || string(raw) != string(a) {
		t.Fatalf("Get(a) = %q, %v", raw, ok)
	}
	if raw, ok := c.Get(db); ok {
		t.Fatalf("tampered entry served: %q", raw)
	}
	if _, ok := c.Entries()[db]; ok {
		t.Fatal("tampered entry kept after it was detected")
	}
	if _, ok := c.Get(digestOf([]byte("absent"))); ok {
		t.Fatal("absent digest served")
	}
	// Put refuses bytes that do not match their digest.
	c.Put(db, []byte("still wrong"))
	if _, ok := c.Get(db); ok {
		t.Fatal("mismatched Put served")
	}
	c.Put(db, b)
	if raw, ok := c.Get(db); !ok || string(raw) != string(b) {
		t.Fatalf("Get(b) after Put = %q, %v", raw, ok)
	}
	c.Put(da, a) // already held: not added again
	want := Stats{Hits: 2, Misses: 3, Corrupt: 1, Added: 1}
	if got := c.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	// Non-sha256 digests are never cached.
	c.Put("sha512:abc", []byte("x"))
	if _, ok := c.Get("sha512:abc"); ok {
		t.Fatal("sha512 digest cached")
	}
}

func TestCacheModifiedAfterPutIsDropped(t *testing.T) {
	raw := manifestN(7)
	d := digestOf(raw)
	c := New(nil)
	c.Put(d, raw)
	raw[0] = 'X' // a caller scribbles on the shared slice
	if _, ok := c.Get(d); ok {
		t.Fatal("modified entry served")
	}
	if c.Stats().Corrupt != 1 {
		t.Fatalf("Stats = %+v", c.Stats())
	}
}

func TestWrapTamperedEntryIsRefetched(t *testing.T) {
	reg, ds := newFakeRegistry(3)
	seed := map[string][]byte{}
	for _, d := range ds {
		seed[d] = reg.blobs[d]
	}
	seed[ds[1]] = []byte(`{"evil":true}`)
	c := New(seed)
	get := Wrap(reg.fetch, c)
	for _, d := range ds {
		raw, err := get(context.Background(), "pkg", d)
		if err != nil {
			t.Fatal(err)
		}
		if digestOf(raw) != d {
			t.Fatalf("served bytes for %s do not match", d)
		}
	}
	if reg.total.Load() != 1 || reg.fetches[ds[1]] != 1 {
		t.Fatalf("fetches = %v", reg.fetches)
	}
	want := Stats{Hits: 2, Misses: 1, Corrupt: 1, Added: 1}
	if got := c.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func TestWrapFetchesEachDigestOnceUnderConcurrency(t *testing.T) {
	reg, ds := newFakeRegistry(50)
	c := New(nil)
	gate := make(chan struct{})
	slow := func(ctx context.Context, pkg, digest string) ([]byte, error) {
		<-gate
		return reg.fetch(ctx, pkg, digest)
	}
	get := Wrap(slow, c)
	var wg sync.WaitGroup
	errs := make(chan error, 50*8)
	for range 8 {
		for _, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				raw, err := get(context.Background(), "pkg", d)
				if err == nil && digestOf(raw) != d {
					err = fmt.Errorf("wrong bytes for %s", d)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, d := range ds {
		if n := reg.fetches[d]; n != 1 {
			t.Fatalf("%s fetched %d times", d, n)
		}
	}
	// A second pass is all hits.
	for _, d := range ds {
		if _, err := get(context.Background(), "pkg", d); err != nil {
			t.Fatal(err)
		}
	}
	if reg.total.Load() != 50 {
		t.Fatalf("total fetches %d", reg.total.Load())
	}
	if s := c.Stats(); s.Added != 50 || s.Misses != 50 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestWrapDoesNotCacheMismatchOrError(t *testing.T) {
	reg, ds := newFakeRegistry(1)
	reg.tamper = true
	c := New(nil)
	get := Wrap(reg.fetch, c)
	for range 2 {
		raw, err := get(context.Background(), "pkg", ds[0])
		if err != nil || digestOf(raw) == ds[0] {
			t.Fatalf("expected the tampered bytes passed through, got %q %v", raw, err)
		}
	}
	if reg.total.Load() != 2 || c.Len() != 0 {
		t.Fatalf("fetches %d, cached %d", reg.total.Load(), c.Len())
	}
	if _, err := get(context.Background(), "pkg", digestOf([]byte("missing"))); err == nil {
		t.Fatal("expected the fetch error")
	}
	if c.Len() != 0 {
		t.Fatal("error cached")
	}
}

func TestWrapWaiterRetriesWhenLeaderCancelled(t *testing.T) {
	reg, ds := newFakeRegistry(1)
	c := New(nil)
	started := make(chan struct{})
	var calls atomic.Int64
	fetch := func(ctx context.Context, pkg, digest string) ([]byte, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return reg.fetch(ctx, pkg, digest)
	}
	get := Wrap(fetch, c)
	leaderCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := get(leaderCtx, "pkg", ds[0])
		done <- err
	}()
	<-started
	res := make(chan error)
	go func() {
		raw, err := get(context.Background(), "pkg", ds[0])
		if err == nil && digestOf(raw) != ds[0] {
			err = errors.New("wrong bytes")
		}
		res <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	if err := <-res; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}

func TestDirRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache")
	reg, ds := newFakeRegistry(20)

	// Nothing stored yet.
	st := Dir(path)
	if got := st.String(); got != "directory "+path {
		t.Fatalf("String = %q", got)
	}
	entries, err := st.Load(ctx)
	if err != nil || entries == nil || len(entries) != 0 {
		t.Fatalf("Load on empty = %v, %v", entries, err)
	}

	// Cold run.
	c := New(entries)
	get := Wrap(reg.fetch, c)
	for _, d := range ds {
		if _, err := get(ctx, "pkg", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Save(ctx, c.Entries()); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(filepath.Join(path, "sha256"))
	if len(files) != 20 {
		t.Fatalf("%d files on disk", len(files))
	}
	for _, f := range files {
		if strings.HasPrefix(f.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", f.Name())
		}
	}

	// Warm run: zero fetches.
	st2 := Dir(path)
	entries, err = st2.Load(ctx)
	if err != nil || len(entries) != 20 {
		t.Fatalf("Load = %d entries, %v", len(entries), err)
	}
	c2 := New(entries)
	get2 := Wrap(reg.fetch, c2)
	for _, d := range ds {
		if _, err := get2(ctx, "pkg", d); err != nil {
			t.Fatal(err)
		}
	}
	if reg.total.Load() != 20 {
		t.Fatalf("warm run fetched: total %d", reg.total.Load())
	}
	if s := c2.Stats(); s.Hits != 20 || s.Added != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestDirCorruptFileIgnoredAndRefetched(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(3)
	st := Dir(path)
	if err := st.Save(ctx, maps.Clone(reg.blobs)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(path, "sha256", strings.TrimPrefix(ds[0], "sha256:"))
	if err := os.WriteFile(bad, []byte(`{"evil":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// An unreadable file, a stray and a leftover temp file are skipped.
	unreadable := filepath.Join(path, "sha256", strings.TrimPrefix(digestOf([]byte("dir")), "sha256:"))
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(path, "sha256", "README"), []byte("hi"), 0o644)
	os.WriteFile(filepath.Join(path, "sha256", ".tmp-abc"), []byte("partial"), 0o644)

	st2 := Dir(path)
	entries, err := st2.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := New(entries)
	get := Wrap(reg.fetch, c)
	for _, d := range ds {
		raw, err := get(ctx, "pkg", d)
		if err != nil || digestOf(raw) != d {
			t.Fatalf("get %s: %q %v", d, raw, err)
		}
	}
	if reg.fetches[ds[0]] != 1 || reg.total.Load() != 1 {
		t.Fatalf("fetches = %v", reg.fetches)
	}
	if s := c.Stats(); s.Corrupt != 1 || s.Hits != 2 || s.Added != 1 {
		t.Fatalf("Stats = %+v", s)
	}
	// Save repairs the corrupt file.
	if err := st2.Save(ctx, c.Entries()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(bad)
	if err != nil || digestOf(raw) != ds[0] {
		t.Fatalf("file not repaired: %q %v", raw, err)
	}
}

func TestDirSaveIsIncremental(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(5)
	st := Dir(path)
	first := map[string][]byte{}
	for _, d := range ds[:3] {
		first[d] = reg.blobs[d]
	}
	if err := st.Save(ctx, first); err != nil {
		t.Fatal(err)
	}

	st2 := Dir(path)
	entries, err := st2.Load(ctx)
	if err != nil || len(entries) != 3 {
		t.Fatalf("Load = %d, %v", len(entries), err)
	}
	// A rewrite is a new file renamed into place: a new inode.
	inodes := map[string]uint64{}
	for _, d := range ds[:3] {
		inodes[d] = inode(t, filepath.Join(path, "sha256", strings.TrimPrefix(d, "sha256:")))
	}
	c := New(entries)
	for _, d := range ds[3:] {
		c.Put(d, reg.blobs[d])
	}
	if err := st2.Save(ctx, c.Entries()); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds[:3] {
		if got := inode(t, filepath.Join(path, "sha256", strings.TrimPrefix(d, "sha256:"))); got != inodes[d] {
			t.Fatalf("%s was rewritten", d)
		}
	}
	files, _ := os.ReadDir(filepath.Join(path, "sha256"))
	if len(files) != 5 {
		t.Fatalf("%d files", len(files))
	}
	// Entries that do not verify are never written.
	junk := digestOf([]byte("junk"))
	if err := st2.Save(ctx, map[string][]byte{junk: []byte("not junk")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "sha256", strings.TrimPrefix(junk, "sha256:"))); err == nil {
		t.Fatal("mismatched entry written")
	}
}

func TestDirSaveUnwritableReturnsError(t *testing.T) {
	// A path under a regular file fails even for root.
	base := t.TempDir()
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o644)
	st := Dir(filepath.Join(file, "cache"))
	raw := manifestN(1)
	if err := st.Save(context.Background(), map[string][]byte{digestOf(raw): raw}); err == nil {
		t.Fatal("expected an error")
	}
	if entries, err := st.Load(context.Background()); entries == nil {
		t.Fatalf("Load returned a nil map (err %v)", err)
	}
}
