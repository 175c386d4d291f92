package mcache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"
)

// packBytes is the pack writePack writes for recs.
func packBytes(f *testing.F, recs ...rec) []byte {
	path := f.TempDir()
	writePack(f, path, recs...)
	raw, err := os.ReadFile(packOf(path))
	if err != nil {
		f.Fatal(err)
	}
	return raw
}

// FuzzPack hands Load any pack file. Load never panics, the Cache never
// serves bytes that do not match their digest, and what it served, with one
// entry added, Save writes as a pack that loads again without an error and
// holds exactly that.
func FuzzPack(f *testing.F) {
	reg, ds := newFakeRegistry(3)
	good := packBytes(f, recsOf(reg, ds, today())...)
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add(append(slices.Clone(good), 0))
	tampered := recsOf(reg, ds, today()-40)
	tampered[1].raw = []byte("{}")
	f.Add(packBytes(f, tampered...))
	f.Add(packBytes(f))
	f.Add([]byte(packMagic))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ctx := context.Background()
		path := t.TempDir()
		if err := os.WriteFile(packOf(path), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		st := Dir(path)
		c, _ := loadCache(t, st)
		if c.Len() > len(raw)/packRecordLen {
			t.Fatalf("%d entries from %d bytes", c.Len(), len(raw))
		}
		served := map[string]bool{}
		for d := range c.Entries() {
			if got, ok := c.Get(d); ok {
				if digestOf(got) != d {
					t.Fatalf("served %s for %q", d, got)
				}
				served[d] = true
			}
		}
		extra := manifestN(-1)
		c.Put(digestOf(extra), extra)
		served[digestOf(extra)] = true
		if err := st.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		again, err := load(ctx, Dir(path))
		if err != nil {
			t.Fatalf("the pack Save wrote does not load: %v", err)
		}
		if len(again) != len(served) {
			t.Fatalf("saved %d entries, want %d", len(again), len(served))
		}
		for d, raw := range again {
			if !served[d] || digestOf(raw) != d {
				t.Fatalf("saved %s, which was not served", d)
			}
		}
	})
}

// discardAt is a packFile that keeps nothing.
type discardAt struct{}

func (discardAt) Write(p []byte) (int, error)            { return len(p), nil }
func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// The caps hold on both sides: a pack is neither written nor read past
// them, and a count the file cannot hold sizes nothing.
func TestPackCaps(t *testing.T) {
	w, _ := newPackWriter(discardAt{})
	var k dkey
	for i := range maxPackEntries {
		binary.BigEndian.PutUint32(k[:], uint32(i))
		if err := w.add(k, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	binary.BigEndian.PutUint32(k[:], maxPackEntries)
	if err := w.add(k, 0, nil); !errors.Is(err, ErrPackTooLarge) {
		t.Fatalf("add past the entry cap = %v", err)
	}
	if err := w.add(k, 0, make([]byte, MaxEntrySize+1)); err == nil {
		t.Fatal("an oversized entry was written")
	}

	if _, err := scanPack(bytes.NewReader(nil), maxPackSize+1); !errors.Is(err, ErrPackTooLarge) {
		t.Fatalf("scanPack past the size cap = %v", err)
	}
	header := binary.BigEndian.AppendUint32([]byte(packMagic), maxPackEntries)
	p, err := scanPack(bytes.NewReader(header), int64(len(header)))
	if err != nil || p.capacity() != 0 {
		t.Fatalf("scanPack = %v, capacity %d", err, p.capacity())
	}
	if _, ok := p.next(); ok || p.end() == nil {
		t.Fatal("a record read from a header alone")
	}
}
