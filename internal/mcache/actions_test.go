package mcache

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"

	actionscache "github.com/tonistiigi/go-actions-cache"

	"github.com/ghcr-prune/ghcr-prune/internal/mcache/mcachetest"
)

func TestActionsFromEnvWithoutToken(t *testing.T) {
	st, err := ActionsFromEnv(func(string) string { return "" }, "k", "acme")
	if st != nil || err != nil {
		t.Fatalf("ActionsFromEnv = %v, %v", st, err)
	}
}

func TestActionsFromEnvErrors(t *testing.T) {
	tok := mcachetest.RuntimeToken(t)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := map[string]map[string]string{
		"no v2 url":     {"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_CACHE_SERVICE_V2": "true", "ACTIONS_CACHE_URL": "http://x/"},
		"no v1 url":     {"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_RESULTS_URL": "http://x/"},
		"bad force":     {"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_CACHE_API_FORCE_VERSION": "v3", "ACTIONS_CACHE_URL": "http://x/"},
		"garbage token": {"ACTIONS_RUNTIME_TOKEN": "not-a-jwt", "ACTIONS_CACHE_URL": "http://x/"},
	}
	for name, m := range cases {
		if st, err := ActionsFromEnv(env(m), "k", "acme"); err == nil {
			t.Errorf("%s: got %v, want an error", name, st)
		}
	}
	st, err := ActionsFromEnv(env(map[string]string{
		"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_CACHE_API_FORCE_VERSION": "v2", "ACTIONS_RESULTS_URL": "http://x/",
	}), "ghcr-prune-manifests-o-p", "acme")
	if err != nil || !strings.Contains(st.String(), "ghcr-prune-manifests-o-p (cache service v2)") {
		t.Fatalf("forced v2: %v, %v", st, err)
	}
}

func randomManifests(t *testing.T, n, pad int) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for i := range n {
		b := make([]byte, pad)
		rand.Read(b)
		raw := fmt.Appendf(nil, `{"schemaVersion":2,"annotations":{"n":"%d","pad":"%s"}}`, i, hex.EncodeToString(b))
		out[digestOf(raw)] = raw
	}
	return out
}

