package fakeghcr

import (
	"bytes"
	"io"
	"net/http"
)

// seedHeader marks a test's own setup requests: they skip latency, faults,
// the fault hook and the statistics, and a manifest GET is not a download,
// so that seeding a scenario stays fast and does not disturb what a test
// measures.
const seedHeader = "X-Fakeghcr-Seed"

// SeedTransport sends every request through next marked as setup rather
// than traffic under test: the fake serves it without latency, injected
// faults, the fault hook or statistics, and a manifest GET through it does
// not count as a download. The Pusher and PutManifest use it; a test uses it
// to read or change the fake behind the client it measures.
func SeedTransport(next http.RoundTripper) http.RoundTripper { return seedTransport{next} }

type seedTransport struct{ next http.RoundTripper }

func (t seedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(seedHeader, "1")
	return t.next.RoundTrip(r)
}

// newSeedClient is the client of the server's own setup requests; it keeps
// enough idle connections for a test that seeds from a few goroutines.
func newSeedClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: SeedTransport(tr)}
}

// PutManifest PUTs body as a manifest of owner/pkg under ref (a tag, or a
// digest to push by digest only) with Content-Type mediaType (none when
// empty), as a setup request (see SeedTransport) with a registry token the
// fake issues itself. The bytes go as they are, so a test can store
// manifests go-containerregistry would not write (or would refuse); status
// is the fake's answer (201 Created when it took the manifest) and digest
// the sha256 of body. err is only a failure to send the request.
func (s *Server) PutManifest(owner, pkg, ref, mediaType string, body []byte) (digest string, status int, err error) {
	repo := repoKey(owner, pkg)
	req, err := http.NewRequest(http.MethodPut, s.url+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.issueToken("scope=repository:"+repo+":push"))
	if mediaType != "" {
		req.Header.Set("Content-Type", mediaType)
	}
	resp, err := s.seed.Do(req)
	if err != nil {
		return "", 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return "sha256:" + hashHex(body), resp.StatusCode, nil
}
