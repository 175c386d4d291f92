package mcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

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

// fetchAll reads digests through c as a run does: what c lacks is fetched
// from reg and kept.
func fetchAll(t testing.TB, c *Cache, reg *fakeRegistry, digests []string) {
	t.Helper()
	get := Wrap(reg.fetch, c)
	for _, d := range digests {
		if _, err := get(context.Background(), "pkg", d); err != nil {
			t.Fatal(err)
		}
	}
}

// heap is the Go heap in use once collected.
func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
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

// newCache is New, closed when the test ends.
func newCache(t *testing.T, entries map[string][]byte) *Cache {
	t.Helper()
	c := New(entries)
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// load runs st.Load into a new Cache and returns what it holds, unverified.
func load(ctx context.Context, st Store) (map[string][]byte, error) {
	c := New(nil)
	defer c.Close()
	err := st.Load(ctx, c)
	return maps.Collect(c.Entries()), err
}

// loadCache runs st.Load into a new Cache.
func loadCache(t *testing.T, st Store) (*Cache, error) {
	t.Helper()
	c := newCache(t, nil)
	return c, st.Load(context.Background(), c)
}

// usedCache is a Cache that this run added m to, as a run does what it
// fetches; entries that do not verify are not held.
func usedCache(t *testing.T, m map[string][]byte) *Cache {
	t.Helper()
	c := newCache(t, nil)
	for d, raw := range m {
		c.Put(d, raw)
	}
	return c
}

func TestCacheHitMissCorrupt(t *testing.T) {
	a, b := manifestN(1), manifestN(2)
	da, db := digestOf(a), digestOf(b)
	c := newCache(t, map[string][]byte{
		da: a,
		db: []byte("tampered"), // stored under b's digest
	})
	if raw, ok := c.Get(da); !ok || string(raw) != string(a) {
		t.Fatalf("Get(a) = %q, %v", raw, ok)
	}
	if raw, ok := c.Get(db); ok {
		t.Fatalf("tampered entry served: %q", raw)
	}
	if _, ok := maps.Collect(c.Entries())[db]; ok {
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

// tamperSpill overwrites the first byte of d's bytes in c's spill file.
func tamperSpill(t *testing.T, c *Cache, d string) {
	t.Helper()
	k, _ := parseDigest(d)
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok {
		t.Fatalf("%s not held", d)
	}
	if _, err := c.sp.WriteAt([]byte("X"), e.off); err != nil {
		t.Fatal(err)
	}
}

func TestCacheCopiesAndVerifiesEveryRead(t *testing.T) {
	raw := manifestN(7)
	d := digestOf(raw)
	c := newCache(t, nil)
	c.Put(d, raw)
	raw[0] = 'X' // a caller scribbles on the slice it handed in...
	got, ok := c.Get(d)
	if !ok || digestOf(got) != d {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	got[0] = 'X' // ...and on the one it was handed
	if got, ok := c.Get(d); !ok || digestOf(got) != d {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	// The spill file changes under the cache: the next read notices.
	tamperSpill(t, c, d)
	if _, ok := c.Get(d); ok {
		t.Fatal("tampered entry served")
	}
	if s := c.Stats(); s != (Stats{Hits: 2, Misses: 1, Corrupt: 1, Added: 1}) || c.Len() != 0 {
		t.Fatalf("Stats = %+v, Len %d", s, c.Len())
	}
	// Put stores it again.
	c.Put(d, manifestN(7))
	if got, ok := c.Get(d); !ok || digestOf(got) != d {
		t.Fatalf("Get after Put = %q, %v", got, ok)
	}
}

func TestWrapRefetchesEntryTamperedInSpill(t *testing.T) {
	reg, ds := newFakeRegistry(2)
	c := newCache(t, nil)
	get := Wrap(reg.fetch, c)
	for range 2 {
		for _, d := range ds {
			if raw, err := get(context.Background(), "pkg", d); err != nil || digestOf(raw) != d {
				t.Fatalf("%s: %q %v", d, raw, err)
			}
		}
		tamperSpill(t, c, ds[0])
	}
	if reg.fetches[ds[0]] != 2 || reg.fetches[ds[1]] != 1 {
		t.Fatalf("fetches = %v", reg.fetches)
	}
	if s := c.Stats(); s != (Stats{Hits: 1, Misses: 3, Corrupt: 1, Added: 3}) {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestCacheUsedAndEntries(t *testing.T) {
	reg, ds := newFakeRegistry(6)
	seed := map[string][]byte{}
	for _, d := range ds[:4] {
		seed[d] = reg.blobs[d]
	}
	seed[ds[3]] = []byte("tampered")
	seed["sha512:abc"] = []byte("x") // never held
	c := newCache(t, seed)
	if c.Len() != 4 {
		t.Fatalf("Len = %d", c.Len())
	}
	c.Get(ds[0])                   // read: used
	c.Get(ds[3])                   // corrupt: dropped
	c.Put(ds[4], reg.blobs[ds[4]]) // added: used
	c.Seed(ds[5], reg.blobs[ds[5]])
	c.Seed(ds[0], []byte("a second seed does not replace the first"))

	want := map[string][]byte{ds[0]: reg.blobs[ds[0]], ds[4]: reg.blobs[ds[4]]}
	for range 2 { // a Seq2 to range over more than once
		var order []string
		got := map[string][]byte{}
		for d, raw := range c.Used() {
			order = append(order, d)
			got[d] = raw
		}
		if !maps.EqualFunc(got, want, bytes.Equal) || !slices.IsSorted(order) {
			t.Fatalf("Used = %v (order %v)", got, order)
		}
	}
	all := maps.Collect(c.Entries())
	if len(all) != 5 || !bytes.Equal(all[ds[1]], reg.blobs[ds[1]]) || !bytes.Equal(all[ds[5]], reg.blobs[ds[5]]) {
		t.Fatalf("Entries = %d entries", len(all))
	}
	for range c.Used() {
		break // stopping early is fine
	}
}

func TestCacheSpillIsUnlinkedAndClosed(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c := New(nil)
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	raw := manifestN(1)
	c.Put(digestOf(raw), raw)
	if files, _ := os.ReadDir(tmp); len(files) != 0 {
		t.Fatalf("spill file visible: %v", files)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := c.Get(digestOf(raw)); ok || c.Len() != 0 {
		t.Fatal("served after Close")
	}
	// A closed cache still fetches through Wrap, uncached.
	reg, ds := newFakeRegistry(1)
	get := Wrap(reg.fetch, c)
	for range 2 {
		if raw, err := get(context.Background(), "pkg", ds[0]); err != nil || digestOf(raw) != ds[0] {
			t.Fatalf("%q %v", raw, err)
		}
	}
	if reg.total.Load() != 2 {
		t.Fatalf("fetches %d", reg.total.Load())
	}
}

func TestCacheWithoutTempFileUsesMemory(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	c := New(nil)
	defer c.Close()
	if c.Err() == nil {
		t.Fatal("no error for a missing TMPDIR")
	}
	reg, ds := newFakeRegistry(20)
	for _, d := range ds {
		c.Put(d, reg.blobs[d])
	}
	tamperSpill(t, c, ds[3])
	for i, d := range ds {
		raw, ok := c.Get(d)
		if ok != (i != 3) || (ok && digestOf(raw) != d) {
			t.Fatalf("Get(%d) = %q, %v", i, raw, ok)
		}
	}
	if n := len(maps.Collect(c.Used())); n != 19 {
		t.Fatalf("Used = %d", n)
	}
}

// The point of the spill file: manifests do not stay on the Go heap.
func TestCacheHeapStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 20 MB")
	}
	const n, size = 20_000, 1024
	before := heap()
	c := newCache(t, nil)
	raw := make([]byte, size)
	var first string
	for i := range n {
		copy(raw, fmt.Sprintf("%08d", i))
		d := digestOf(raw)
		if i == 0 {
			first = d
		}
		if i%2 == 0 {
			c.Put(d, raw)
		} else {
			c.Seed(d, raw)
		}
	}
	grew := int64(heap()) - int64(before)
	stored := int64(n * size)
	t.Logf("%d entries, %d MiB stored, heap grew %.1f MiB", c.Len(), stored>>20, float64(grew)/(1<<20))
	if c.Len() != n {
		t.Fatalf("Len = %d", c.Len())
	}
	if grew > stored/4 {
		t.Fatalf("heap grew %d bytes for %d bytes stored", grew, stored)
	}
	if got, ok := c.Get(first); !ok || digestOf(got) != first {
		t.Fatal("first entry lost")
	}
	runtime.KeepAlive(c)
}

func TestWrapTamperedEntryIsRefetched(t *testing.T) {
	reg, ds := newFakeRegistry(3)
	seed := map[string][]byte{}
	for _, d := range ds {
		seed[d] = reg.blobs[d]
	}
	seed[ds[1]] = []byte(`{"evil":true}`)
	c := newCache(t, seed)
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
	c := newCache(t, nil)
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
	c := newCache(t, nil)
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
	c := newCache(t, nil)
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
