package ghcr

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Every answer is read only as far as it can legitimately be long, so that
// a broken or hostile server cannot make the run read (and hold) gigabytes:
// go-containerregistry on its own reads a manifest up to 100 MiB, and
// go-github reads a body to its end.
const (
	// registryBodyLimit is the distribution spec's manifest limit, the
	// largest answer the registry gives this client (it never fetches
	// layers).
	registryBodyLimit = manifest.MaxManifestSize
	// restBodyLimit bounds a REST answer: a page of 100 versions is some
	// 60 KB, and even 100 tags of 128 characters on every one of them stays
	// under 2 MiB.
	restBodyLimit = 8 << 20
)

// ErrTooLarge marks an answer longer than anything the server can
// legitimately send.
var ErrTooLarge = errors.New("answer too large")

// bodyLimit cuts every response body of next at limit bytes: reading past
// it is an error that names the request and what the answer should have
// been.
type bodyLimit struct {
	next  http.RoundTripper
	limit int64
	what  string // "GitHub's REST API", "the registry"
}

func (t *bodyLimit) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	b := &limitedBody{
		body: resp.Body,
		left: t.limit,
		err: fmt.Errorf("%w: %s answered %s %s with more than %s, more than it can legitimately send; not read further",
			ErrTooLarge, t.what, req.Method, req.URL.Path, mib(t.limit)),
	}
	if resp.ContentLength > t.limit {
		b.left = -1 // said up front: fail before reading any of it
	}
	resp.Body = b
	return resp, nil
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// limitedBody reads at most left bytes of body, then fails with err.
type limitedBody struct {
	body io.ReadCloser
	left int64 // -1 once past the limit
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed tells a body of exactly the limit from a longer one
	}
	n, err := b.body.Read(p)
	if int64(n) > b.left {
		n, b.left = int(b.left), -1
		return n, b.err
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }
