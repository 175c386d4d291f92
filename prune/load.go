package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// ManifestConcurrency is how many manifests are fetched at once. The
// strongest peer uses 10 and GHCR tolerates it.
const ManifestConcurrency = 10

// Load reads every version of pkg and its manifest. Any version whose
// manifest cannot be read fails the load: a graph with a hole in it could
// make a kept image's children look unreferenced. A manifest that is gone
// (the version was deleted while we read) sends the load back to the listing.
func Load(ctx context.Context, src Source, pkg string) (retention.Snapshot, error) {
	return loadListing(ctx, src, pkg, false, nil)
}

// LoadStable is Load for a run that will delete: the listing is read again
// after the manifests and must not have changed. GitHub's pages are offsets,
// so a version deleted elsewhere while they are read shifts a live version
// out of sight; a missed index would leave its children looking
// unreferenced. Two listings that agree rule that out.
func LoadStable(ctx context.Context, src Source, pkg string) (retention.Snapshot, error) {
	return loadListing(ctx, src, pkg, true, nil)
}

const listingAttempts = 4

func loadListing(ctx context.Context, src Source, pkg string, confirm bool, known map[string]*manifest.Manifest) (retention.Snapshot, error) {
	progress := ProgressFrom(ctx)
	progress.listing(pkg)
	// The manifests of each page are read as the page arrives: a cold
	// load then takes the manifests' time, not the listing's plus theirs.
	pre, listCtx := startPrefetch(ctx, src, pkg, known)
	versions, err := src.Versions(listCtx, pkg)
	if err != nil {
		pre.finish(nil, false)
		return retention.Snapshot{}, fmt.Errorf("listing versions of %s: %w", pkg, err)
	}
	progress.listed(len(versions))
	if known, err = pre.finish(versions, true); err != nil {
		return retention.Snapshot{}, err
	}
	for attempt := 1; ; attempt++ {
		snap, err := load(ctx, src, pkg, versions, known)
		if err != nil && !errors.Is(err, ErrGone) {
			return retention.Snapshot{}, err
		}
		if err == nil && !confirm {
			return snap, nil
		}
		if attempt == listingAttempts {
			if err != nil {
				return retention.Snapshot{}, err
			}
			return retention.Snapshot{}, fmt.Errorf("the versions of %s kept changing while they were read; run again when nothing else pushes to or deletes from it", pkg)
		}
		progress.listing(pkg)
		again, lerr := src.Versions(ctx, pkg)
		if lerr != nil {
			return retention.Snapshot{}, fmt.Errorf("listing versions of %s again: %w", pkg, lerr)
		}
		progress.listed(len(again))
		if err == nil && sameListing(versions, again) {
			return snap, nil
		}
		versions, known = again, snap.Manifests
	}
}

// sameListing compares ids, digests and tags (in any order). It indexes a
// by id rather than building a key string per version: at 100,000 versions
// those strings were megabytes for a yes or no.
func sameListing(a, b []retention.Version) bool {
	if len(a) != len(b) {
		return false
	}
	byID := make(map[int64]int, len(a))
	for i, v := range a {
		byID[v.ID] = i
	}
	if len(byID) != len(a) {
		return false // an id listed twice; the listing itself rules that out
	}
	for _, v := range b {
		i, ok := byID[v.ID]
		if !ok || a[i].Digest != v.Digest || !sameTags(a[i].Tags, v.Tags) {
			return false
		}
		delete(byID, v.ID) // a second b with this id does not match again
	}
	return true
}

// sameTags reports whether a and b hold the same tags in any order.
func sameTags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if slices.Equal(a, b) {
		return true
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// load fetches the manifests of versions that known does not already hold
// (manifests are immutable by digest). A manifest that is gone does not stop
// the others: the caller lists again and keeps what was read.
func load(ctx context.Context, src Source, pkg string, versions []retention.Version, known map[string]*manifest.Manifest) (retention.Snapshot, error) {
	manifests := make(map[string]*manifest.Manifest, len(versions))
	var (
		mu       sync.Mutex
		firstErr error
		goneErr  error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, ManifestConcurrency)
	)
	var fetch []int // indexes into versions: a copy of each would be 80 bytes
	for i, v := range versions {
		if m, ok := known[v.Digest]; ok {
			manifests[v.Digest] = m // before any goroutine writes the map
		} else {
			fetch = append(fetch, i)
		}
	}
	progress := ProgressFrom(ctx)
	progress.reading(pkg, len(fetch))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var canon map[string]string
	if len(fetch) > 0 {
		canon = digestsOf(versions) // a map of every digest: for what is fetched only
	}
	for _, i := range fetch {
		v := versions[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			m, err := fetchManifest(ctx, src, pkg, v)
			if err == nil {
				shareDigests(canon, m)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				manifests[v.Digest] = m
				progress.readOne()
			case errors.Is(err, ErrGone):
				goneErr = err
			case firstErr == nil:
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	snap := retention.Snapshot{Package: pkg, Versions: versions, Manifests: manifests}
	if firstErr != nil {
		return snap, firstErr
	}
	return snap, goneErr
}

// digestsOf maps each listed digest to the listing's own string for it,
// for shareDigests.
func digestsOf(versions []retention.Version) map[string]string {
	canon := make(map[string]string, len(versions))
	for _, v := range versions {
		canon[v.Digest] = v.Digest
	}
	return canon
}

// shareDigests points the digests a freshly parsed manifest names (its own,
// its children's, the attested image's, the subject's) at the listing's
// strings for the same digests, so that each digest is held once: the
// parser's copies are 71 bytes each, over a hundred thousand of them in a
// package of 100,000 versions. Equal strings, so nothing a plan shows
// changes. m must not be shared yet.
func shareDigests(canon map[string]string, m *manifest.Manifest) {
	share := func(d *string) {
		if c, ok := canon[*d]; ok {
			*d = c
		}
	}
	share(&m.Digest)
	share(&m.Subject)
	for i := range m.Children {
		share(&m.Children[i].Digest)
		share(&m.Children[i].Attests)
	}
}

func fetchManifest(ctx context.Context, src Source, pkg string, v retention.Version) (*manifest.Manifest, error) {
	raw, err := src.Manifest(ctx, pkg, v.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of version %d (%s): %w", v.ID, v.Digest, err)
	}
	m, err := manifest.Parse(v.Digest, raw)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", v.ID, err)
	}
	return m, nil
}

// refresh merges the newest page of versions into snap: new versions (with
// their manifests) and new tags on the newest. One request, where a full
// read is two per hundred versions.
func refresh(ctx context.Context, src Registry, snap retention.Snapshot) (retention.Snapshot, error) {
	newest, err := src.NewestVersions(ctx, snap.Package)
	if err != nil {
		return retention.Snapshot{}, fmt.Errorf("listing the newest versions of %s: %w", snap.Package, err)
	}
	byID := make(map[int64]int, len(snap.Versions))
	for i, v := range snap.Versions {
		byID[v.ID] = i
	}
	versions := slices.Clone(snap.Versions)
	for _, v := range newest {
		if i, ok := byID[v.ID]; ok {
			versions[i] = v // its tags as they are now
		} else {
			versions = append(versions, v)
		}
	}
	next, err := load(ctx, src, snap.Package, versions, snap.Manifests)
	if errors.Is(err, ErrGone) {
		// Pushed and deleted again in between: read it all.
		return loadListing(ctx, src, snap.Package, true, snap.Manifests)
	}
	return next, err
}
