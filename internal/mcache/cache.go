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
// record per digest and the bytes in an unlinked temporary file, and the
// stores stream entries in and out one at a time.
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
// are and whether this run used it); the bytes are appended to a temporary
// file, unlinked as soon as it is created, and read back and verified
// against the digest on every read. Byte slices are copied in and handed
// out fresh: callers may keep and modify them. Call Close when done.
type Cache struct {
	mu      sync.Mutex
	sp      spill // nil once closed
	spName  string
	size    int64 // bytes appended to sp so far
	entries map[dkey]entry
	flights map[string]*flight
	stats   Stats
	err     error // first spill error
}

// dkey is a sha256 digest in binary: 32 bytes instead of a 71-byte string.
type dkey [sha256.Size]byte

func (k dkey) String() string { return "sha256:" + hex.EncodeToString(k[:]) }

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

// entry locates one manifest in the spill file.
type entry struct {
	off  int64
	n    uint32
	used bool // read or added this run
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

// Seed adds an entry read from a Store (it is the put function to hand
// Store.Load). The bytes are not verified here, only when they are read;
// they are copied, so raw may be reused. An entry already held, one whose
// digest is not a sha256 digest and one over MaxEntrySize are ignored.
func (c *Cache) Seed(digest string, raw []byte) {
	k, ok := parseDigest(digest)
	if !ok || len(raw) > MaxEntrySize {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return
	}
	if e, ok := c.appendLocked(raw); ok {
		c.entries[k] = e
	}
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

// read reads e's bytes back and verifies them against k. A verified entry
// is marked used (and counted a hit when hit is set); a corrupt one is
// dropped and counted. It is called without c.mu held: entries are only
// ever appended, so e's bytes do not move while they are read.
func (c *Cache) read(k dkey, e entry, sp spill, hit bool) ([]byte, bool) {
	raw := make([]byte, e.n)
	_, err := sp.ReadAt(raw, e.off)
	good := err == nil && k.verify(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.entries[k]; ok && cur.off == e.off {
		if good {
			cur.used = true
			c.entries[k] = cur
		} else {
			delete(c.entries, k)
			c.stats.Corrupt++
			if err != nil {
				c.noteErrLocked(fmt.Errorf("reading the manifest cache's temporary file: %w", err))
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

// Get returns the manifest stored for digest, only if its bytes hash to that
// digest. A corrupt entry is dropped, counted, and reported as a miss.
func (c *Cache) Get(digest string) ([]byte, bool) {
	k, ok := parseDigest(digest)
	c.mu.Lock()
	e, held := c.entries[k]
	sp := c.sp
	if !ok || !held {
		c.stats.Misses++
		c.mu.Unlock()
		return nil, false
	}
	c.mu.Unlock()
	if raw, ok := c.read(k, e, sp, true); ok {
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
	if e, ok := c.entries[k]; ok {
		if e.used {
			return // verified this run, and verified again on every read
		}
		if held := make([]byte, e.n); c.sp != nil {
			if _, err := c.sp.ReadAt(held, e.off); err == nil && k.verify(held) {
				e.used = true
				c.entries[k] = e
				return
			}
		}
	}
	if e, ok := c.appendLocked(raw); ok {
		e.used = true
		c.entries[k] = e
		c.stats.Added++
	} else {
		delete(c.entries, k)
	}
}

// Entries returns every entry the cache holds, in digest order, reading
// each back from the spill file as it goes; for Store.Save. Entries seeded
// but never read are included unverified; the stores verify before they
// write. Each slice is fresh. It may be ranged over more than once.
func (c *Cache) Entries() iter.Seq2[string, []byte] { return c.all(false) }

// Used is Entries restricted to the entries read or added during this run.
// Saving Used instead of Entries prunes the manifests of versions that no
// longer exist, but it also drops those of packages this run did not look
// at.
func (c *Cache) Used() iter.Seq2[string, []byte] { return c.all(true) }

func (c *Cache) all(usedOnly bool) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		type item struct {
			k dkey
			e entry
		}
		c.mu.Lock()
		items := make([]item, 0, len(c.entries))
		for k, e := range c.entries {
			if e.used || !usedOnly {
				items = append(items, item{k, e})
			}
		}
		sp := c.sp
		c.mu.Unlock()
		slices.SortFunc(items, func(a, b item) int { return bytes.Compare(a.k[:], b.k[:]) })
		for _, it := range items {
			raw := make([]byte, it.e.n)
			if _, err := sp.ReadAt(raw, it.e.off); err != nil {
				c.mu.Lock()
				c.noteErrLocked(fmt.Errorf("reading the manifest cache's temporary file: %w", err))
				c.mu.Unlock()
				continue
			}
			if !yield(it.k.String(), raw) {
				return
			}
		}
	}
}

// Len is the number of entries held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Stats returns the counters so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Err returns the first error the spill file gave, if any: no temporary
// file (the Cache then holds the bytes in memory), or one that could not be
// written or read (those entries are not kept, and are fetched again).
func (c *Cache) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close releases the spill file. The Cache is empty afterwards: Get misses,
// Put and Seed do nothing, and a Wrap around it fetches every time.
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
	c.sp, c.size = nil, 0
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
			if e, ok := c.entries[k]; valid && ok {
				sp := c.sp
				c.mu.Unlock()
				if raw, ok := c.read(k, e, sp, true); ok {
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

// Adder is a Store that can take manifests one at a time as they are
// fetched (a directory can; a single cache blob cannot).
type Adder interface {
	Add(digest string, raw []byte) error
}

// Store persists a Cache between runs. Errors from Load and Save mean only
// that the cache is unavailable: log them as warnings and run without it.
type Store interface {
	// Load passes each stored entry to put, one at a time, unverified
	// (Cache.Seed verifies each when it is read). put may keep raw. Nothing
	// stored yet is not an error. After an error, the entries already
	// passed to put are still usable: each is verified when it is read.
	Load(ctx context.Context, put func(digest string, raw []byte)) error
	// Save stores entries for the next run. It writes only entries that
	// verify, and may range over entries more than once (Cache.Used and
	// Cache.Entries allow that); entries in digest order give equal
	// stored sets equal contents.
	Save(ctx context.Context, entries iter.Seq2[string, []byte]) error
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
