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
package mcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// saved back to it. It is safe for concurrent use. The byte slices it hands
// out and takes in are shared, not copied: callers must not modify them
// (a modified entry would fail its digest check and be dropped).
type Cache struct {
	mu      sync.Mutex
	entries map[string][]byte
	used    map[string]bool
	flights map[string]*flight
	stats   Stats
}

type flight struct {
	done chan struct{}
	raw  []byte
	err  error
}

// New returns a Cache seeded with entries (typically from Store.Load). The
// entries are not verified here; each is checked against its digest when it
// is read.
func New(entries map[string][]byte) *Cache {
	m := make(map[string][]byte, len(entries))
	for d, raw := range entries {
		m[d] = raw
	}
	return &Cache{entries: m, used: map[string]bool{}, flights: map[string]*flight{}}
}

// Verify reports whether digest is a sha256 digest ("sha256:" and 64 lower
// case hex digits) of raw. Other algorithms are never cached.
func Verify(digest string, raw []byte) bool {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !validHex(hexPart) {
		return false
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]) == hexPart
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

// Get returns the manifest stored for digest, only if its bytes hash to that
// digest. A corrupt entry is dropped, counted, and reported as a miss.
func (c *Cache) Get(digest string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, ok := c.lookupLocked(digest)
	if ok {
		c.stats.Hits++
	} else {
		c.stats.Misses++
	}
	return raw, ok
}

// lookupLocked is Get without the hit/miss counting.
func (c *Cache) lookupLocked(digest string) ([]byte, bool) {
	raw, ok := c.entries[digest]
	if !ok {
		return nil, false
	}
	if !Verify(digest, raw) {
		delete(c.entries, digest)
		delete(c.used, digest)
		c.stats.Corrupt++
		return nil, false
	}
	c.used[digest] = true
	return raw, true
}

// Put stores raw under digest. Bytes that do not hash to digest are not
// stored: the cache never holds what it could not serve.
func (c *Cache) Put(digest string, raw []byte) {
	if !Verify(digest, raw) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(digest, raw)
}

func (c *Cache) putLocked(digest string, raw []byte) {
	if old, ok := c.entries[digest]; ok && Verify(digest, old) {
		c.used[digest] = true
		return
	}
	c.entries[digest] = raw
	c.used[digest] = true
	c.stats.Added++
}

// Entries returns every entry the cache holds (a new map sharing the byte
// slices), for Store.Save. Entries seeded but never read are included
// unverified; the stores verify before they write.
func (c *Cache) Entries() map[string][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]byte, len(c.entries))
	for d, raw := range c.entries {
		out[d] = raw
	}
	return out
}

// Used returns only the entries read or added during this run. Saving Used
// instead of Entries prunes the manifests of versions that no longer exist,
// but it also drops those of packages this run did not look at.
func (c *Cache) Used() map[string][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]byte, len(c.used))
	for d := range c.used {
		if raw, ok := c.entries[d]; ok {
			out[d] = raw
		}
	}
	return out
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
		for {
			c.mu.Lock()
			if raw, ok := c.lookupLocked(digest); ok {
				c.stats.Hits++
				c.mu.Unlock()
				return raw, nil
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

			c.mu.Lock()
			if f.err == nil && Verify(digest, f.raw) {
				c.putLocked(digest, f.raw)
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
	// Load returns the stored entries: an empty map when nothing is
	// stored yet.
	Load(ctx context.Context) (map[string][]byte, error)
	// Save stores entries for the next run.
	Save(ctx context.Context, entries map[string][]byte) error
	// String describes the store for the log.
	String() string
}
