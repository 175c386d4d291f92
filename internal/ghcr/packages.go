package ghcr

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
)

// PackageInfo is one of the owner's container packages as the owner's
// package listing shows it. VersionCount and UpdatedAt change with every
// push and deletion, so two listings that agree on both say the package's
// versions are as they were.
type PackageInfo struct {
	Name         string
	VersionCount int
	UpdatedAt    time.Time
}

// Packages lists the owner's container packages, sorted by name.
func (c *Client) Packages(ctx context.Context) ([]string, error) {
	infos, err := c.PackageInfos(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(infos))
	for _, p := range infos {
		names = append(names, p.Name)
	}
	return names, nil
}

// PackageInfos lists the owner's container packages with their version
// counts and last update, sorted by name: 100 packages a request.
func (c *Client) PackageInfos(ctx context.Context) ([]PackageInfo, error) {
	opts := &github.PackageListOptions{PackageType: github.String(containerType), ListOptions: github.ListOptions{PerPage: 100}}
	var infos []PackageInfo
	for page := 1; ; page++ {
		c.count(func(s *Stats) { s.ListRequests++ })
		pkgs, resp, err := c.packages.list(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the container packages of %s (a wildcard in packages needs a token that can list them, such as a classic PAT with read:packages; GITHUB_TOKEN cannot): %w", c.owner, c.permission(err, "listing packages", readAccess))
		}
		for _, p := range pkgs {
			infos = append(infos, PackageInfo{Name: p.GetName(), VersionCount: int(p.GetVersionCount()), UpdatedAt: p.GetUpdatedAt().Time})
		}
		if resp.NextPage == 0 {
			break
		}
		if page >= maxPackagePages || resp.NextPage <= page {
			return nil, fmt.Errorf("listing the container packages of %s: page %d points to page %d; GitHub lists at most %d pages of %d, so the listing is not trusted", c.owner, page, resp.NextPage, maxPackagePages, perPage)
		}
		opts.Page = resp.NextPage
	}
	slices.SortFunc(infos, func(a, b PackageInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
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
