// Package ghcr talks to GitHub Container Registry: the Packages REST API for
// versions (list, delete) and the OCI registry for manifests. It is the only
// place ghcr-prune does I/O with GitHub.
package ghcr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-github/v57/github"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Config says where GHCR is and who to act as.
type Config struct {
	Token       string
	Owner       string
	APIURL      string // REST base, e.g. https://api.github.com
	RegistryURL string // https://ghcr.io, ghcr.io or http://127.0.0.1:5000
	HTTP        *http.Client
	// DeletesPerMinute paces DELETEs after a burst; 0 means the default,
	// which stays below GitHub's secondary limit of 900 points a minute per
	// endpoint at 5 points a DELETE; negative means unpaced.
	DeletesPerMinute int
	// Timeout bounds one REST call, its retries and rate-limit waits
	// included, when New builds the HTTP client (HTTP nil); 0 means
	// DefaultTimeout. A server that sends no headers is already cut off per
	// attempt by NewTransport's DefaultResponseHeaderTimeout; this is the
	// backstop for an answer that stalls halfway.
	Timeout time.Duration
}

// DefaultTimeout is longer than the Transport's worst retry schedule (five
// waits of up to MaxWait, 5 min, for a rate limit), so that it never cuts a
// wait GitHub asked for short.
const DefaultTimeout = 30 * time.Minute

// registryTimeout bounds one registry request with its retries and waits.
const registryTimeout = 10 * time.Minute

// DefaultDeletesPerMinute leaves GitHub's 180 a minute some headroom.
const DefaultDeletesPerMinute = 150

// Client is a GHCR owner's packages.
type Client struct {
	gh       *github.Client
	owner    string
	org      bool
	userPath string // owner, or "" for the token's own user (go-github's /user/... paths)
	registry string
	opts     []name.Option
	puller   *remote.Puller
	writeOpt []remote.Option // only for untagging: the one registry write

	limits *Transport // nil when the caller brought its own transport
	pacer  *pacer

	mu    sync.Mutex
	stats Stats
}

// RemainingRequests is what the primary rate limit has left, once GitHub
// has said.
func (c *Client) RemainingRequests() (int, bool) {
	if c.limits == nil {
		return 0, false
	}
	return c.limits.Remaining()
}

// Stats counts requests by what they are for.
type Stats struct {
	ListRequests   int
	ManifestGets   int
	DeleteRequests int
	// RestoreRequests and RegistryWrites happen only with restore-from and
	// when tags are removed.
	RestoreRequests int
	RegistryWrites  int
}

// New checks the owner exists and whether it is an organization, and
// prepares a registry puller that is shared so the token is exchanged once.
func New(ctx context.Context, cfg Config) (*Client, error) {
	hc := cfg.HTTP
	if hc == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		hc = &http.Client{Transport: NewTransport(nil), Timeout: timeout}
	}
	// go-github's WithAuthToken wraps the client's transport in place; the
	// registry must not get the REST bearer header, so keep the bare one.
	base := hc.Transport
	gh := github.NewClient(&http.Client{Transport: base, Timeout: hc.Timeout})
	if cfg.Token != "" {
		gh = gh.WithAuthToken(cfg.Token)
	}
	api, err := url.Parse(strings.TrimSuffix(cfg.APIURL, "/") + "/")
	if err != nil || (api.Scheme != "https" && api.Scheme != "http") || api.Host == "" {
		return nil, fmt.Errorf("github-api-url: %q is not an http(s) URL", cfg.APIURL)
	}
	gh.BaseURL = api
	host, insecure, err := ParseRegistryURL(cfg.RegistryURL)
	if err != nil {
		return nil, err
	}
	c := &Client{gh: gh, registry: host}
	c.limits, _ = base.(*Transport)
	if rate := cfg.DeletesPerMinute; rate >= 0 {
		if rate == 0 {
			rate = DefaultDeletesPerMinute
		}
		c.pacer = newPacer(rate, 20)
	}
	if insecure {
		c.opts = append(c.opts, name.Insecure)
	}
	var auth authn.Authenticator = authn.Anonymous
	if cfg.Token != "" {
		// GHCR takes any username with the token as password.
		auth = &authn.Basic{Username: "ghcr-prune", Password: cfg.Token}
	}
	c.writeOpt = []remote.Option{remote.WithAuth(auth), remote.WithTransport(base), remote.WithUserAgent("ghcr-prune")}
	c.puller, err = remote.NewPuller(c.writeOpt...)
	if err != nil {
		return nil, err
	}
	user, _, err := gh.Users.Get(ctx, cfg.Owner)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, fmt.Errorf("owner: no GitHub user or organization is called %q", cfg.Owner)
		}
		return nil, fmt.Errorf("owner: looking up %q: %w", cfg.Owner, err)
	}
	c.owner = user.GetLogin()
	c.org = user.GetType() == "Organization"
	c.userPath = c.owner
	if !c.org && cfg.Token != "" {
		// /users/{name}/packages only shows a user's public packages to
		// others; the user's own token sees the private ones through /user.
		// GITHUB_TOKEN has no user, and this lookup fails harmlessly.
		if me, _, err := gh.Users.Get(ctx, ""); err == nil && strings.EqualFold(me.GetLogin(), c.owner) {
			c.userPath = ""
		}
	}
	return c, nil
}

