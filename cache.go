package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/mcache"
)

// cachedClient is the GHCR client with manifests served from the cross-run
// cache: every manifest GET on ghcr.io counts as a package download, and
// public versions past 5000 downloads can never be deleted.
type cachedClient struct {
	*ghcr.Client
	fetch mcache.FetchFunc
}

func (c cachedClient) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	return c.fetch(ctx, pkg, digest)
}

// openCache loads the cross-run manifest cache: cache-dir when given, else
// the GitHub Actions cache when the runner exposes it, else none (manifests
// are still fetched at most once per run). A cache that cannot be read is a
// warning, never a failure.
func openCache(ctx context.Context, a *githubactions.Action, dir, owner string, pkgs []string) (*mcache.Cache, mcache.Store) {
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
	if store == nil {
		return mcache.New(nil), nil
	}
	entries, err := store.Load(ctx)
	if err != nil {
		a.Warningf("manifest cache: reading %s: %v; fetching what it would have held", store, err)
	}
	a.Infof("manifest cache: %d manifests from %s", len(entries), store)
	return mcache.New(entries), store
}

// saveCache keeps the manifests this run read or fetched, so manifests of
// deleted versions fall out of it.
func saveCache(ctx context.Context, a *githubactions.Action, c *mcache.Cache, store mcache.Store) {
	st := c.Stats()
	a.Infof("manifest cache: %d hits, %d fetched, %d corrupt entries refetched", st.Hits, st.Misses, st.Corrupt)
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
