package ghcr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/google/go-github/v57/github"

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
	for _, v := range page {
		out = append(out, toVersion(v))
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
// first.
const listConcurrency = 4

// listVersions reads the first page, learns the last page from its Link
// header, then reads the rest concurrently.
func (c *Client) listVersions(ctx context.Context, pkg string) ([]retention.Version, error) {
	first, resp, err := c.versionsPage(ctx, pkg, 1)
	if err != nil {
		return nil, err
	}
	last := max(resp.LastPage, 1)
	if last > maxVersionPages {
		return nil, fmt.Errorf("listing versions of %s: GitHub's answer says the listing has %d pages of %d; more than %d pages (%d versions) is beyond what ghcr-prune reads, so the listing is not trusted",
			pkg, resp.LastPage, perPage, maxVersionPages, maxVersionPages*perPage)
	}
	pages := make([][]*github.PackageVersion, last)
	pages[0] = first
	errs := make([]error, last)
	var wg sync.WaitGroup
	sem := make(chan struct{}, listConcurrency)
	for p := 2; p <= last; p++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pages[p-1], _, errs[p-1] = c.versionsPage(ctx, pkg, p)
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
func joinPages(pages [][]*github.PackageVersion) ([]retention.Version, error) {
	var out []retention.Version
	seen := map[int64]bool{}
	for i, page := range pages {
		if i < len(pages)-1 && len(page) != perPage {
			return nil, fmt.Errorf("%w: page %d has %d versions", errShifted, i+1, len(page))
		}
		for _, v := range page {
			if seen[v.GetID()] {
				return nil, fmt.Errorf("%w: version %d listed twice", errShifted, v.GetID())
			}
			seen[v.GetID()] = true
			out = append(out, toVersion(v))
		}
	}
	return out, nil
}

func (c *Client) versionsPage(ctx context.Context, pkg string, page int) ([]*github.PackageVersion, *github.Response, error) {
	opts := &github.PackageListOptions{State: github.String("active"), ListOptions: github.ListOptions{Page: page, PerPage: perPage}}
	c.count(func(s *Stats) { s.ListRequests++ })
	vs, resp, err := c.packages.versions(ctx, pkg, opts)
	if err != nil {
		request := fmt.Sprintf("listing versions of %s, page %d", pkg, page)
		if isStatus(err, http.StatusNotFound) {
			return nil, nil, &PermissionError{Request: request, Answer: "404 " + errorMessage(err), Fix: "the package is gone, or the token cannot see it: " + c.token.fix(readAccess)}
		}
		return nil, nil, fmt.Errorf("%s: %w", request, c.permission(err, request, readAccess))
	}
	return vs, resp, nil
}

func toVersion(v *github.PackageVersion) retention.Version {
	out := retention.Version{
		ID:        v.GetID(),
		Digest:    v.GetName(),
		CreatedAt: v.GetCreatedAt().Time,
		UpdatedAt: v.GetUpdatedAt().Time,
	}
	if m := v.GetMetadata(); m != nil && m.Container != nil {
		out.Tags = slices.Clone(m.Container.Tags)
	}
	return out
}
