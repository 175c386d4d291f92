// Package mcache is the cross-run manifest cache.
//
// Every manifest GET on ghcr.io counts as a package download, and GitHub
// refuses to delete a public version with more than 5,000 downloads. A
// scheduled cleanup that fetched every manifest on every run would push its
// own versions past that line. Manifests are immutable by digest, so a run
// keeps the raw manifests it read in a Cache, saves them to a Store, and the
// next run fetches only digests it has never seen.
//
// Nothing read from a store is trusted: an entry is served only when the
// sha256 of its bytes equals its digest. A corrupt or tampered entry is
// dropped, counted and fetched again.
//
// The manifests themselves stay out of the Go heap: a Cache keeps a small
// record per digest and reads the bytes from the pack file a Dir store
// loaded, or from an unlinked temporary file for what it fetched or a
// streaming store handed in; the stores write entries out one at a time.
package mcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"sync"
)

// Stats counts what a Cache did during a run.
type Stats struct {
	Hits    int // lookups served from the cache
	Misses  int // lookups the cache could not serve (including corrupt entries)
	Corrupt int // entries whose bytes did not match their digest; dropped
	Added   int // entries new to the cache this run
}

// Cache holds raw manifests by digest for one run, seeded from a Store and
// saved back to it. It is safe for concurrent use.
//
// In memory a Cache keeps only a small record per digest (where its bytes
// are, when it was last used, whether this run used it). The bytes stay in
// the pack file a Dir store loaded, which the Cache keeps open and reads
// from, or go to a temporary file, unlinked as soon as it is created; either
// way they are read back and verified against the digest on every read.
// Byte slices are copied in and handed out fresh: callers may keep and
// modify them. Call Close when done.
type Cache struct {
	mu     sync.Mutex
	sp     spill // nil once closed
	spName string
	size   int64 // bytes appended to sp so far
	// entries are the digests held in sp: added this run, or seeded from
	// a store that streams its entries.
	entries map[dkey]entry
	// base are the entries of the pack a store handed over (adoptPack),
	// in digest order, their bytes in pack: a slice sorted once is a
	// smaller record per entry than a map, and already in the order Save
	// writes.
	pack     packSource
	base     []packed
	baseLive int // base entries not gone
	flights  map[string]*flight
	stats    Stats
	err      error // first spill or pack error
}

// dkey is a sha256 digest in binary: 32 bytes instead of a 71-byte string.
type dkey [sha256.Size]byte

func (k dkey) String() string { return "sha256:" + hex.EncodeToString(k[:]) }

func (k dkey) compare(o dkey) int { return bytes.Compare(k[:], o[:]) }

// parseDigest returns the key of a "sha256:" digest with 64 lower case hex
// digits, the only digests a Cache holds.
func parseDigest(digest string) (dkey, bool) {
	var k dkey
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !validHex(hexPart) {
		return k, false
	}
	hex.Decode(k[:], []byte(hexPart))
	return k, true
}

// entry locates one manifest in the spill file or the pack.
type entry struct {
	off  int64
	n    uint32
	day  day  // last used before this run, as the pack says; base entries only
	used bool // read or added this run
	gone bool // dropped (corrupt, or replaced by an added entry); base entries only
}

// packed is one entry of a pack, by its digest.
type packed struct {
	k dkey
	e entry
}

// packSource is the pack file a Cache reads its base entries from.
type packSource interface {
	io.ReaderAt
	io.Closer
}

// slot is where one held entry is: base[i] for i >= 0, else entries.
type slot struct {
	i   int
	e   entry
	src io.ReaderAt
}

type flight struct {
	done chan struct{}
	raw  []byte
	err  error
}

// spill is where a Cache keeps manifest bytes: a temporary file, or memory
// when no temporary file can be created.
type spill interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
}

// New returns a Cache, seeded with entries when they are given (see Seed).
// The bytes go to a temporary file in os.TempDir; if none can be created the
// Cache keeps them in memory instead and Err says why.
func New(entries map[string][]byte) *Cache {
	c := &Cache{entries: map[dkey]entry{}, flights: map[string]*flight{}}
	f, err := os.CreateTemp("", "ghcr-prune-manifests-*")
	if err != nil {
		c.err = fmt.Errorf("creating the manifest cache's temporary file: %w; holding manifests in memory", err)
		c.sp = &memSpill{}
	} else {
		c.sp = f
		// Unlinked now, the file goes away with the process however it
		// ends. Where an open file cannot be removed, Close removes it.
		if os.Remove(f.Name()) != nil {
			c.spName = f.Name()
		}
	}
	for d, raw := range entries {
		c.Seed(d, raw)
	}
	return c
}