func TestActionsStore(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		name := "v1"
		if v2 {
			name = "v2"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			svc := mcachetest.NewCacheService(t)
			const key = "ghcr-prune-manifests-owner-pkg"
			prefix := map[bool]string{false: "v1.", true: "v2."}[v2]

			// Run 1: nothing stored yet.
			st, err := ActionsFromEnv(svc.Env(v2), key, "acme")
			if err != nil || st == nil {
				t.Fatalf("ActionsFromEnv: %v, %v", st, err)
			}
			c, err := loadCache(t, st)
			if err != nil || c.Len() != 0 {
				t.Fatalf("Load on empty = %d, %v", c.Len(), err)
			}
			reg, ds := newFakeRegistry(30)
			fetchAll(t, c, reg, ds)
			if err := st.Save(ctx, c); err != nil {
				t.Fatalf("Save: %v", err)
			}
			keys := svc.Keys()
			if len(keys) != 1 || !strings.HasPrefix(keys[0], key+"-") {
				t.Fatalf("stored keys %v", keys)
			}

			// Run 2 ("a new run"): everything comes back, nothing is fetched,
			// and with nothing added nothing is saved.
			st2, _ := ActionsFromEnv(svc.Env(v2), key, "acme")
			entries, err := load(ctx, st2)
			if err != nil || len(entries) != 30 {
				t.Fatalf("Load = %d entries, %v", len(entries), err)
			}
			if !maps.EqualFunc(entries, reg.blobs, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Fatal("restored entries differ")
			}
			if !strings.Contains(st2.String(), "restored "+keys[0]) {
				t.Fatalf("String = %q", st2.String())
			}
			c2 := newCache(t, entries)
			get2 := Wrap(reg.fetch, c2)
			for _, d := range ds {
				if _, err := get2(ctx, "pkg", d); err != nil {
					t.Fatal(err)
				}
			}
			if reg.total.Load() != 30 {
				t.Fatalf("warm run fetched: total %d", reg.total.Load())
			}
			reserves := svc.CallCount(prefix+"reserve") + svc.CallCount(prefix+"CreateCacheEntry")
			if err := st2.Save(ctx, c2); err != nil {
				t.Fatal(err)
			}
			if n := svc.CallCount(prefix+"reserve") + svc.CallCount(prefix+"CreateCacheEntry"); n != reserves {
				t.Fatal("Save with nothing added reached the service")
			}

			// Run 3 adds a digest and a big batch (over azblob's 1 MiB block,
			// so v2 stages blocks; over v1's chunking it is one chunk): a new
			// entry, which run 4 restores as the newest.
			big := randomManifests(t, 700, 1500)
			st3, _ := ActionsFromEnv(svc.Env(v2), key, "acme")
			c3, _ := loadCache(t, st3)
			for _, d := range ds {
				c3.Get(d) // used again: kept
			}
			for d, raw := range big {
				c3.Put(d, raw)
			}
			if err := st3.Save(ctx, c3); err != nil {
				t.Fatalf("Save big: %v", err)
			}
			if v2 && svc.CallCount("azure.PutBlock") < 2 {
				t.Fatalf("expected staged blocks, calls %v", svc.Calls())
			}
			st4, _ := ActionsFromEnv(svc.Env(v2), key, "acme")
			entries, err = load(ctx, st4)
			if err != nil || len(entries) != 730 {
				t.Fatalf("Load after big = %d, %v", len(entries), err)
			}
			for d, raw := range big {
				if string(entries[d]) != string(raw) {
					t.Fatalf("%s differs", d)
				}
			}

			// Saving the same set again from another run is not an error
			// (the content-addressed key already exists).
			st5, _ := ActionsFromEnv(svc.Env(v2), key, "acme")
			if err := st5.Save(ctx, usedCache(t, entries)); err != nil {
				t.Fatalf("Save of an existing set: %v", err)
			}
			if got := len(svc.Keys()); got != 2 {
				t.Fatalf("%d keys stored, want 2", got)
			}

			t.Logf("calls: %v", svc.Calls())
			// Another key's entries are not restored.
			other, _ := ActionsFromEnv(svc.Env(v2), key+"x", "acme")
			if entries, err := load(ctx, other); err != nil || len(entries) != 0 {
				t.Fatalf("other key Load = %d, %v", len(entries), err)
			}
		})
	}
}

func TestActionsStoreTamperedBlobEntryIsRefetched(t *testing.T) {
	ctx := context.Background()
	svc := mcachetest.NewCacheService(t)
	reg, ds := newFakeRegistry(3)
	seed := maps.Clone(reg.blobs)
	seed[ds[0]] = []byte("tampered")
	// encodeBlob refuses to write a mismatched entry, so frame the blob by
	// hand the way a tampered cache entry would look.
	blob := gzipped(plainBlob(blobMagic, framesOf(seed), nil), gzip.DefaultCompression)
	st, _ := ActionsFromEnv(svc.Env(true), "k", "acme")
	if err := st.(*actionsStore).c.Save(ctx, "k-tampered", actionscache.NewBlob(blob)); err != nil {
		t.Fatal(err)
	}
	c, err := loadCache(t, st)
	if err != nil || c.Len() != 3 {
		t.Fatalf("Load = %d, %v", c.Len(), err)
	}
	get := Wrap(reg.fetch, c)
	for _, d := range ds {
		raw, err := get(ctx, "pkg", d)
		if err != nil || digestOf(raw) != d {
			t.Fatalf("%s: %q %v", d, raw, err)
		}
	}
	if reg.total.Load() != 1 || reg.fetches[ds[0]] != 1 || c.Stats().Corrupt != 1 {
		t.Fatalf("fetches %v, stats %+v", reg.fetches, c.Stats())
	}
}

