package mcache

import (
	"context"
	"maps"
	"os"
	"path/filepath"
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

// hexFiles lists the sha256/<64 hex> regular files under path, as digests.
func hexFiles(t *testing.T, path string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(path, "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && validHex(e.Name()) {
			out = append(out, "sha256:"+e.Name())
		}
	}
	slices.Sort(out)
	return out
}

func fileOf(path, digest string) string {
	return filepath.Join(path, "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// seedDir writes the manifests of ds to a cache directory at path.
func seedDir(t *testing.T, path string, reg *fakeRegistry, ds []string) {
	t.Helper()
	m := map[string][]byte{}
	for _, d := range ds {
		m[d] = reg.blobs[d]
	}
	if err := Dir(path).Save(context.Background(), maps.All(m)); err != nil {
		t.Fatal(err)
	}
	// Written by runs long ago: unused since, they may be pruned.
	old := time.Now().Add(-UnusedFor - 24*time.Hour)
	for _, d := range ds {
		if err := os.Chtimes(fileOf(path, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// writeBehindFetch is fetch with every fetched manifest added to st, as the
// run's write-behind does.
func writeBehindFetch(t *testing.T, reg *fakeRegistry, st Store) FetchFunc {
	t.Helper()
	a, ok := st.(Adder)
	if !ok {
		t.Fatal("Dir is not an Adder")
	}
	return func(ctx context.Context, pkg, digest string) ([]byte, error) {
		raw, err := reg.fetch(ctx, pkg, digest)
		if err == nil {
			if err := a.Add(digest, raw); err != nil {
				t.Error(err)
			}
		}
		return raw, err
	}
}

// strays creates files and entries Save must never touch, and returns
// their paths.
func strays(t *testing.T, path string) []string {
	t.Helper()
	dir := filepath.Join(path, "sha256")
	hexName := strings.TrimPrefix(digestOf([]byte("stray")), "sha256:")
	var out []string
	for name, raw := range map[string]string{
		"README":                 "hi",
		".tmp-0123456789ab-1":    "partial",
		strings.ToUpper(hexName): "upper case",
		hexName[:63]:             "short",
		hexName + ".bak":         "suffix",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	// A directory and a symbolic link with digest names.
	sub := filepath.Join(dir, strings.TrimPrefix(digestOf([]byte("subdir")), "sha256:"))
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("target"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, strings.TrimPrefix(digestOf([]byte("link")), "sha256:"))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return append(out, sub, link, target)
}

func checkExist(t *testing.T, paths []string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was touched: %v", filepath.Base(p), err)
		}
	}
}

func TestDirSavePrunesUnused(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(4)
	seedDir(t, path, reg, ds[:3])
	keep := strays(t, path)
	inodes := map[string]uint64{}
	for _, d := range ds[:2] {
		inodes[d] = inode(t, fileOf(path, d))
	}

	// A run that reads ds[0] and ds[1], not ds[2] (its version is gone),
	// and fetches ds[3].
	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil || c.Len() != 3 {
		t.Fatalf("Load = %d entries, %v", c.Len(), err)
	}
	get := Wrap(writeBehindFetch(t, reg, st), c)
	for _, d := range []string{ds[0], ds[1], ds[3]} {
		if _, err := get(ctx, "pkg", d); err != nil {
			t.Fatal(err)
		}
	}
	if reg.total.Load() != 1 {
		t.Fatalf("fetches = %v", reg.fetches)
	}
	if err := st.Save(ctx, c.Used()); err != nil {
		t.Fatal(err)
	}
	want := []string{ds[0], ds[1], ds[3]}
	slices.Sort(want)
	if got := hexFiles(t, path); !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	for _, d := range ds[:2] {
		if inode(t, fileOf(path, d)) != inodes[d] {
			t.Fatalf("%s was rewritten", d)
		}
	}
	checkExist(t, keep)

	// The next run reads what is left; ds[2] is fetched if it is ever
	// needed again.
	c2, err := loadCache(t, Dir(path))
	if err != nil || c2.Len() != 3 {
		t.Fatalf("Load = %d entries, %v", c2.Len(), err)
	}
}

func TestDirSaveKeepsAddedEntriesNotSaved(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(4)
	seedDir(t, path, reg, ds[:3])

	st := Dir(path)
	if _, err := loadCache(t, st); err != nil {
		t.Fatal(err)
	}
	// Added during the run, but missing from what Save is given: ds[0]
	// (on disk already) and ds[3] (new).
	a := st.(Adder)
	for _, d := range []string{ds[0], ds[3]} {
		if err := a.Add(d, reg.blobs[d]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Save(ctx, maps.All(map[string][]byte{ds[1]: reg.blobs[ds[1]]})); err != nil {
		t.Fatal(err)
	}
	want := []string{ds[0], ds[1], ds[3]}
	slices.Sort(want)
	if got := hexFiles(t, path); !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
}

func TestDirCorruptUnusedFileIsPruned(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(2)
	seedDir(t, path, reg, ds)
	bad := digestOf([]byte("bad"))
	if err := os.WriteFile(fileOf(path, bad), []byte("not bad"), 0o644); err != nil {
		t.Fatal(err)
	}
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
	if err := st.Save(ctx, c.Used()); err != nil {
		t.Fatal(err)
	}
	if got := hexFiles(t, path); !slices.Equal(got, ds) {
		t.Fatalf("files = %v, want %v", got, ds)
	}
}

func TestDirPartialLoadPrunesNothing(t *testing.T) {
	path := t.TempDir()
	reg, ds := newFakeRegistry(3)
	seedDir(t, path, reg, ds)
	slices.Sort(ds)

	// A Load that stops after the first entry (here: cancelled).
	partial := func(st Store) (*Cache, error) {
		c := newCache(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := st.Load(ctx, func(d string, raw []byte) {
			c.Seed(d, raw)
			cancel()
		})
		return c, err
	}

	st := Dir(path)
	c, err := partial(st)
	if err == nil || c.Len() != 1 {
		t.Fatalf("Load = %d entries, %v; want 1 and an error", c.Len(), err)
	}
	// Nothing used: a complete Load would have pruned all three.
	if err := st.Save(context.Background(), c.Used()); err != nil {
		t.Fatal(err)
	}
	if got := hexFiles(t, path); !slices.Equal(got, ds) {
		t.Fatalf("files = %v, want %v", got, ds)
	}

	// A complete Load followed by a failed one: the failed one decides.
	st2 := Dir(path)
	if _, err := loadCache(t, st2); err != nil {
		t.Fatal(err)
	}
	if _, err := partial(st2); err == nil {
		t.Fatal("expected an error")
	}
	if err := st2.Save(context.Background(), c.Used()); err != nil {
		t.Fatal(err)
	}
	if got := hexFiles(t, path); !slices.Equal(got, ds) {
		t.Fatalf("files = %v, want %v", got, ds)
	}

	// A Load whose listing fails, and no Load at all.
	file := filepath.Join(t.TempDir(), "cache")
	if err := os.MkdirAll(file, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(file, "sha256"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(context.Background(), Dir(file)); err == nil {
		t.Fatal("expected an error listing a file")
	}
	if err := Dir(path).Save(context.Background(), c.Used()); err != nil {
		t.Fatal(err)
	}
	if got := hexFiles(t, path); !slices.Equal(got, ds) {
		t.Fatalf("files = %v, want %v", got, ds)
	}
}

func TestDirPruneLeavesReplacedEntryAlone(t *testing.T) {
	// A file Load listed that is a directory by the time Save prunes.
	path := t.TempDir()
	reg, ds := newFakeRegistry(2)
	seedDir(t, path, reg, ds)
	st := Dir(path)
	if _, err := loadCache(t, st); err != nil {
		t.Fatal(err)
	}
	p := fileOf(path, ds[0])
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(fileOf(path, ds[1])); err != nil { // gone already
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), maps.All(map[string][]byte{})); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
		t.Fatalf("directory touched: %v", err)
	}
}

// A manifest another workflow used recently (or that a package which failed
// to load this run needs) is not pruned just because this run did not use it.
func TestDirKeepsRecentlyUsedFiles(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	reg, ds := newFakeRegistry(2)
	seedDir(t, path, reg, ds)
	now := time.Now()
	if err := os.Chtimes(fileOf(path, ds[1]), now, now); err != nil {
		t.Fatal(err)
	}
	st := Dir(path)
	c, err := loadCache(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, c.Used()); err != nil { // this run used neither
		t.Fatal(err)
	}
	if got := hexFiles(t, path); !slices.Equal(got, []string{ds[1]}) {
		t.Fatalf("files = %v, want only the recently used %s", got, ds[1])
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
	entries, err := load(ctx, st)
	if err != nil || len(entries) != 0 {
		t.Fatalf("Load on empty = %v, %v", entries, err)
	}

	// Cold run.
	c := newCache(t, entries)
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
	c2, err := loadCache(t, st2)
	if err != nil || c2.Len() != 20 {
		t.Fatalf("Load = %d entries, %v", c2.Len(), err)
	}
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
	if err := st.Save(ctx, maps.All(reg.blobs)); err != nil {
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
	c, err := loadCache(t, st2)
	if err != nil {
		t.Fatal(err)
	}
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
	if err := st.Save(ctx, maps.All(first)); err != nil {
		t.Fatal(err)
	}

	st2 := Dir(path)
	c, err := loadCache(t, st2)
	if err != nil || c.Len() != 3 {
		t.Fatalf("Load = %d, %v", c.Len(), err)
	}
	// A rewrite is a new file renamed into place: a new inode.
	inodes := map[string]uint64{}
	for _, d := range ds[:3] {
		inodes[d] = inode(t, filepath.Join(path, "sha256", strings.TrimPrefix(d, "sha256:")))
	}
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
	if err := st2.Save(ctx, maps.All(map[string][]byte{junk: []byte("not junk")})); err != nil {
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
	if err := st.Save(context.Background(), maps.All(map[string][]byte{digestOf(raw): raw})); err == nil {
		t.Fatal("expected an error")
	}
	if entries, err := load(context.Background(), st); err == nil || len(entries) != 0 {
		t.Fatalf("Load = %d entries, %v; want none and an error", len(entries), err)
	}
}

// cache-dir may sit in a checkout a pull request wrote, and the action runs
// as root: a cache directory or sha256 folder that is a symbolic link is
// refused (a warning in the run), and nothing is read, written or removed
// where it points.
func TestDirRefusesSymbolicLinks(t *testing.T) {
	reg, ds := newFakeRegistry(3)
	m := map[string][]byte{}
	for _, d := range ds {
		m[d] = reg.blobs[d]
	}
	// The victim holds a file with a digest name whose contents are not
	// that digest's: a prune through the link would remove it.
	victimFile := strings.TrimPrefix(ds[0], "sha256:")
	setup := map[string]func(t *testing.T, cache, victim string){
		"sha256 is a link": func(t *testing.T, cache, victim string) {
			if err := os.MkdirAll(cache, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, filepath.Join(cache, "sha256")); err != nil {
				t.Fatal(err)
			}
		},
		"the cache directory is a link": func(t *testing.T, cache, victim string) {
			if err := os.Mkdir(filepath.Join(victim, "sha256"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, cache); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, link := range setup {
		t.Run(name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			victim := t.TempDir()
			link(t, cache, victim)
			victimDir := victim
			if _, err := os.Stat(filepath.Join(victim, "sha256")); err == nil {
				victimDir = filepath.Join(victim, "sha256")
			}
			planted := filepath.Join(victimDir, victimFile)
			if err := os.WriteFile(planted, []byte("not a manifest"), 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-2 * UnusedFor)
			os.Chtimes(planted, old, old)
			before, _ := os.ReadDir(victimDir)

			st := Dir(cache)
			if _, err := load(context.Background(), st); err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("Load through a link: %v", err)
			}
			if err := st.(Adder).Add(ds[1], m[ds[1]]); err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("Add through a link: %v", err)
			}
			if err := st.Save(context.Background(), maps.All(m)); err == nil {
				t.Error("Save through a link succeeded")
			}
			after, _ := os.ReadDir(victimDir)
			if len(after) != len(before) {
				t.Errorf("the link's target went from %v to %v", before, after)
			}
			if b, err := os.ReadFile(planted); err != nil || string(b) != "not a manifest" {
				t.Errorf("the planted file is now %q, %v", b, err)
			}
		})
	}
}

// A link inside the sha256 folder that leads out of it is neither read nor
// followed when a manifest is written over it.
func TestDirDoesNotFollowLinksOutOfTheFolder(t *testing.T) {
	reg, ds := newFakeRegistry(1)
	cache := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, reg.blobs[ds[0]], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, fileOf(cache, ds[0])); err != nil {
		t.Fatal(err)
	}
	st := Dir(cache)
	entries, err := load(context.Background(), st)
	if err != nil || len(entries) != 0 {
		t.Fatalf("Load = %d entries, %v; want the link skipped", len(entries), err)
	}
	if err := st.(Adder).Add(ds[0], reg.blobs[ds[0]]); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(fileOf(cache, ds[0]))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the entry is %v, %v; want a regular file in place of the link", fi, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != string(reg.blobs[ds[0]]) {
		t.Error("the link's target was written")
	}
}