// Verify reports whether digest is a sha256 digest ("sha256:" and 64 lower
// case hex digits) of raw. Other algorithms are never cached.
func Verify(digest string, raw []byte) bool {
	k, ok := parseDigest(digest)
	return ok && k.verify(raw)
}

func (k dkey) verify(raw []byte) bool {
	return sha256.Sum256(raw) == k
}

func validHex(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Seed adds an entry read from a store that streams its entries. The bytes
// are not verified here, only when they are read; they are copied, so raw
// may be reused. An entry already held, one whose digest is not a sha256
// digest and one over MaxEntrySize are ignored.
func (c *Cache) Seed(digest string, raw []byte) {
	k, ok := parseDigest(digest)
	if !ok || len(raw) > MaxEntrySize {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.findLocked(k); ok {
		return
	}
	if e, ok := c.appendLocked(raw); ok {
		c.entries[k] = e
	}
}

// adoptPack makes the entries of a pack the Cache's base: recs, in strictly
// increasing digest order, locate their bytes in src, which the Cache reads
// from until Close and then closes. An entry the Cache holds already is
// kept instead of the pack's. It is false, and src is left to the caller,
// when the Cache is closed or has a pack already.
func (c *Cache) adoptPack(src packSource, recs []packed) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sp == nil || c.pack != nil {
		return false
	}
	live := len(recs)
	for k := range c.entries {
		if i, ok := searchPacked(recs, k); ok {
			recs[i].e.gone = true
			live--
		}
	}
	c.pack, c.base, c.baseLive = src, recs, live
	return true
}

func searchPacked(recs []packed, k dkey) (int, bool) {
	return slices.BinarySearchFunc(recs, k, func(p packed, k dkey) int { return p.k.compare(k) })
}

// findLocked says where k is held, if it is.
func (c *Cache) findLocked(k dkey) (slot, bool) {
	if i, ok := searchPacked(c.base, k); ok && !c.base[i].e.gone {
		return slot{i, c.base[i].e, c.pack}, true
	}
	if e, ok := c.entries[k]; ok {
		return slot{-1, e, c.sp}, true
	}
	return slot{}, false
}

// appendLocked writes raw at the end of the spill file.
func (c *Cache) appendLocked(raw []byte) (entry, bool) {
	if c.sp == nil {
		return entry{}, false
	}
	if _, err := c.sp.WriteAt(raw, c.size); err != nil {
		c.noteErrLocked(fmt.Errorf("writing the manifest cache's temporary file: %w", err))
		return entry{}, false
	}
	e := entry{off: c.size, n: uint32(len(raw))}
	c.size += int64(len(raw))
	return e, true
}

func (c *Cache) noteErrLocked(err error) {
	if c.err == nil {
		c.err = err
	}
}

// read reads the bytes of k at s back and verifies them. A verified entry
// is marked used (and counted a hit when hit is set); a corrupt one is
// dropped and counted. It is called without c.mu held: entries are only
// ever appended, and the pack is never written, so the bytes do not move
// while they are read.
func (c *Cache) read(k dkey, s slot, hit bool) ([]byte, bool) {
	raw := make([]byte, s.e.n)
	_, err := s.src.ReadAt(raw, s.e.off)
	good := err == nil && k.verify(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.findLocked(k); ok && cur.i == s.i && cur.e.off == s.e.off {
		if good {
			c.markUsedLocked(k, cur)
		} else {
			c.dropLocked(k, cur)
			c.stats.Corrupt++
			if err != nil {
				c.noteErrLocked(fmt.Errorf("reading the manifest cache: %w", err))
			}
		}
	}
	if !good {
		return nil, false
	}
	if hit {
		c.stats.Hits++
	}
	return raw, true
}

func (c *Cache) markUsedLocked(k dkey, s slot) {
	if s.i >= 0 {
		c.base[s.i].e.used = true
		return
	}
	s.e.used = true
	c.entries[k] = s.e
}

func (c *Cache) dropLocked(k dkey, s slot) {
	if s.i >= 0 {
		c.base[s.i].e.gone = true
		c.baseLive--
		return
	}
	delete(c.entries, k)
}

// Get returns the manifest stored for digest, only if its bytes hash to that
// digest. A corrupt entry is dropped, counted, and reported as a miss.
func (c *Cache) Get(digest string) ([]byte, bool) {
	k, ok := parseDigest(digest)
	c.mu.Lock()
	s, held := c.findLocked(k)
	if !ok || !held {
		c.stats.Misses++
		c.mu.Unlock()
		return nil, false
	}
	c.mu.Unlock()
	if raw, ok := c.read(k, s, true); ok {
		return raw, true
	}
	c.mu.Lock()
	c.stats.Misses++
	c.mu.Unlock()
	return nil, false
}

// Put stores raw under digest. Bytes that do not hash to digest are not
// stored: the cache never holds what it could not serve.
func (c *Cache) Put(digest string, raw []byte) {
	k, ok := parseDigest(digest)
	if !ok || len(raw) > MaxEntrySize || !k.verify(raw) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, raw)
}

// putLocked stores raw, which has been verified against k.
func (c *Cache) putLocked(k dkey, raw []byte) {
	if s, ok := c.findLocked(k); ok {
		if s.e.used {
			return // verified this run, and verified again on every read
		}
		held := make([]byte, s.e.n)
		if _, err := s.src.ReadAt(held, s.e.off); err == nil && k.verify(held) {
			c.markUsedLocked(k, s)
			return
		}
		c.dropLocked(k, s)
	}
	if e, ok := c.appendLocked(raw); ok {
		e.used = true
		c.entries[k] = e
		c.stats.Added++
	}
}

// Entries returns every entry the cache holds, in digest order, reading
// each back as it goes. Entries seeded but never read are included
// unverified; stores verify before they write. Each slice is fresh. It may
// be ranged over more than once.
func (c *Cache) Entries() iter.Seq2[string, []byte] { return c.all(false) }

// Used is Entries restricted to the entries read or added during this run.
// Saving Used instead of Entries prunes the manifests of versions that no
// longer exist, but it also drops those of packages this run did not look
// at.
func (c *Cache) Used() iter.Seq2[string, []byte] { return c.all(true) }

func (c *Cache) all(usedOnly bool) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		v := c.view()
		for h := range v.all() {
			if usedOnly && !h.e.used {
				continue
			}
			raw, err := h.bytes()
			if err != nil {
				c.mu.Lock()
				c.noteErrLocked(fmt.Errorf("reading the manifest cache: %w", err))
				c.mu.Unlock()
				continue
			}
			if !yield(h.k.String(), raw) {
				return
			}
		}
	}
}

