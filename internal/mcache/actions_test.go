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
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"

	actionscache "github.com/tonistiigi/go-actions-cache"
)

func TestActionsFromEnvWithoutToken(t *testing.T) {
	st, err := ActionsFromEnv(func(string) string { return "" }, "k")
	if st != nil || err != nil {
		t.Fatalf("ActionsFromEnv = %v, %v", st, err)
	}
}

func TestActionsFromEnvErrors(t *testing.T) {
	tok := runtimeToken(t)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := map[string]map[string]string{
		"no v2 url":     {"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_CACHE_SERVICE_V2": "true", "ACTIONS_CACHE_URL": "http://x/"},
		"no v1 url":     {"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_RESULTS_URL": "http://x/"},
		"bad force":     {"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_CACHE_API_FORCE_VERSION": "v3", "ACTIONS_CACHE_URL": "http://x/"},
		"garbage token": {"ACTIONS_RUNTIME_TOKEN": "not-a-jwt", "ACTIONS_CACHE_URL": "http://x/"},
	}
	for name, m := range cases {
		if st, err := ActionsFromEnv(env(m), "k"); err == nil {
			t.Errorf("%s: got %v, want an error", name, st)
		}
	}
	st, err := ActionsFromEnv(env(map[string]string{
		"ACTIONS_RUNTIME_TOKEN": tok, "ACTIONS_CACHE_API_FORCE_VERSION": "v2", "ACTIONS_RESULTS_URL": "http://x/",
	}), "ghcr-prune-manifests-o-p")
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
			svc := newFakeCacheService(t)
			const key = "ghcr-prune-manifests-owner-pkg"
			prefix := map[bool]string{false: "v1.", true: "v2."}[v2]

			// Run 1: nothing stored yet.
			st, err := ActionsFromEnv(svc.env(v2), key)
			if err != nil || st == nil {
				t.Fatalf("ActionsFromEnv: %v, %v", st, err)
			}
			c, err := loadCache(t, st)
			if err != nil || c.Len() != 0 {
				t.Fatalf("Load on empty = %d, %v", c.Len(), err)
			}
			reg, ds := newFakeRegistry(30)
			get := Wrap(reg.fetch, c)
			for _, d := range ds {
				if _, err := get(ctx, "pkg", d); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Save(ctx, c); err != nil {
				t.Fatalf("Save: %v", err)
			}
			keys := svc.keys()
			if len(keys) != 1 || !strings.HasPrefix(keys[0], key+"-") {
				t.Fatalf("stored keys %v", keys)
			}

			// Run 2 ("a new run"): everything comes back, nothing is fetched,
			// and with nothing added nothing is saved.
			st2, _ := ActionsFromEnv(svc.env(v2), key)
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
			reserves := svc.callCount(prefix+"reserve") + svc.callCount(prefix+"CreateCacheEntry")
			if err := st2.Save(ctx, c2); err != nil {
				t.Fatal(err)
			}
			if n := svc.callCount(prefix+"reserve") + svc.callCount(prefix+"CreateCacheEntry"); n != reserves {
				t.Fatal("Save with nothing added reached the service")
			}

			// Run 3 adds a digest and a big batch (over azblob's 1 MiB block,
			// so v2 stages blocks; over v1's chunking it is one chunk): a new
			// entry, which run 4 restores as the newest.
			big := randomManifests(t, 700, 1500)
			st3, _ := ActionsFromEnv(svc.env(v2), key)
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
			if v2 && svc.callCount("azure.PutBlock") < 2 {
				t.Fatalf("expected staged blocks, calls %v", svc.calls)
			}
			st4, _ := ActionsFromEnv(svc.env(v2), key)
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
			st5, _ := ActionsFromEnv(svc.env(v2), key)
			if err := st5.Save(ctx, usedCache(t, entries)); err != nil {
				t.Fatalf("Save of an existing set: %v", err)
			}
			if got := len(svc.keys()); got != 2 {
				t.Fatalf("%d keys stored, want 2", got)
			}

			t.Logf("calls: %v", svc.calls)
			// Another key's entries are not restored.
			other, _ := ActionsFromEnv(svc.env(v2), key+"x")
			if entries, err := load(ctx, other); err != nil || len(entries) != 0 {
				t.Fatalf("other key Load = %d, %v", len(entries), err)
			}
		})
	}
}