func TestActionsStoreUnavailable(t *testing.T) {
	ctx := context.Background()
	svc := mcachetest.NewCacheService(t)
	svc.FailAll(http.StatusInternalServerError)
	for _, v2 := range []bool{false, true} {
		st, err := ActionsFromEnv(svc.Env(v2), "k", "acme")
		if err != nil {
			t.Fatal(err)
		}
		entries, err := load(ctx, st)
		if err == nil || len(entries) != 0 {
			t.Fatalf("v2=%v Load = %v, %v; want no entries and an error", v2, entries, err)
		}
		if err := st.Save(ctx, usedCache(t, randomManifests(t, 2, 10))); err == nil {
			t.Fatalf("v2=%v Save: want an error", v2)
		}
	}
}

func TestActionsStoreTooLarge(t *testing.T) {
	old := MaxBlobSize
	MaxBlobSize = 64 << 10
	defer func() { MaxBlobSize = old }()
	svc := mcachetest.NewCacheService(t)
	st, _ := ActionsFromEnv(svc.Env(true), "k", "acme")
	err := st.Save(context.Background(), usedCache(t, randomManifests(t, 100, 1000)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save = %v, want ErrTooLarge", err)
	}
	if len(svc.Keys()) != 0 {
		t.Fatal("something was stored")
	}
}

func TestBlobDecodeRejectsGarbageAndBombs(t *testing.T) {
	decode := func(blob []byte, limit int64) (map[string][]byte, error) {
		out := map[string][]byte{}
		err := decodeBlob(bytes.NewReader(blob), limit, func(d string, raw []byte) { out[d] = raw }, discardListing)
		return out, err
	}
	if _, err := decode([]byte("not gzip"), MaxBlobSize); err == nil {
		t.Fatal("garbage decoded")
	}
	in := randomManifests(t, 50, 1000)
	var buf bytes.Buffer
	kept, _, err := encodeBlob(&buf, maps.All(in), noListings, MaxBlobSize)
	if err != nil || len(kept) != 50 {
		t.Fatalf("encode = %d, %v", len(kept), err)
	}
	blob := buf.Bytes()
	if _, err := decode(blob, 10<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("decode over limit = %v", err)
	}
	if _, err := decode(blob[:len(blob)/2], MaxBlobSize); err == nil {
		t.Fatal("truncated blob decoded")
	}
	m, err := decode(blob, MaxBlobSize)
	if err != nil || !maps.EqualFunc(m, in, bytes.Equal) {
		t.Fatalf("decode = %d, %v", len(m), err)
	}
	// Encoding stops at the cap instead of building an oversized blob.
	if _, _, err := encodeBlob(io.Discard, maps.All(in), noListings, 10<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("encode over limit = %v", err)
	}
}

func TestActionsStoreLoadRefusesOversizedBlob(t *testing.T) {
	old := MaxBlobSize
	MaxBlobSize = 64 << 10
	defer func() { MaxBlobSize = old }()
	ctx := context.Background()
	svc := mcachetest.NewCacheService(t)
	st, _ := ActionsFromEnv(svc.Env(true), "k", "acme")
	// A well-formed blob, stored uncompressed, past the cap.
	blob := gzipped(plainBlob(blobMagic, framesOf(randomManifests(t, 50, 1000)), nil), gzip.NoCompression)
	if int64(len(blob)) <= MaxBlobSize {
		t.Fatalf("blob is only %d bytes", len(blob))
	}
	if err := st.(*actionsStore).c.Save(ctx, "k-big", actionscache.NewBlob(blob)); err != nil {
		t.Fatal(err)
	}
	if _, err := load(ctx, st); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Load = %v, want ErrTooLarge", err)
	}
}

