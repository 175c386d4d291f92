package action

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/internal/mcache"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// resolvePackages expands wildcards (or, with regex, regexes) over the
// owner's packages and checks that every package named outright exists,
// before anything is read. infos holds what the owner's package listing
// said of each package, when a wildcard had the run list them.
func resolvePackages(ctx context.Context, c *ghcr.Client, entries []string, regex bool) (out []string, infos map[string]ghcr.PackageInfo, err error) {
	var all []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !regex && !strings.ContainsAny(e, "*?") {
			if err := c.CheckPackage(ctx, e); err != nil {
				return nil, nil, err
			}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
			continue
		}
		if all == nil {
			listed, err := c.PackageInfos(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("packages: %w", err)
			}
			all, infos = []string{}, make(map[string]ghcr.PackageInfo, len(listed))
			for _, p := range listed {
				all = append(all, p.Name)
				infos[p.Name] = p
			}
		}
		pat, err := retention.ParsePatterns(e, regex)
		if err != nil {
			return nil, nil, fmt.Errorf("packages: %w", err)
		}
		matched := false
		for _, p := range all {
			if pat.MatchTag(p) {
				matched = true
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
		if !matched {
			return nil, nil, fmt.Errorf("packages: no container package of %s matches %q", c.Owner(), e)
		}
	}
	return out, infos, nil
}

// keptListings are package listings kept between runs (see
// prune.Listings), in cache-dir or else in the GitHub Actions cache with
// the manifests, served for a package whose version count and last update
// in the owner's package listing are those the kept listing was made
// under. A listing that cannot be read or written is a warning: the
// package is listed as if none were kept.
type keptListings struct {
	// store is nil, keeping nothing, until openCache hands it the Actions
	// cache's listings.
	store listingStore
	infos map[string]ghcr.PackageInfo
	log   *Logger
}

// listingStore is where listings are kept: an mcache.Listings in cache-dir,
// or the mcache.ListingSet of the Actions cache.
type listingStore interface {
	Load(pkg string) (mcache.Listing, bool, error)
	Save(l mcache.Listing) error
	String() string
}

// newKeptListings is nil (no listings kept) when the run did not list the
// owner's packages, or without a cache-dir outside a runner's Actions cache
// (no ACTIONS_RUNTIME_TOKEN). Without a cache-dir its store comes with the
// Actions cache, which openCache loads.
func newKeptListings(log *Logger, dir, owner string, infos map[string]ghcr.PackageInfo) *keptListings {
	switch {
	case infos == nil:
		return nil
	case dir != "":
		return &keptListings{store: mcache.NewListings(dir, owner), infos: infos, log: log}
	case log.Getenv("ACTIONS_RUNTIME_TOKEN") == "":
		return nil
	}
	return &keptListings{infos: infos, log: log}
}

// listings is k as a run takes it: no listings at all when k is nil.
func (k *keptListings) listings() prune.Listings {
	if k == nil {
		return nil
	}
	return k
}

func (k *keptListings) Unchanged(pkg string) ([]retention.Version, bool) {
	info, ok := k.infos[pkg]
	if !ok || k.store == nil {
		return nil, false
	}
	l, ok, err := k.store.Load(pkg)
	if err != nil {
		k.log.Warningf("package listings: reading the kept listing of %s from %s: %v; listing it", pkg, k.store, err)
		return nil, false
	}
	if !ok || !l.Unchanged(info.VersionCount, info.UpdatedAt) {
		return nil, false
	}
	vs := make([]retention.Version, len(l.Versions))
	for i, v := range l.Versions {
		vs[i] = retention.Version{ID: v.ID, Digest: v.Digest, Tags: v.Tags, CreatedAt: retention.TimeOf(v.CreatedAt), UpdatedAt: retention.TimeOf(v.UpdatedAt)}
	}
	return vs, true
}

func (k *keptListings) Listed(pkg string, versions []retention.Version) {
	info, ok := k.infos[pkg]
	if !ok || k.store == nil {
		return
	}
	l := mcache.Listing{Package: pkg, VersionCount: info.VersionCount, UpdatedAt: info.UpdatedAt, Versions: make([]mcache.ListedVersion, len(versions))}
	for i, v := range versions {
		l.Versions[i] = mcache.ListedVersion{ID: v.ID, Digest: v.Digest, Tags: v.Tags, CreatedAt: v.CreatedAt.Time(), UpdatedAt: v.UpdatedAt.Time()}
	}
	if err := k.store.Save(l); err != nil {
		k.log.Warningf("package listings: keeping the listing of %s in %s: %v", pkg, k.store, err)
	}
}

// packagesJSON is the packages-json output: the resolved names as a JSON
// array, [] for none.
func packagesJSON(pkgs []string) string {
	raw, _ := json.Marshal(append([]string{}, pkgs...))
	return string(raw)
}
