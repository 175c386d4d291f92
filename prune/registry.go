package prune

import (
	"context"
	"errors"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Source reads a package: its versions and the raw manifest of each. It is
// all a load needs.
type Source interface {
	Versions(ctx context.Context, pkg string) ([]retention.Version, error)
	Manifest(ctx context.Context, pkg, digest string) ([]byte, error)
}

// Registry is everything a run uses of GHCR, each capability named here
// rather than discovered.
type Registry interface {
	Source
	// NewestVersions lists the newest page of a package's versions: where a
	// push shows up first, read between deletions in one request.
	NewestVersions(ctx context.Context, pkg string) ([]retention.Version, error)
	// RemainingRequests is how many REST requests the rate limit has left;
	// known is false until the registry has said.
	RemainingRequests() (n int, known bool)
	Writer
}

// Writer is what deleting a plan takes: deleting versions and removing tags.
type Writer interface {
	// DeleteVersion deletes one package version: the only deletion
	// ghcr-prune makes.
	DeleteVersion(ctx context.Context, pkg string, id int64) error
	// Untag removes tag, which must still point at digest, from an image
	// that stays.
	Untag(ctx context.Context, pkg, tag, digest string) error
}

// Logger is the slice of the Actions toolkit a run writes its log through.
type Logger interface {
	Group(title string)
	EndGroup()
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
}

// ErrGone marks a delete of a version that no longer exists. The Packages
// API can list a version that then 404s on DELETE; either way it is gone.
var ErrGone = errors.New("version already gone")

// RefusedError is GitHub declining to delete a version, for example the last
// tagged version of a package or a public version with more than 5000
// downloads. It is a warning, not a failure: the version stays.
type RefusedError struct{ Message string }

func (e *RefusedError) Error() string { return "GitHub refused: " + e.Message }