// The cache service hands out signed archive URLs, and go-actions-cache and
// net/http name the URL they failed on: a download error reaches the log
// without the signature.
func TestActionsStoreErrorsNameNoSignedURL(t *testing.T) {
	ctx := context.Background()
	svc := mcachetest.NewCacheService(t)
	st, _ := ActionsFromEnv(svc.Env(false), "k", "acme")
	if err := st.Save(ctx, usedCache(t, randomManifests(t, 2, 10))); err != nil {
		t.Fatal(err)
	}
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close()
	for name, fault := range map[string]func(){
		"refused":     func() { svc.FailDownloads(http.StatusForbidden) },
		"unreachable": func() { svc.FailDownloads(0); svc.DownloadFrom(deadURL) },
	} {
		t.Run(name, func(t *testing.T) {
			fault()
			st, _ := ActionsFromEnv(svc.Env(false), "k", "acme")
			_, err := load(ctx, st)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, "/v1download/") {
				t.Errorf("the error does not say what failed: %s", msg)
			}
			if strings.Contains(msg, "sig=") || strings.Contains(msg, "?") {
				t.Errorf("the error carries the signed URL's query: %s", msg)
			}
		})
	}
}

// noListings is an empty listing section.
var noListings iter.Seq2[string, []byte] = func(func(string, []byte) bool) {}

func discardListing(_ string, body io.Reader) error {
	_, err := io.Copy(io.Discard, body)
	return err
}

// frame is one frame of a decoded blob: a digest and its manifest, or a
// package and its listing.
type frame struct {
	name string
	body []byte
}

func framesOf(m map[string][]byte) []frame {
	var out []frame
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, frame{name, m[name]})
	}
	return out
}

// plainBlob frames a decoded blob by hand, the way a blob of any content
// looks (encodeBlob refuses to write what would not be served). A v1 blob
// has manifests alone and no end marks.
func plainBlob(magic string, manifests, listings []frame) []byte {
	b := []byte(magic)
	put := func(fs []frame) {
		for _, f := range fs {
			b = binary.AppendUvarint(b, uint64(len(f.name)))
			b = append(b, f.name...)
			b = binary.AppendUvarint(b, uint64(len(f.body)))
			b = append(b, f.body...)
		}
	}
	put(manifests)
	if magic == blobMagicV1 {
		return b
	}
	b = append(b, 0)
	put(listings)
	return append(b, 0)
}

func gzipped(plain []byte, level int) []byte {
	var blob bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&blob, level)
	zw.Write(plain)
	zw.Close()
	return blob.Bytes()
}

// decodeInto decodes blob, its manifests into a map and its listings into
// a ListingSet of Acme's, closed when the test ends.
func decodeInto(t testing.TB, blob []byte, limit int64) (map[string][]byte, *ListingSet, error) {
	ls := newListingSet("Acme", "test")
	t.Cleanup(func() { ls.Close() })
	manifests := map[string][]byte{}
	err := decodeBlob(bytes.NewReader(blob), limit, func(d string, raw []byte) { manifests[d] = raw }, ls.restore)
	return manifests, ls, err
}

// restoredPackages are the packages of the listings ls holds restored.
func restoredPackages(ls *ListingSet) []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return slices.Sorted(maps.Keys(ls.restored))
}