// ParseRegistryURL accepts https://ghcr.io, ghcr.io and http://host:port and
// returns the host and whether to speak plain HTTP.
func ParseRegistryURL(s string) (host string, insecure bool, err error) {
	raw := strings.TrimSuffix(strings.TrimSpace(s), "/")
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false, fmt.Errorf("registry-url: %q is not a registry URL like https://ghcr.io", s)
	}
	return u.Host, u.Scheme == "http", nil
}

// Owner is the owner's login as GitHub spells it.
func (c *Client) Owner() string { return c.owner }

// Stats returns the request counts so far.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// Packages lists the owner's container packages.
func (c *Client) Packages(ctx context.Context) ([]string, error) {
	opts := &github.PackageListOptions{PackageType: github.String("container"), ListOptions: github.ListOptions{PerPage: 100}}
	var names []string
	for {
		var (
			pkgs []*github.Package
			resp *github.Response
			err  error
		)
		c.count(func(s *Stats) { s.ListRequests++ })
		if c.org {
			pkgs, resp, err = c.gh.Organizations.ListPackages(ctx, c.owner, opts)
		} else {
			pkgs, resp, err = c.gh.Users.ListPackages(ctx, c.userPath, opts)
		}
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
	var err error
	c.count(func(s *Stats) { s.ListRequests++ })
	if c.org {
		_, _, err = c.gh.Organizations.GetPackage(ctx, c.owner, "container", url.PathEscape(pkg))
	} else {
		_, _, err = c.gh.Users.GetPackage(ctx, c.userPath, "container", url.PathEscape(pkg))
	}
	if isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("packages: %s has no container package %q, or the token cannot see it", c.owner, pkg)
	}
	return err
}

// Versions lists every active version of pkg. The listing is checked for
// completeness: pages that shift under a concurrent push or delete are
// detected by counting, and the listing is read again.
func (c *Client) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	var lastErr error
	for range 3 {
		vs, err := c.listVersions(ctx, pkg)
		if err == nil {
			return vs, nil
		}
		if !errors.Is(err, errShifted) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("the listing of %s kept changing while it was read: %w", pkg, lastErr)
}

var errShifted = errors.New("versions moved between pages")

const perPage = 100

// listVersions reads the first page, learns the last page from its Link
// header, then reads the rest concurrently.
func (c *Client) listVersions(ctx context.Context, pkg string) ([]retention.Version, error) {
	first, resp, err := c.versionsPage(ctx, pkg, 1)
	if err != nil {
		return nil, err
	}
	last := max(resp.LastPage, 1)
	pages := make([][]*github.PackageVersion, last)
	pages[0] = first
	errs := make([]error, last)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for p := 2; p <= last; p++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pages[p-1], _, errs[p-1] = c.versionsPage(ctx, pkg, p)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []retention.Version
	seen := map[int64]bool{}
	for i, page := range pages {
		if i < last-1 && len(page) != perPage {
			return nil, fmt.Errorf("%w: page %d has %d versions", errShifted, i+1, len(page))
		}
		for _, v := range page {
			if seen[v.GetID()] {
				return nil, fmt.Errorf("%w: version %d listed twice", errShifted, v.GetID())
			}
			seen[v.GetID()] = true
			out = append(out, toVersion(v))
		}
	}
	return out, nil
}

func (c *Client) versionsPage(ctx context.Context, pkg string, page int) ([]*github.PackageVersion, *github.Response, error) {
	opts := &github.PackageListOptions{State: github.String("active"), ListOptions: github.ListOptions{Page: page, PerPage: perPage}}
	c.count(func(s *Stats) { s.ListRequests++ })
	var (
		vs   []*github.PackageVersion
		resp *github.Response
		err  error
	)
	if c.org {
		vs, resp, err = c.gh.Organizations.PackageGetAllVersions(ctx, c.owner, "container", url.PathEscape(pkg), opts)
	} else {
		vs, resp, err = c.gh.Users.PackageGetAllVersions(ctx, c.userPath, "container", url.PathEscape(pkg), opts)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing versions of %s, page %d: %w", pkg, page, err)
	}
	return vs, resp, nil
}

func toVersion(v *github.PackageVersion) retention.Version {
	out := retention.Version{
		ID:        v.GetID(),
		Digest:    v.GetName(),
		CreatedAt: v.GetCreatedAt().Time,
		UpdatedAt: v.GetUpdatedAt().Time,
	}
	if m := v.GetMetadata(); m != nil && m.Container != nil {
		out.Tags = slices.Clone(m.Container.Tags)
	}
	return out
}

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

// DeleteVersion deletes one package version, which on GHCR also deletes the
// manifest and every tag on it. A version that is not there is
// prune.ErrGone, unless the Transport retried the DELETE after an attempt
// GitHub may have carried out (a 5xx or a dropped connection): then the 404
// is this DELETE's own work, and the result is nil.
func (c *Client) DeleteVersion(ctx context.Context, pkg string, id int64) error {
	if err := c.pacer.wait(ctx); err != nil {
		return err
	}
	var err error
	c.count(func(s *Stats) { s.DeleteRequests++ })
	if c.org {
		_, err = c.gh.Organizations.PackageDeleteVersion(ctx, c.owner, "container", url.PathEscape(pkg), id)
	} else {
		_, err = c.gh.Users.PackageDeleteVersion(ctx, c.userPath, "container", url.PathEscape(pkg), id)
	}
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
	return err
}

func isStatus(err error, code int) bool {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		return ge.Response.StatusCode == code
	}
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}

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
	img, err := placeholder(tag)
	if err != nil {
		return err
	}
	holder, err := img.Digest()
	if err != nil {
		return err
	}
	c.count(func(s *Stats) { s.RegistryWrites++ })
	wctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	if err := remote.Write(ref, img, append(c.writeOpt, remote.WithContext(wctx))...); err != nil {
		return fmt.Errorf("moving tag %s to a placeholder (needs a token that can write packages): %w", tag, err)
	}
	id, err := c.findVersion(ctx, pkg, holder.String())
	if err != nil {
		return fmt.Errorf("tag %s now points at placeholder %s, whose version could not be found to delete it: %w", tag, holder, err)
	}
	if err := c.DeleteVersion(ctx, pkg, id); err != nil && !errors.Is(err, prune.ErrGone) {
		return fmt.Errorf("tag %s now points at placeholder %s (version %d), which could not be deleted: %w", tag, holder, id, err)
	}
	return nil
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
		if v.GetName() == digest {
			return v.GetID(), true, nil
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

// sleep is the Transport's Sleep (which tests replace), or a real wait.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.limits != nil && c.limits.Sleep != nil {
		return c.limits.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// RestoreVersion restores a deleted version (possible for 30 days).
func (c *Client) RestoreVersion(ctx context.Context, pkg string, id int64) error {
	var err error
	c.count(func(s *Stats) { s.RestoreRequests++ })
	if c.org {
		_, err = c.gh.Organizations.PackageRestoreVersion(ctx, c.owner, "container", url.PathEscape(pkg), id)
	} else {
		_, err = c.gh.Users.PackageRestoreVersion(ctx, c.userPath, "container", url.PathEscape(pkg), id)
	}
	var ge *github.ErrorResponse
	if errors.As(err, &ge) {
		return errors.New(ge.Message)
	}
	return err
}
