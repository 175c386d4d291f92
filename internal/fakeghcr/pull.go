package fakeghcr

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Pull fetches ref's manifest and, recursively, every manifest it lists, as
// a pull of every platform would, and counts the manifests under ref. It is
// how a test (or the demo) shows an image is whole.
func Pull(ref name.Reference, opts ...remote.Option) (int, error) {
	return pull(ref.Context(), ref, opts, 0)
}

func pull(repo name.Repository, ref name.Reference, opts []remote.Option, depth int) (int, error) {
	if depth > 8 {
		return 0, fmt.Errorf("%s: index nesting too deep", ref)
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", ref, err)
	}
	m, err := manifest.Parse(desc.Digest.String(), desc.Manifest)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", ref, err)
	}
	n := 0
	for _, c := range m.Children {
		below, err := pull(repo, repo.Digest(c.Digest), opts, depth+1)
		if err != nil {
			return 0, err
		}
		n += 1 + below
	}
	return n, nil
}