// listingJSON is a listing of Acme's pkg with n versions, as WriteListing
// writes it.
func listingJSON(t testing.TB, pkg string, n int) []byte {
	l := sampleListing()
	l.Package, l.VersionCount, l.Versions = pkg, n, nil
	for i := range n {
		l.Versions = append(l.Versions, ListedVersion{ID: int64(i + 1), Digest: digestOf(manifestN(i)), CreatedAt: l.UpdatedAt, UpdatedAt: l.UpdatedAt})
	}
	var buf bytes.Buffer
	if err := WriteListing(&buf, l); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBlobRoundTripWithListings(t *testing.T) {
	manifests := randomManifests(t, 10, 100)
	listings := map[string][]byte{"app": listingJSON(t, "app", 2), "team/app": listingJSON(t, "team/app", 3)}
	var buf bytes.Buffer
	kept, n, err := encodeBlob(&buf, maps.All(manifests), seqOf(framesOf(listings)), MaxBlobSize)
	if err != nil || len(kept) != 10 || n != 2 {
		t.Fatalf("encodeBlob = %d manifests, %d listings, %v", len(kept), n, err)
	}
	got, ls, err := decodeInto(t, buf.Bytes(), MaxBlobSize)
	if err != nil || !maps.EqualFunc(got, manifests, bytes.Equal) {
		t.Fatalf("decoded %d manifests, %v", len(got), err)
	}
	if pkgs := restoredPackages(ls); !slices.Equal(pkgs, []string{"app", "team/app"}) {
		t.Fatalf("restored listings of %v", pkgs)
	}
	if l, ok, err := ls.Load("team/app"); !ok || err != nil || len(l.Versions) != 3 {
		t.Fatalf("Load = %+v, %v, %v", l, ok, err)
	}

	// An earlier release's blob: its manifests are read, and no listing.
	got, ls, err = decodeInto(t, gzipped(plainBlob(blobMagicV1, framesOf(manifests), nil), gzip.BestSpeed), MaxBlobSize)
	if err != nil || len(got) != 10 || ls.Restored() != 0 {
		t.Fatalf("v1 blob: %d manifests, %d listings, %v", len(got), ls.Restored(), err)
	}

	// Listings go in package order, so that equal sets give equal blobs.
	unsorted := seqOf([]frame{{"b", listings["app"]}, {"a", listings["app"]}})
	if _, _, err := encodeBlob(io.Discard, noListings, unsorted, MaxBlobSize); err == nil {
		t.Fatal("listings out of order were encoded")
	}
}

func seqOf(fs []frame) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for _, f := range fs {
			if !yield(f.name, f.body) {
				return
			}
		}
	}
}

func TestBlobDecodeRefusesCorruptListings(t *testing.T) {
	manifests := framesOf(randomManifests(t, 2, 10))
	good := frame{"app", listingJSON(t, "app", 1)}
	tiny := func(n int) []frame {
		var fs []frame
		for i := range n {
			fs = append(fs, frame{fmt.Sprintf("p%06d", i), []byte("{}")})
		}
		return fs
	}
	withEnd := plainBlob(blobMagic, manifests, []frame{good})
	noEnd := withEnd[:len(withEnd)-1]
	claim := func(n uint64, body string) []byte {
		b := append(slices.Clone(noEnd), 2, 'z', 'z')
		return append(append(binary.AppendUvarint(b, n), body...), 0)
	}
	for name, plain := range map[string][]byte{
		"unknown version":         plainBlob("ghcr-prune manifest cache v3\n", manifests, nil),
		"v2 manifests to the end": append([]byte(blobMagic), plainBlob(blobMagicV1, manifests, nil)[len(blobMagicV1):]...),
		"listings without an end": noEnd,
		"data after the listings": append(slices.Clone(withEnd), 'x'),
		"out of order":            plainBlob(blobMagic, manifests, []frame{{"b", good.body}, {"a", good.body}}),
		"listed twice":            plainBlob(blobMagic, manifests, []frame{good, good}),
		"name too long":           plainBlob(blobMagic, manifests, []frame{{strings.Repeat("a", maxPackageName+1), good.body}}),
		"claims over the cap":     claim(maxListingSize+1, ""),
		"claims more than it has": claim(maxListingSize, "{}"),
		"too many":                plainBlob(blobMagic, nil, tiny(maxKeptListings+1)),
	} {
		_, ls, err := decodeInto(t, gzipped(plain, gzip.BestSpeed), MaxBlobSize)
		if err == nil {
			t.Errorf("%s: decoded", name)
		}
		if slices.Contains(restoredPackages(ls), "zz") {
			t.Errorf("%s: the listing cut short is held", name)
		}
	}
	// A listing may claim up to the cap, but only the bytes the blob holds
	// are ever held.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decodeInto(t, gzipped(claim(maxListingSize, "{}"), gzip.BestSpeed), MaxBlobSize)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("decoding a listing that claims %d bytes allocated %d", maxListingSize, grew)
	}
}

