package ghcr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// Untag removes tag from whatever carries it and keeps that image. GHCR has
// no tag deletion: push a small, unique placeholder manifest under the tag
// (the tag moves to it), then delete the placeholder's version.
func (c *Client) Untag(ctx context.Context, pkg, tag, digest string) error {
	ref, err := name.NewTag(c.Image(pkg)+":"+tag, c.opts...)
	if err != nil {
		return err
	}
	// The tag may have moved since the plan was made: never take it from an
	// image nobody reviewed.
	now, err := c.puller.Head(ctx, ref)
	if err != nil {
		return fmt.Errorf("checking where tag %s points: %w", tag, err)
	}
	if now.Digest.String() != digest {
		return fmt.Errorf("tag %s moved to %s since the plan was made; left alone", tag, now.Digest)
	}
	holder, err := c.pushPlaceholder(ctx, ref, tag)
	if err != nil {
		return err
	}
	id, err := c.findVersion(ctx, pkg, holder)
	if err != nil {
		return fmt.Errorf("tag %s now points at placeholder %s, whose version could not be found to delete it: %w", tag, holder, err)
	}
	if err := c.DeleteVersion(ctx, pkg, id); err != nil && !errors.Is(err, prune.ErrGone) {
		return fmt.Errorf("tag %s now points at placeholder %s (version %d), which could not be deleted: %w", tag, holder, id, err)
	}
	return nil
}

// pushPlaceholder moves ref's tag to a new placeholder and returns the
// placeholder's digest.
func (c *Client) pushPlaceholder(ctx context.Context, ref name.Tag, tag string) (string, error) {
	img, err := placeholder(tag)
	if err != nil {
		return "", err
	}
	holder, err := img.Digest()
	if err != nil {
		return "", err
	}
	c.count(func(s *Stats) { s.RegistryWrites++ })
	wctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	if err := remote.Write(ref, img, append(c.writeOpt, remote.WithContext(wctx))...); err != nil {
		return "", fmt.Errorf("moving tag %s to a placeholder (needs a token that can write packages): %w", tag, err)
	}
	return holder.String(), nil
}

// placeholder is an empty OCI image, unique per call so that it never
// collides with (and never deletes) a real version.
func placeholder(tag string) (v1.Image, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.description": "ghcr-prune placeholder: tag " + tag + " was removed; this version is deleted right after it is pushed",
		"dev.ghcr-prune.nonce":                 hex.EncodeToString(nonce[:]),
	}).(v1.Image), nil
}

// findVersionWaits are the pauses between lookups of a version just pushed:
// the Packages API can lag the registry by a few seconds. About 30 s in all.
var findVersionWaits = []time.Duration{
	500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
}

// findVersion finds the version id of a digest just pushed: versions are
// listed newest first, so the first page almost always has it; otherwise the
// whole listing is read. Until the version shows up, it looks again after
// each of findVersionWaits.
func (c *Client) findVersion(ctx context.Context, pkg, digest string) (int64, error) {
	for try := 0; ; try++ {
		id, found, err := c.lookupVersion(ctx, pkg, digest)
		if err != nil || found {
			return id, err
		}
		if try >= len(findVersionWaits) {
			return 0, fmt.Errorf("no version of %s has digest %s (looked %d times over %v)", pkg, digest, try+1, sum(findVersionWaits))
		}
		if err := c.sleep(ctx, findVersionWaits[try]); err != nil {
			return 0, err
		}
	}
}

func (c *Client) lookupVersion(ctx context.Context, pkg, digest string) (int64, bool, error) {
	first, resp, err := c.versionsPage(ctx, pkg, 1)
	if err != nil {
		return 0, false, err
	}
	for _, v := range first {
		if v.Name == digest {
			return v.ID, true, nil
		}
	}
	if resp.NextPage == 0 && resp.LastPage <= 1 && len(first) < perPage {
		return 0, false, nil // page 1 is the whole listing
	}
	all, err := c.Versions(ctx, pkg)
	if err != nil {
		return 0, false, err
	}
	for _, v := range all {
		if v.Digest == digest {
			return v.ID, true, nil
		}
	}
	return 0, false, nil
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}
