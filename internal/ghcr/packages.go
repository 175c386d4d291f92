package ghcr

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-github/v57/github"
)

// Packages lists the owner's container packages.
func (c *Client) Packages(ctx context.Context) ([]string, error) {
	opts := &github.PackageListOptions{PackageType: github.String(containerType), ListOptions: github.ListOptions{PerPage: 100}}
	var names []string
	for page := 1; ; page++ {
		c.count(func(s *Stats) { s.ListRequests++ })
		pkgs, resp, err := c.packages.list(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the container packages of %s (a wildcard in packages needs a token that can list them, such as a classic PAT with read:packages; GITHUB_TOKEN cannot): %w", c.owner, c.permission(err, "listing packages", readAccess))
		}
		for _, p := range pkgs {
			names = append(names, p.GetName())
		}
		if resp.NextPage == 0 {
			break
		}
		if page >= maxPackagePages || resp.NextPage <= page {
			return nil, fmt.Errorf("listing the container packages of %s: page %d points to page %d; GitHub lists at most %d pages of %d, so the listing is not trusted", c.owner, page, resp.NextPage, maxPackagePages, perPage)
		}
		opts.Page = resp.NextPage
	}
	slices.Sort(names)
	return names, nil
}

// maxPackagePages is GitHub's own bound on listing packages: page times
// per_page may not pass 10,000.
const maxPackagePages = 10000 / perPage

// CheckPackage fails when pkg does not exist or cannot be seen, saying
// what the token would need to see it.
func (c *Client) CheckPackage(ctx context.Context, pkg string) error {
	c.count(func(s *Stats) { s.ListRequests++ })
	err := c.packages.get(ctx, pkg)
	if isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("packages: %s has no container package %q, or the token cannot see it (%s)", c.owner, pkg, c.token.fix(readAccess))
	}
	return c.permission(err, "reading package "+pkg, readAccess)
}