func TestBlobCapsListings(t *testing.T) {
	var many []frame
	for i := range maxKeptListings + 1 {
		many = append(many, frame{fmt.Sprintf("p%06d", i), []byte("{}")})
	}
	if _, _, err := encodeBlob(io.Discard, noListings, seqOf(many), MaxBlobSize); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("encoding %d listings = %v, want ErrTooLarge", len(many), err)
	}
	big := []frame{{"app", bytes.Repeat([]byte{'x'}, 20<<10)}}
	if _, _, err := encodeBlob(io.Discard, noListings, seqOf(big), 10<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("encoding past the limit = %v, want ErrTooLarge", err)
	}
	blob := gzipped(plainBlob(blobMagic, nil, big), gzip.BestSpeed)
	if _, _, err := decodeInto(t, blob, 10<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("decoding past the limit = %v, want ErrTooLarge", err)
	}
}

// A run keeps its listings in the entry with its manifests; the next run
// restores them and saves nothing while nothing changed; a listing that
// changed is saved even with no manifest new; a listing no run reads
// falls out.
func TestActionsStoreKeepsListings(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			ctx := context.Background()
			svc := mcachetest.NewCacheService(t)
			open := func() (ListingStore, *Cache) {
				st, err := ActionsFromEnv(svc.Env(v2), "k", "Acme")
				if err != nil {
					t.Fatal(err)
				}
				c, err := loadCache(t, st)
				if err != nil {
					t.Fatal(err)
				}
				return st, c
			}
			app, web := sampleListing(), sampleListing()
			app.Package, web.Package = "app", "team/web"

			st, c := open()
			for d, raw := range randomManifests(t, 3, 10) {
				c.Put(d, raw)
			}
			if err := errors.Join(st.Listings().Save(app), st.Listings().Save(web), st.Save(ctx, c)); err != nil {
				t.Fatal(err)
			}
			if keys := svc.Keys(); len(keys) != 1 {
				t.Fatalf("keys %v", keys)
			}

			st, c = open()
			if n := st.Listings().Restored(); n != 2 {
				t.Fatalf("restored %d listings, want 2", n)
			}
			for d := range c.Entries() {
				c.Get(d)
			}
			for _, pkg := range []string{"app", "team/web"} {
				if l, ok, err := st.Listings().Load(pkg); !ok || err != nil || l.Package != pkg || len(l.Versions) != 2 {
					t.Fatalf("Load(%s) = %+v, %v, %v", pkg, l, ok, err)
				}
			}
			if err := st.Save(ctx, c); err != nil || len(svc.Keys()) != 1 {
				t.Fatalf("an unchanged run saved: %v, keys %v", err, svc.Keys())
			}

			// Only app is read, and listed anew.
			st, c = open()
			for d := range c.Entries() {
				c.Get(d)
			}
			app.VersionCount++
			app.Versions = append(app.Versions, ListedVersion{ID: 3, Digest: digestOf(manifestN(3))})
			if err := errors.Join(st.Listings().Save(app), st.Save(ctx, c)); err != nil || len(svc.Keys()) != 2 {
				t.Fatalf("a changed listing was not saved: %v, keys %v", err, svc.Keys())
			}
			st, _ = open()
			if l, ok, err := st.Listings().Load("app"); !ok || err != nil || l.VersionCount != 3 {
				t.Fatalf("Load(app) = %+v, %v, %v", l, ok, err)
			}
			if _, ok, _ := st.Listings().Load("team/web"); ok || st.Listings().Restored() != 1 {
				t.Fatal("a listing no run read was kept")
			}

			// The owner's listings are another owner's nothing.
			other, _ := ActionsFromEnv(svc.Env(v2), "k", "someone")
			if err := other.Load(ctx, newCache(t, nil)); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := other.Listings().Load("app"); ok || err == nil {
				t.Fatalf("another owner's listing: %v, %v", ok, err)
			}
		})
	}
}

