package ghcr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-github/v57/github"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Versions lists every active version of pkg. The listing is checked for
// completeness: pages that shift under a concurrent push or delete are
// detected by counting, and the listing is read again.
func (c *Client) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	var lastErr error
	for range 3 {
		vs, err := c.listVersions(ctx, pkg)
		if err == nil {
			return vs, nil
		}
		if !errors.Is(err, errShifted) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("the listing of %s kept changing while it was read: %w", pkg, lastErr)
}

// NewestVersions lists the first page of pkg's versions, newest first: one
// request that shows a push made since the package was last read.
func (c *Client) NewestVersions(ctx context.Context, pkg string) ([]retention.Version, error) {
	page, _, err := c.versionsPage(ctx, pkg, 1)
	if err != nil {
		return nil, err
	}
	out := make([]retention.Version, 0, len(page))
	for i := range page {
		out = append(out, toVersion(&page[i]))
	}
	return out, nil
}

var errShifted = errors.New("versions moved between pages")

const perPage = 100

// maxVersionPages bounds a listing's page count, which comes from the
// answer's Link header: a package of 200,000 versions is twice the largest
// ghcr-prune is measured with, and a count far past it is a broken or
// hostile answer, not a package.
const maxVersionPages = 2000

// listConcurrency is how many pages of a listing are read at once after the
// first: as many as the manifests a load reads at once, which GHCR
// tolerates, so that a warm run (no manifest to fetch) is bound by the
// listing alone.
const listConcurrency = prune.ManifestConcurrency

// listVersions reads the first page, learns the last page from its Link
// header, then reads the rest concurrently.
func (c *Client) listVersions(ctx context.Context, pkg string) ([]retention.Version, error) {
	firstPage, resp, err := c.versionsPage(ctx, pkg, 1)
	if err != nil {
		return nil, err
	}
	first := toVersions(ctx, firstPage)
	last := max(resp.LastPage, 1)
	if last > maxVersionPages {
		return nil, fmt.Errorf("listing versions of %s: GitHub's answer says the listing has %d pages of %d; more than %d pages (%d versions) is beyond what ghcr-prune reads, so the listing is not trusted",
			pkg, resp.LastPage, perPage, maxVersionPages, maxVersionPages*perPage)
	}
	pages := make([][]retention.Version, last)
	pages[0] = first
	errs := make([]error, last)
	var wg sync.WaitGroup
	sem := make(chan struct{}, listConcurrency)
	for p := 2; p <= last; p++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var page []listedVersion
			if page, _, errs[p-1] = c.versionsPage(ctx, pkg, p); errs[p-1] == nil {
				pages[p-1] = toVersions(ctx, page)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return joinPages(pages)
}

// joinPages is the listing the pages make, or errShifted when a page that
// is not the last is short or a version is on two pages.
func joinPages(pages [][]retention.Version) ([]retention.Version, error) {
	n := 0
	for _, page := range pages {
		n += len(page)
	}
	// Sized once: at 100,000 versions, growing by appending leaves twice
	// the listing behind as garbage.
	out := make([]retention.Version, 0, n)
	seen := make(map[int64]struct{}, n)
	for i, page := range pages {
		if i < len(pages)-1 && len(page) != perPage {
			return nil, fmt.Errorf("%w: page %d has %d versions", errShifted, i+1, len(page))
		}
		for _, v := range page {
			if _, dup := seen[v.ID]; dup {
				return nil, fmt.Errorf("%w: version %d listed twice", errShifted, v.ID)
			}
			seen[v.ID] = struct{}{}
			out = append(out, v)
		}
		pages[i] = nil
	}
	return out, nil
}

func (c *Client) versionsPage(ctx context.Context, pkg string, page int) ([]listedVersion, *github.Response, error) {
	c.count(func(s *Stats) { s.ListRequests++ })
	vs, resp, err := c.packages.versions(ctx, pkg, page, perPage)
	if err != nil {
		request := fmt.Sprintf("listing versions of %s, page %d", pkg, page)
		if isStatus(err, http.StatusNotFound) {
			return nil, nil, &PermissionError{Request: request, Answer: "404 " + errorMessage(err), Fix: "the package is gone, or the token cannot see it: " + c.token.fix(readAccess)}
		}
		return nil, nil, fmt.Errorf("%s: %w", request, c.permission(err, request, readAccess))
	}
	return vs, resp, nil
}

// toVersions keeps what a page says that a plan needs, dropping go-github's
// types (with every URL of every version) as each page arrives, and hands
// the page to the load in ctx (prune.ListedPage), which starts reading its
// manifests.
func toVersions(ctx context.Context, page []listedVersion) []retention.Version {
	out := make([]retention.Version, len(page))
	for i := range page {
		out[i] = toVersion(&page[i])
	}
	prune.ListedPage(ctx, out)
	return out
}

func toVersion(v *listedVersion) retention.Version {
	return retention.Version{ID: v.ID, Digest: v.Name, Tags: v.Metadata.Container.Tags, CreatedAt: retention.TimeOf(v.CreatedAt), UpdatedAt: retention.TimeOf(v.UpdatedAt)}
}
