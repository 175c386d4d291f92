package action

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/mcache"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// cachedClient is the GHCR client with manifests served from the cross-run
// cache: every manifest GET on ghcr.io counts as a package download, and
// public versions past 5000 downloads can never be deleted. Every other
// capability a run uses is the client's own, through the embedding.
type cachedClient struct {
	*ghcr.Client
	fetch mcache.FetchFunc
}

var _ prune.Registry = cachedClient{}

func newCachedClient(c *ghcr.Client, cache *mcache.Cache, w *writeBehind) cachedClient {
	fetch := c.Manifest
	if w != nil {
		fetch = func(ctx context.Context, pkg, digest string) ([]byte, error) {
			raw, err := c.Manifest(ctx, pkg, digest)
			if err == nil {
				w.add(digest, raw)
			}
			return raw, err
		}
	}
	return cachedClient{Client: c, fetch: mcache.Wrap(fetch, cache)}
}

// writeBehind persists fetched manifests in the background while the run
// waits on the registry, so a cold run does not spend seconds at its end
// writing thousands of files.
type writeBehind struct {
	store mcache.Adder
	queue chan fetched
	done  chan error
}

type fetched struct {
	digest string
	raw    []byte
}

func startWriteBehind(store mcache.Store) *writeBehind {
	a, ok := store.(mcache.Adder)
	if !ok {
		return nil
	}
	w := &writeBehind{store: a, queue: make(chan fetched, 256), done: make(chan error, 1)}
	go func() {
		var first error
		for e := range w.queue {
			if err := w.store.Add(e.digest, e.raw); err != nil && first == nil {
				first = err
			}
		}
		w.done <- first
	}()
	return w
}

func (w *writeBehind) add(digest string, raw []byte) { w.queue <- fetched{digest, raw} }

// wait stops the writer and returns its first error.
func (w *writeBehind) wait() error {
	if w == nil {
		return nil
	}
	close(w.queue)
	return <-w.done
}

func (c cachedClient) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	return c.fetch(ctx, pkg, digest)
}

// openCache loads the cross-run manifest cache: cache-dir when given, else
// the GitHub Actions cache when the runner exposes it, else none (manifests
// are still fetched at most once per run). A cache that cannot be read is a
// warning, never a failure. The manifests go to a temporary file, not the
// heap; saveCache closes it.
func openCache(ctx context.Context, a *Logger, dir, owner string, pkgs []string) (*mcache.Cache, mcache.Store) {
	var store mcache.Store
	if dir != "" {
		store = mcache.Dir(dir)
	} else {
		s, err := mcache.ActionsFromEnv(a.Getenv, cacheKey(owner, pkgs))
		if err != nil {
			a.Warningf("manifest cache: the GitHub Actions cache is not usable (%v); every manifest is fetched", err)
		}
		store = s
	}
	cache := mcache.New(nil)
	if store == nil {
		return cache, nil
	}
	if err := store.Load(ctx, cache.Seed); err != nil {
		a.Warningf("manifest cache: reading %s: %v; fetching what it would have held", store, err)
	}
	a.Infof("manifest cache: %d manifests from %s", cache.Len(), store)
	return cache, store
}

// saveCache keeps the manifests this run read or fetched, so manifests of
// deleted versions fall out of it, and closes the cache.
func saveCache(ctx context.Context, a *Logger, c *mcache.Cache, store mcache.Store, w *writeBehind) {
	defer func() {
		if err := c.Close(); err != nil {
			a.Warningf("manifest cache: %v", err)
		}
	}()
	st := c.Stats()
	a.Infof("manifest cache: %d hits, %d fetched, %d corrupt entries refetched", st.Hits, st.Misses, st.Corrupt)
	if err := c.Err(); err != nil {
		// No temporary file (manifests were held in memory), or one that
		// failed (manifests not kept there were fetched and are not saved).
		a.Warningf("manifest cache: %v", err)
	}
	if err := w.wait(); err != nil {
		a.Warningf("manifest cache: writing to %s: %v", store, err)
	}
	if store == nil {
		return
	}
	if err := store.Save(ctx, c.Used()); err != nil {
		a.Warningf("manifest cache: saving to %s: %v", store, err)
	}
}

// cacheKey names the Actions cache entry of one owner's set of packages.
func cacheKey(owner string, pkgs []string) string {
	sorted := slices.Clone(pkgs)
	slices.Sort(sorted)
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return "ghcr-prune-manifests-" + strings.ToLower(owner) + "-" + hex.EncodeToString(sum[:6])
}
