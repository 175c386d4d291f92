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

func newCachedClient(c *ghcr.Client, cache *mcache.Cache) cachedClient {
	return cachedClient{Client: c, fetch: mcache.Wrap(c.Manifest, cache)}
}

func (c cachedClient) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	return c.fetch(ctx, pkg, digest)
}

// openCache loads the cross-run manifest cache: cache-dir when given, else
// the GitHub Actions cache when the runner exposes it, else none (manifests
// are still fetched at most once per run). The Actions cache also holds
// the package listings of a run without cache-dir: they are handed to the
// run's keptListings. A cache that cannot be read is a warning, never a
// failure. The manifests go to a temporary file, not the heap; saveCache
// closes it.
func openCache(ctx context.Context, a *Logger, dir, owner string, pkgs []string, kept *keptListings) (*mcache.Cache, mcache.Store) {
	var store mcache.Store
	if dir != "" {
		store = mcache.Dir(dir)
	} else {
		s, err := mcache.ActionsFromEnv(a.Getenv, cacheKey(owner, pkgs), owner)
		if err != nil {
			a.Warningf("manifest cache: the GitHub Actions cache is not usable (%v); every manifest is fetched", err)
		}
		store = s
	}
	cache := mcache.New(nil)
	if store == nil {
		return cache, nil
	}
	if err := store.Load(ctx, cache); err != nil {
		a.Warningf("manifest cache: reading %s: %v; fetching what it would have held", store, err)
	}
	ls, ok := store.(mcache.ListingStore)
	if !ok || kept == nil {
		a.Infof("manifest cache: %d manifests from %s", cache.Len(), store)
		return cache, store
	}
	kept.store = ls.Listings()
	a.Infof("manifest cache: %d manifests and %d package listings from %s", cache.Len(), ls.Listings().Restored(), store)
	return cache, store
}

// saveCache saves what the next run needs of the cache (the store decides:
// see mcache.Dir and mcache.Actions) and closes the cache.
func saveCache(ctx context.Context, a *Logger, c *mcache.Cache, store mcache.Store) {
	defer func() {
		if err := c.Close(); err != nil {
			a.Warningf("manifest cache: %v", err)
		}
		if ls, ok := store.(mcache.ListingStore); ok {
			if err := ls.Listings().Close(); err != nil {
				a.Warningf("package listings: %v", err)
			}
		}
	}()
	st := c.Stats()
	a.Infof("manifest cache: %d hits, %d fetched, %d corrupt entries refetched", st.Hits, st.Misses, st.Corrupt)
	if err := c.Err(); err != nil {
		// No temporary file (manifests were held in memory), or one that
		// failed (manifests not kept there were fetched and are not saved).
		a.Warningf("manifest cache: %v", err)
	}
	if store == nil {
		return
	}
	if err := store.Save(ctx, c); err != nil {
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
