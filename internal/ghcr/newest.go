package ghcr

import (
	"context"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

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
