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
	for {
		c.count(func(s *Stats) { s.ListRequests++ })
		pkgs, resp, err := c.packages.list(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the container packages of %s (a wildcard in packages needs a token that can list them, such as a classic PAT with read:packages; GITHUB_TOKEN cannot): %w", c.owner, err)
		}
		for _, p := range pkgs {
			names = append(names, p.GetName())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	slices.Sort(names)
	return names, nil
}

// CheckPackage fails when pkg does not exist or cannot be seen.
func (c *Client) CheckPackage(ctx context.Context, pkg string) error {
	c.count(func(s *Stats) { s.ListRequests++ })
	err := c.packages.get(ctx, pkg)
	if isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("packages: %s has no container package %q, or the token cannot see it", c.owner, pkg)
	}
	return err
}
