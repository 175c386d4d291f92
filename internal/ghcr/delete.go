package ghcr

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v57/github"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// DeleteVersion deletes one package version, which on GHCR also deletes the
// manifest and every tag on it. A version that is not there is
// prune.ErrGone, unless the Transport retried the DELETE after an attempt
// GitHub may have carried out (a 5xx or a dropped connection): then the 404
// is this DELETE's own work, and the result is nil.
func (c *Client) DeleteVersion(ctx context.Context, pkg string, id int64) error {
	if err := c.pacer.wait(ctx); err != nil {
		return err
	}
	c.count(func(s *Stats) { s.DeleteRequests++ })
	err := c.packages.deleteVersion(ctx, pkg, id)
	var (
		ge       *github.ErrorResponse
		accepted *github.AcceptedError
	)
	switch {
	case err == nil, errors.As(err, &accepted): // 202: GitHub took it and finishes on its own
		return nil
	case isStatus(err, http.StatusNotFound):
		if errors.As(err, &ge) && maybeApplied(ge.Response) {
			// An earlier attempt got a 5xx or no answer, yet GitHub deleted
			// the version: this run did, and must report (and be able to
			// restore) it.
			return nil
		}
		return fmt.Errorf("%w: %v", prune.ErrGone, err)
	case errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusBadRequest:
		return &prune.RefusedError{Message: ge.Message}
	}
	return c.permission(err, fmt.Sprintf("deleting version %d of %s", id, pkg), deleteAccess)
}

// RestoreVersion restores a deleted version (possible for 30 days).
func (c *Client) RestoreVersion(ctx context.Context, pkg string, id int64) error {
	c.count(func(s *Stats) { s.RestoreRequests++ })
	err := c.packages.restoreVersion(ctx, pkg, id)
	if _, ok := forbidden(err); ok {
		return c.permission(err, fmt.Sprintf("restoring version %d of %s", id, pkg), restoreAccess)
	}
	var ge *github.ErrorResponse
	if errors.As(err, &ge) {
		return errors.New(ge.Message)
	}
	return err
}
