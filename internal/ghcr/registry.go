package ghcr

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// Manifest fetches the raw manifest of digest; go-containerregistry checks
// that the bytes hash to it.
func (c *Client) Manifest(ctx context.Context, pkg, digest string) ([]byte, error) {
	ref, err := name.NewDigest(c.Image(pkg)+"@"+digest, c.opts...)
	if err != nil {
		return nil, err
	}
	c.count(func(s *Stats) { s.ManifestGets++ })
	// Header timeouts catch a silent server; this catches a body that stalls.
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	desc, err := c.puller.Get(ctx, ref)
	if isStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("%w: %v", prune.ErrGone, err)
	}
	if err != nil {
		return nil, err
	}
	return desc.Manifest, nil
}

// Image is the repository of pkg on the registry, e.g. ghcr.io/acme/app.
func (c *Client) Image(pkg string) string {
	return c.registry + "/" + strings.ToLower(c.owner) + "/" + pkg
}
