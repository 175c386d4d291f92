package mcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func packOf(path string) string { return filepath.Join(path, packName) }

// rec is one record for writePack: raw need not match d.
type rec struct {
	d   string
	raw []byte
	day day
}

// writePack writes recs as the pack of path, bypassing Save's checks, so
// that a test can plant what Save never writes.
func writePack(t testing.TB, path string, recs ...rec) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(recs, func(a, b rec) int { return strings.Compare(a.d, b.d) })
	f, err := os.Create(packOf(path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := newPackWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		k, ok := parseDigest(r.d)
		if !ok {
			t.Fatalf("bad digest %s", r.d)
		}
		if err := w.add(k, r.day, r.raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
}

// recsOf is the records of ds in reg, each last used on d.
func recsOf(reg *fakeRegistry, ds []string, d day) []rec {
	var out []rec
	for _, dg := range ds {
		out = append(out, rec{dg, reg.blobs[dg], d})
	}
	return out
}

// packDays reads the pack of path: each digest with its last-used day.
func packDays(t *testing.T, path string) map[string]day {
	t.Helper()
	f, err := os.Open(packOf(path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	recs, _, err := readPack(context.Background(), f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]day{}
	for _, r := range recs {
		out[r.k.String()] = r.e.day
	}
	return out
}

func today() day { return dayOf(time.Now()) }

// dirFiles lists path's names.
func dirFiles(t *testing.T, path string) []string {
	t.Helper()
	ents, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestDirRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache")
	reg, ds := newFakeRegistry(20)

	// Nothing stored yet; saving nothing writes nothing.
	st := Dir(path)
	if got := st.String(); got != "directory "+path {
		t.Fatalf("String = %q", got)
	}
	c, err := loadCache(t, st)
	if err != nil || c.Len() != 0 {
		t.Fatalf("Load on empty = %d, %v", c.Len(), err)
	}
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("an empty Save created %s: %v", path, err)
	}

	// Cold run: one pack, nothing else.
	fetchAll(t, c, reg, ds)
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := dirFiles(t, path); !slices.Equal(got, []string{packName}) {
		t.Fatalf("cache-dir holds %v", got)
	}
	before := inode(t, packOf(path))

	// Warm run: zero fetches, nothing spilled, nothing written.
	st2 := Dir(path)
	c2, err := loadCache(t, st2)
	if err != nil || c2.Len() != 20 {
		t.Fatalf("Load = %d entries, %v", c2.Len(), err)
	}
	get2 := Wrap(reg.fetch, c2)
	for _, d := range ds {
		if raw, err := get2(ctx, "pkg", d); err != nil || digestOf(raw) != d {
			t.Fatalf("%s: %q %v", d, raw, err)
		}
	}
	if reg.total.Load() != 20 {
		t.Fatalf("warm run fetched: total %d", reg.total.Load())
	}
	if s := c2.Stats(); s.Hits != 20 || s.Added != 0 || c2.size != 0 {
		t.Fatalf("Stats = %+v, %d bytes spilled", s, c2.size)
	}
	if err := st2.Save(ctx, c2); err != nil {
		t.Fatal(err)
	}
	if inode(t, packOf(path)) != before {
		t.Fatal("an unchanged warm run rewrote the pack")
	}
}

// Equal sets give equal packs, whatever order they were fetched in, and a
// second Save of an unchanged Cache writes nothing.
func TestDirPackIsCanonical(t *testing.T) {
	ctx := context.Background()
	reg, ds := newFakeRegistry(30)
	backward := slices.Clone(ds)
	slices.Reverse(backward)
	var packs [][]byte
	for _, order := range [][]string{ds, backward} {
		path := t.TempDir()
		st := Dir(path)
		c := newCache(t, nil)
		for _, d := range order {
			c.Put(d, reg.blobs[d])
		}
		if err := st.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		ino := inode(t, packOf(path))
		if err := st.Save(ctx, c); err != nil || inode(t, packOf(path)) != ino {
			t.Fatalf("second Save: %v, rewritten %v", err, inode(t, packOf(path)) != ino)
		}
		raw, _ := os.ReadFile(packOf(path))
		packs = append(packs, raw)
	}
	if !bytes.Equal(packs[0], packs[1]) {
		t.Fatal("equal sets gave different packs")
	}
}

// An entry nobody used for UnusedFor falls out; one this run did not use
// but someone used within UnusedFor stays, with its day; a used one is
// dated today.
func TestDirPrunesByLastUse(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(5)
	now := today()
	limit := day(days(UnusedFor))
	writePack(t, path,
		rec{ds[0], reg.blobs[ds[0]], now - 40},        // used this run
		rec{ds[1], reg.blobs[ds[1]], now - limit - 1}, // gone a month and a day
		rec{ds[2], reg.blobs[ds[2]], now - limit},     // a month: still kept
		rec{ds[3], reg.blobs[ds[3]], now - 5},         // another workflow's
	)
	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil || c.Len() != 4 {
		t.Fatalf("Load = %d, %v", c.Len(), err)
	}
	get := Wrap(reg.fetch, c)
	for _, d := range []string{ds[0], ds[4]} {
		if _, err := get(ctx, "pkg", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	want := map[string]day{ds[0]: now, ds[2]: now - limit, ds[3]: now - 5, ds[4]: now}
	if got := packDays(t, path); !maps.Equal(got, want) {
		t.Fatalf("pack = %v, want %v", got, want)
	}
}

// A used entry's day moves once a day: a second run on the same day
// writes nothing, a run the next day rewrites the pack.
func TestDirMovesDaysOncePerDay(t *testing.T) {
	ctx := context.Background()
	reg, ds := newFakeRegistry(3)
	for _, tc := range []struct {
		stored  day
		rewrite bool
	}{{today(), false}, {today() - 1, true}} {
		path := t.TempDir()
		writePack(t, path, recsOf(reg, ds, tc.stored)...)
		ino := inode(t, packOf(path))
		st := Dir(path)
		c, err := loadCache(t, st)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if _, ok := c.Get(d); !ok {
				t.Fatalf("miss %s", d)
			}
		}
		if err := st.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		if rewritten := inode(t, packOf(path)) != ino; rewritten != tc.rewrite {
			t.Fatalf("stored day %d: rewritten %v, want %v", tc.stored, rewritten, tc.rewrite)
		}
		for d, got := range packDays(t, path) {
			if got != today() {
				t.Fatalf("%s dated %d, want today", d, got)
			}
		}
	}
}

func TestDirCorruptEntryRefetchedAndRepaired(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(4)
	recs := recsOf(reg, ds, today())
	recs[0].raw = []byte(`{"evil":true}`) // read this run
	recs[3].raw = []byte(`{"evil":2}`)    // never read: dropped when the pack is written
	writePack(t, path, recs...)
	// Leftovers of other layouts and of a run that crashed are ignored.
	os.MkdirAll(filepath.Join(path, "sha256"), 0o755)
	os.WriteFile(filepath.Join(path, "sha256", strings.TrimPrefix(ds[1], "sha256:")), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(path, "."+packName+".tmp-0123"), []byte("partial"), 0o644)

	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil || c.Len() != 4 {
		t.Fatalf("Load = %d, %v", c.Len(), err)
	}
	get := Wrap(reg.fetch, c)
	for _, d := range ds[:3] {
		if raw, err := get(ctx, "pkg", d); err != nil || digestOf(raw) != d {
			t.Fatalf("%s: %q %v", d, raw, err)
		}
	}
	if reg.total.Load() != 1 || reg.fetches[ds[0]] != 1 {
		t.Fatalf("fetches = %v", reg.fetches)
	}
	if s := c.Stats(); s.Corrupt != 1 || s.Hits != 2 || s.Added != 1 {
		t.Fatalf("Stats = %+v", s)
	}
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	entries, err := load(ctx, Dir(path))
	if err != nil || len(entries) != 3 {
		t.Fatalf("Load after repair = %d, %v", len(entries), err)
	}
	for d, raw := range entries {
		if digestOf(raw) != d {
			t.Fatalf("%s written unverified", d)
		}
	}
}

// A pack cut short, or broken part way, yields the entries before the
// damage and an error; Save then writes a whole pack again.
func TestDirDamagedPackLosesOnlyWhatItMust(t *testing.T) {
	ctx := context.Background()
	reg, ds := newFakeRegistry(4)
	slices.Sort(ds)
	good := t.TempDir()
	writePack(t, good, recsOf(reg, ds, today())...)
	whole, _ := os.ReadFile(packOf(good))
	second := int(packHeaderLen) + packRecordLen + len(reg.blobs[ds[0]]) // offset of the second record
	cases := map[string]struct {
		raw  []byte
		kept int
	}{
		"cut in a manifest":  {whole[:len(whole)-3], 3},
		"cut between":        {whole[:second], 1},
		"cut in the header":  {whole[:10], 0},
		"trailing bytes":     {append(slices.Clone(whole), "junk"...), 4},
		"bad padding":        {patch(whole, second+sha256.Size+7, 1), 1},
		"a huge entry":       {patch(whole, second+sha256.Size, 0x7f), 1},
		"out of order":       {patchAt(whole, second, whole[packHeaderLen:packHeaderLen+sha256.Size]), 1},
		"an unknown version": {patch(whole, len(packMagic)-2, '9'), 0},
		"a huge count":       {patch(whole, len(packMagic), 0xff), 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := t.TempDir()
			if err := os.WriteFile(packOf(path), tc.raw, 0o644); err != nil {
				t.Fatal(err)
			}
			st := Dir(path)
			c, err := loadCache(t, st)
			if err == nil || c.Len() != tc.kept {
				t.Fatalf("Load = %d entries, %v; want %d and an error", c.Len(), err, tc.kept)
			}
			get := Wrap(reg.fetch, c)
			for _, d := range ds {
				if raw, err := get(ctx, "pkg", d); err != nil || digestOf(raw) != d {
					t.Fatalf("%s: %q %v", d, raw, err)
				}
			}
			if err := st.Save(ctx, c); err != nil {
				t.Fatal(err)
			}
			if entries, err := load(ctx, Dir(path)); err != nil || len(entries) != 4 {
				t.Fatalf("Load after Save = %d, %v", len(entries), err)
			}
		})
	}
}

// patch is raw with the byte at i set to b.
func patch(raw []byte, i int, b byte) []byte { return patchAt(raw, i, []byte{b}) }

// patchAt is raw with b written at i.
func patchAt(raw []byte, i int, b []byte) []byte {
	out := slices.Clone(raw)
	copy(out[i:], b)
	return out
}

// A Load that did not finish, and a run that saved since this one loaded,
// lose nothing: Save keeps what the pack on disk holds that the Cache
// lacks.
func TestDirSaveKeepsWhatItDidNotLoad(t *testing.T) {
	ctx := context.Background()
	reg, ds := newFakeRegistry(6)

	t.Run("a cancelled Load", func(t *testing.T) {
		path := t.TempDir()
		writePack(t, path, recsOf(reg, ds[:3], today()-3)...)
		st := Dir(path)
		c := newCache(t, nil)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := st.Load(cancelled, c); err == nil || c.Len() != 0 {
			t.Fatalf("Load = %d, %v; want none and an error", c.Len(), err)
		}
		c.Put(ds[3], reg.blobs[ds[3]])
		if err := st.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		want := map[string]day{ds[0]: today() - 3, ds[1]: today() - 3, ds[2]: today() - 3, ds[3]: today()}
		if got := packDays(t, path); !maps.Equal(got, want) {
			t.Fatalf("pack = %v, want %v", got, want)
		}
	})

	t.Run("concurrent runs", func(t *testing.T) {
		path := t.TempDir()
		writePack(t, path, recsOf(reg, ds[:2], today()-3)...)
		a, b := Dir(path), Dir(path)
		ca, _ := loadCache(t, a)
		cb, _ := loadCache(t, b)
		ca.Put(ds[2], reg.blobs[ds[2]])
		ca.Get(ds[0])
		cb.Put(ds[3], reg.blobs[ds[3]])
		if err := a.Save(ctx, ca); err != nil {
			t.Fatal(err)
		}
		if err := b.Save(ctx, cb); err != nil {
			t.Fatal(err)
		}
		want := map[string]day{ds[0]: today(), ds[1]: today() - 3, ds[2]: today(), ds[3]: today()}
		if got := packDays(t, path); !maps.Equal(got, want) {
			t.Fatalf("pack = %v, want %v", got, want)
		}
		// b's next Save, with nothing new, writes nothing; with something
		// new, it still keeps a's entries.
		ino := inode(t, packOf(path))
		if err := b.Save(ctx, cb); err != nil || inode(t, packOf(path)) != ino {
			t.Fatalf("Save with nothing new: %v, rewritten %v", err, inode(t, packOf(path)) != ino)
		}
		cb.Put(ds[4], reg.blobs[ds[4]])
		if err := b.Save(ctx, cb); err != nil {
			t.Fatal(err)
		}
		if got := packDays(t, path); len(got) != 5 {
			t.Fatalf("pack = %v, want a's and b's entries", got)
		}
	})
}

func TestDirSaveUnwritableReturnsError(t *testing.T) {
	// A path under a regular file fails even for root.
	base := t.TempDir()
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o644)
	st := Dir(filepath.Join(file, "cache"))
	raw := manifestN(1)
	if err := st.Save(context.Background(), usedCache(t, map[string][]byte{digestOf(raw): raw})); err == nil {
		t.Fatal("expected an error")
	}
	if entries, err := load(context.Background(), st); err == nil || len(entries) != 0 {
		t.Fatalf("Load = %d entries, %v; want none and an error", len(entries), err)
	}
}

// cache-dir may sit in a checkout a pull request wrote, and the action runs
// as root: a cache directory or pack that is a symbolic link is refused
// (a warning in the run), and nothing is read or written where it points.
func TestDirRefusesSymbolicLinks(t *testing.T) {
	reg, ds := newFakeRegistry(3)
	setup := map[string]func(t *testing.T, cache, victim string){
		"the cache directory is a link": func(t *testing.T, cache, victim string) {
			if err := os.Symlink(victim, cache); err != nil {
				t.Fatal(err)
			}
		},
		"the pack is a link": func(t *testing.T, cache, victim string) {
			if err := os.MkdirAll(cache, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(packOf(victim), packOf(cache)); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, link := range setup {
		t.Run(name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			victim := t.TempDir()
			writePack(t, victim, recsOf(reg, ds[:1], today())...)
			before, _ := os.ReadFile(packOf(victim))
			link(t, cache, victim)

			st := Dir(cache)
			c, err := loadCache(t, st)
			if err == nil || !strings.Contains(err.Error(), "symbolic link") || c.Len() != 0 {
				t.Errorf("Load through a link: %d entries, %v", c.Len(), err)
			}
			c.Put(ds[1], reg.blobs[ds[1]])
			err = st.Save(context.Background(), c)
			if after, _ := os.ReadFile(packOf(victim)); !bytes.Equal(after, before) {
				t.Errorf("the link's target was written (Save: %v)", err)
			}
			if ents, _ := os.ReadDir(victim); len(ents) != 1 {
				t.Errorf("the link's target now holds %v", ents)
			}
		})
	}
}

// A link in the cache directory is replaced by the pack, never written
// through.
func TestDirReplacesALinkedPack(t *testing.T) {
	reg, ds := newFakeRegistry(1)
	cache := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	if err := os.Symlink(victim, packOf(cache)); err != nil {
		t.Fatal(err)
	}
	st := Dir(cache)
	if err := st.Save(context.Background(), usedCache(t, reg.blobs)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(packOf(cache))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the pack is %v, %v; want a regular file in place of the link", fi, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Error("the link's target was written")
	}
	if got := packDays(t, cache); len(got) != 1 || got[ds[0]] != today() {
		t.Fatalf("pack = %v", got)
	}
}

// A leftover folder of the one-file-per-digest layout, even a linked one,
// is neither read nor touched.
func TestDirIgnoresTheSha256Folder(t *testing.T) {
	reg, ds := newFakeRegistry(1)
	cache := t.TempDir()
	victim := t.TempDir()
	os.WriteFile(filepath.Join(victim, strings.TrimPrefix(ds[0], "sha256:")), reg.blobs[ds[0]], 0o644)
	if err := os.Symlink(victim, filepath.Join(cache, "sha256")); err != nil {
		t.Fatal(err)
	}
	st := Dir(cache)
	c, err := loadCache(t, st)
	if err != nil || c.Len() != 0 {
		t.Fatalf("Load = %d, %v", c.Len(), err)
	}
	c.Put(ds[0], reg.blobs[ds[0]])
	if err := st.Save(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 1 {
		t.Fatalf("the link's target now holds %v", ents)
	}
}

// The point of reading from the pack: a warm Load holds a small record per
// manifest, not the manifests, and copies nothing to the spill file.
func TestDirWarmLoadStaysOffHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20 MB")
	}
	const n, size = 20_000, 1024
	path := t.TempDir()
	src := newCache(t, nil)
	raw := make([]byte, size)
	for i := range n {
		copy(raw, fmt.Sprintf("%08d", i))
		src.Put(digestOf(raw), raw)
	}
	if err := Dir(path).Save(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	before := heap()
	c, err := loadCache(t, Dir(path))
	if err != nil || c.Len() != n {
		t.Fatalf("Load = %d, %v", c.Len(), err)
	}
	grew := int64(heap()) - int64(before)
	t.Logf("%d entries, heap grew %.1f MiB", n, float64(grew)/(1<<20))
	if grew > n*80 || c.size != 0 {
		t.Fatalf("heap grew %d bytes for %d entries; %d bytes spilled", grew, n, c.size)
	}
	runtime.KeepAlive(c)
}

// The Cache reads manifests from the pack it loaded for as long as it
// runs: bytes changed there under it are noticed on the next read, and a
// Put of a digest it holds unread costs no copy.
func TestDirPackChangedUnderTheCache(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(3)
	writePack(t, path, recsOf(reg, ds, today())...)
	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := parseDigest(ds[0])
	i, _ := searchPacked(c.base, k)
	f, err := os.OpenFile(packOf(path), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), c.base[i].e.off)
	f.Close()
	if _, ok := c.Get(ds[0]); ok {
		t.Fatal("changed bytes served")
	}
	c.Put(ds[1], reg.blobs[ds[1]])
	get := Wrap(reg.fetch, c)
	for _, d := range ds {
		if raw, err := get(ctx, "pkg", d); err != nil || digestOf(raw) != d {
			t.Fatalf("%s: %q %v", d, raw, err)
		}
	}
	if s := c.Stats(); s.Corrupt != 1 || s.Added != 1 || c.size != int64(len(reg.blobs[ds[0]])) {
		t.Fatalf("Stats = %+v, %d bytes spilled", s, c.size)
	}
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	entries, err := load(ctx, Dir(path))
	if err != nil || !maps.EqualFunc(entries, reg.blobs, bytes.Equal) {
		t.Fatalf("Load after Save = %d entries, %v", len(entries), err)
	}
}

// Saving a closed Cache is refused: its entries are gone, not unused.
func TestDirSaveRefusesAClosedCache(t *testing.T) {
	path := t.TempDir()
	reg, ds := newFakeRegistry(2)
	writePack(t, path, recsOf(reg, ds, today()-1)...)
	before, _ := os.ReadFile(packOf(path))
	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := st.Save(context.Background(), c); err == nil {
		t.Fatal("Save of a closed cache succeeded")
	}
	if after, _ := os.ReadFile(packOf(path)); !bytes.Equal(after, before) {
		t.Fatal("the pack changed")
	}
}

// A Save that writes the pack removes the temporary packs that runs killed
// while saving left an hour or more ago, and nothing else: not one that
// another run may be writing now, not a link, not another file.
func TestDirSaveRemovesStaleTemporaryPacks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache")
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	plant := func(name string, age time.Time) {
		if err := os.WriteFile(filepath.Join(path, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(path, name), age, age); err != nil {
			t.Fatal(err)
		}
	}
	plant(tempPrefix+"stale", old)
	plant(tempPrefix+"writing", time.Now())
	plant("notes.txt", old)
	if err := os.Symlink(filepath.Join(path, "notes.txt"), filepath.Join(path, tempPrefix+"link")); err != nil {
		t.Fatal(err)
	}
	reg, ds := newFakeRegistry(3)
	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil {
		t.Fatal(err)
	}
	fetchAll(t, c, reg, ds)
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	want := []string{tempPrefix + "link", tempPrefix + "writing", packName, "notes.txt"}
	if got := dirFiles(t, path); !slices.Equal(got, want) {
		t.Errorf("after Save the folder holds %v, want %v", got, want)
	}
}