// view is what a Cache holds at one moment, to go through in digest order
// (for a Save) without holding c.mu: the added keys sorted once, and the
// base, whose flags are read as each entry is reached.
type view struct {
	c      *Cache
	added  []dkey
	base   []packed
	pack   io.ReaderAt
	spill  io.ReaderAt
	closed bool
}

// held is one entry of a view.
type held struct {
	k      dkey
	e      entry
	inPack bool        // a base entry: its day is the pack's
	src    io.ReaderAt // where its bytes are
}

func (c *Cache) view() *view {
	c.mu.Lock()
	defer c.mu.Unlock()
	added := make([]dkey, 0, len(c.entries))
	for k := range c.entries {
		added = append(added, k)
	}
	slices.SortFunc(added, dkey.compare)
	return &view{c: c, added: added, base: c.base, pack: c.pack, spill: c.sp, closed: c.sp == nil}
}

// all yields the entries of v, base and added merged, in digest order,
// with their state as it is when each is reached. It may be ranged over
// more than once.
func (v *view) all() iter.Seq[held] {
	return func(yield func(held) bool) {
		if v.closed {
			return
		}
		i, j := 0, 0
		for i < len(v.base) || j < len(v.added) {
			var h held
			var ok bool
			if j == len(v.added) || (i < len(v.base) && v.base[i].k.compare(v.added[j]) < 0) {
				h, ok = v.baseAt(i)
				i++
			} else {
				h, ok = v.addedAt(j)
				j++
			}
			if ok && !yield(h) {
				return
			}
		}
	}
}