func TestActionsStoreTamperedBlobEntryIsRefetched(t *testing.T) {
	ctx := context.Background()
	svc := newFakeCacheService(t)
	reg, ds := newFakeRegistry(3)
	seed := maps.Clone(reg.blobs)
	seed[ds[0]] = []byte("tampered")
	// encodeBlob refuses to write a mismatched entry, so frame the blob by
	// hand the way a tampered cache entry would look.
	var plain bytes.Buffer
	plain.WriteString(blobMagic)
	for d, raw := range seed {
		plain.Write(binary.AppendUvarint(nil, uint64(len(d))))
		plain.WriteString(d)
		plain.Write(binary.AppendUvarint(nil, uint64(len(raw))))
		plain.Write(raw)
	}
	var blob bytes.Buffer
	zw := gzip.NewWriter(&blob)
	zw.Write(plain.Bytes())
	zw.Close()
	st, _ := ActionsFromEnv(svc.env(true), "k")
	if err := st.(*actionsStore).c.Save(ctx, "k-tampered", actionscache.NewBlob(blob.Bytes())); err != nil {
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
	svc := newFakeCacheService(t)
	svc.failAll = http.StatusInternalServerError
	for _, v2 := range []bool{false, true} {
		st, err := ActionsFromEnv(svc.env(v2), "k")
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
	svc := newFakeCacheService(t)
	st, _ := ActionsFromEnv(svc.env(true), "k")
	err := st.Save(context.Background(), usedCache(t, randomManifests(t, 100, 1000)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save = %v, want ErrTooLarge", err)
	}
	if len(svc.keys()) != 0 {
		t.Fatal("something was stored")
	}
}

func TestBlobDecodeRejectsGarbageAndBombs(t *testing.T) {
	decode := func(blob []byte, limit int64) (map[string][]byte, error) {
		out := map[string][]byte{}
		err := decodeBlob(bytes.NewReader(blob), limit, func(d string, raw []byte) { out[d] = raw })
		return out, err
	}
	if _, err := decode([]byte("not gzip"), MaxBlobSize); err == nil {
		t.Fatal("garbage decoded")
	}
	in := randomManifests(t, 50, 1000)
	var buf bytes.Buffer
	kept, err := encodeBlob(&buf, maps.All(in), MaxBlobSize)
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
	if _, err := encodeBlob(io.Discard, maps.All(in), 10<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("encode over limit = %v", err)
	}
}

func TestActionsStoreLoadRefusesOversizedBlob(t *testing.T) {
	old := MaxBlobSize
	MaxBlobSize = 64 << 10
	defer func() { MaxBlobSize = old }()
	ctx := context.Background()
	svc := newFakeCacheService(t)
	st, _ := ActionsFromEnv(svc.env(true), "k")
	// A well-formed blob, stored uncompressed, past the cap.
	var plain bytes.Buffer
	plain.WriteString(blobMagic)
	for d, raw := range randomManifests(t, 50, 1000) {
		plain.Write(binary.AppendUvarint(nil, uint64(len(d))))
		plain.WriteString(d)
		plain.Write(binary.AppendUvarint(nil, uint64(len(raw))))
		plain.Write(raw)
	}
	var blob bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&blob, gzip.NoCompression)
	zw.Write(plain.Bytes())
	zw.Close()
	if int64(blob.Len()) <= MaxBlobSize {
		t.Fatalf("blob is only %d bytes", blob.Len())
	}
	if err := st.(*actionsStore).c.Save(ctx, "k-big", actionscache.NewBlob(blob.Bytes())); err != nil {
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
	svc := newFakeCacheService(t)
	st, _ := ActionsFromEnv(svc.env(false), "k")
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
		"refused":     func() { svc.failDownload = http.StatusForbidden },
		"unreachable": func() { svc.failDownload, svc.downloadBase = 0, deadURL },
	} {
		t.Run(name, func(t *testing.T) {
			svc.mu.Lock()
			fault()
			svc.mu.Unlock()
			st, _ := ActionsFromEnv(svc.env(false), "k")
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