// Frames that decode are not trusted: a listing of another package, or
// one that does not parse, is refused when read, and not saved again.
func TestActionsStoreRefusesTamperedListings(t *testing.T) {
	ctx := context.Background()
	svc := mcachetest.NewCacheService(t)
	st, _ := ActionsFromEnv(svc.Env(true), "k", "Acme")
	listings := []frame{{"app", listingJSON(t, "other", 1)}, {"ok", listingJSON(t, "ok", 1)}, {"team/app", []byte(`{"format":1,`)}}
	blob := gzipped(plainBlob(blobMagic, nil, listings), gzip.BestSpeed)
	if err := st.(*actionsStore).c.Save(ctx, "k-tampered", actionscache.NewBlob(blob)); err != nil {
		t.Fatal(err)
	}
	c, err := loadCache(t, st)
	if err != nil || st.Listings().Restored() != 3 {
		t.Fatalf("Load = %d listings, %v", st.Listings().Restored(), err)
	}
	for _, pkg := range []string{"app", "team/app"} {
		if _, ok, err := st.Listings().Load(pkg); ok || err == nil {
			t.Errorf("Load(%s) = %v, %v; want it refused", pkg, ok, err)
		}
	}
	if _, ok, err := st.Listings().Load("ok"); !ok || err != nil {
		t.Fatalf("Load(ok) = %v, %v", ok, err)
	}
	for d, raw := range randomManifests(t, 1, 10) {
		c.Put(d, raw)
	}
	if err := st.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	again, _ := ActionsFromEnv(svc.Env(true), "k", "Acme")
	loadCache(t, again)
	if pkgs := restoredPackages(again.Listings()); !slices.Equal(pkgs, []string{"ok"}) {
		t.Fatalf("saved the listings of %v, want only ok", pkgs)
	}
}

// FuzzBlob hands decodeBlob any decoded blob. It never panics, and what a
// run would serve of it (the manifests that verify, the listings
// ReadListing accepts) encodes as a blob that decodes without an error to
// exactly that.
func FuzzBlob(f *testing.F) {
	reg, _ := newFakeRegistry(2)
	good := plainBlob(blobMagic, framesOf(reg.blobs), []frame{{"app", listingJSON(f, "app", 2)}, {"team/app", listingJSON(f, "team/app", 1)}})
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(plainBlob(blobMagicV1, framesOf(reg.blobs), nil))
	f.Add(plainBlob(blobMagic, nil, []frame{{"app", listingJSON(f, "other", 1)}}))
	f.Add([]byte(blobMagic + "\x00\x00"))
	f.Fuzz(func(t *testing.T, plain []byte) {
		manifests, ls, _ := decodeInto(t, gzipped(plain, gzip.NoCompression), 1<<20)
		served := map[string][]byte{}
		for d, raw := range manifests {
			if Verify(d, raw) {
				served[d] = raw
			}
		}
		listed := map[string]string{}
		for _, pkg := range restoredPackages(ls) {
			if l, ok, err := ls.Load(pkg); ok && err == nil {
				var buf bytes.Buffer
				WriteListing(&buf, l)
				listed[pkg] = buf.String()
			}
		}
		var blob bytes.Buffer
		if _, _, err := encodeBlob(&blob, maps.All(served), ls.all(), 1<<20); err != nil {
			t.Fatalf("encoding what was served: %v", err)
		}
		again, ls2, err := decodeInto(t, blob.Bytes(), 1<<20)
		if err != nil || !maps.EqualFunc(again, served, bytes.Equal) {
			t.Fatalf("decoded again %d manifests of %d, %v", len(again), len(served), err)
		}
		if pkgs := restoredPackages(ls2); !slices.Equal(pkgs, slices.Sorted(maps.Keys(listed))) {
			t.Fatalf("listings %v, want %v", pkgs, slices.Sorted(maps.Keys(listed)))
		}
		for pkg, want := range listed {
			l, ok, err := ls2.Load(pkg)
			var buf bytes.Buffer
			WriteListing(&buf, l)
			if !ok || err != nil || buf.String() != want {
				t.Fatalf("the listing of %q does not read back: %v", pkg, err)
			}
		}
	})
}