func (v *view) baseAt(i int) (held, bool) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	e := v.base[i].e
	return held{k: v.base[i].k, e: e, inPack: true, src: v.pack}, !e.gone
}

func (v *view) addedAt(j int) (held, bool) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	e, ok := v.c.entries[v.added[j]]
	return held{k: v.added[j], e: e, src: v.spill}, ok
}

// bytes reads h's bytes into a new slice, unverified.
func (h held) bytes() ([]byte, error) {
	raw := make([]byte, h.e.n)
	if _, err := h.src.ReadAt(raw, h.e.off); err != nil {
		return nil, err
	}
	return raw, nil
}

// Len is the number of entries held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries) + c.baseLive
}

// Stats returns the counters so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Err returns the first error the spill file or the pack gave, if any: no
// temporary file (the Cache then holds the bytes in memory), or one that
// could not be written or read (those entries are not kept, and are
// fetched again).
func (c *Cache) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close releases the spill file and the pack. The Cache is empty
// afterwards: Get misses, Put and Seed do nothing, and a Wrap around it
// fetches every time.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sp == nil {
		return nil
	}
	err := c.sp.Close()
	if c.spName != "" {
		err = errors.Join(err, os.Remove(c.spName))
	}
	if c.pack != nil {
		err = errors.Join(err, c.pack.Close())
	}
	c.sp, c.size, c.pack, c.base, c.baseLive = nil, 0, nil, nil, 0
	clear(c.entries)
	return err
}

// FetchFunc fetches the raw manifest of digest in package pkg.
type FetchFunc = func(ctx context.Context, pkg, digest string) ([]byte, error)

// Wrap returns fetch behind the cache: a digest the cache holds (and that
// verifies) is served without calling fetch; otherwise fetch is called and a
// result that matches its digest is stored. Concurrent calls for the same
// digest share one fetch, so each digest is fetched at most once while
// fetches succeed. Fetched bytes that do not match the digest are returned
// as fetched (the caller decides what a mismatch means) but never cached.
func Wrap(fetch FetchFunc, c *Cache) FetchFunc {
	return func(ctx context.Context, pkg, digest string) ([]byte, error) {
		k, valid := parseDigest(digest)
		for {
			c.mu.Lock()
			if s, ok := c.findLocked(k); valid && ok {
				c.mu.Unlock()
				if raw, ok := c.read(k, s, true); ok {
					return raw, nil
				}
				continue // dropped as corrupt: look again, then fetch
			}
			if f, ok := c.flights[digest]; ok {
				c.mu.Unlock()
				select {
				case <-f.done:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				if f.err != nil && isContextErr(f.err) && ctx.Err() == nil {
					// The leader gave up for its own reasons; try again.
					continue
				}
				return f.raw, f.err
			}
			c.stats.Misses++
			f := &flight{done: make(chan struct{})}
			c.flights[digest] = f
			c.mu.Unlock()

			f.raw, f.err = fetch(ctx, pkg, digest)
			good := f.err == nil && valid && len(f.raw) <= MaxEntrySize && k.verify(f.raw)

			c.mu.Lock()
			if good {
				c.putLocked(k, f.raw)
			}
			delete(c.flights, digest)
			c.mu.Unlock()
			close(f.done)
			return f.raw, f.err
		}
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Store persists a Cache between runs. Errors from Load and Save mean only
// that the cache is unavailable: log them as warnings and run without it.
type Store interface {
	// Load seeds c with the stored entries, unverified (c verifies each
	// when it is read). Nothing stored yet is not an error. After an
	// error, the entries already seeded are still usable.
	Load(ctx context.Context, c *Cache) error
	// Save stores what the next run needs of c; each store decides what
	// that is (see Dir and Actions). It writes only entries that verify,
	// in digest order, so that equal sets are stored alike.
	Save(ctx context.Context, c *Cache) error
	// String describes the store for the log.
	String() string
}

// memSpill is a spill in memory, for when no temporary file can be made.
type memSpill struct {
	mu sync.RWMutex
	b  []byte
}

func (m *memSpill) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memSpill) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memSpill) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b = nil
	return nil
}
