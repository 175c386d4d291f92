// Package ghcr talks to GitHub Container Registry: the Packages REST API for
// versions (list, delete) and the OCI registry for manifests. It is the only
// place ghcr-prune does I/O with GitHub.
package ghcr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-github/v57/github"
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
	owner    string
	packages ownerPackages
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
	hc := httpClient(cfg)
	// go-github's WithAuthToken wraps the client's transport in place; the
	// registry must not get the REST bearer header, so keep the bare one.
	base := hc.Transport
	gh, err := restClient(base, hc.Timeout, cfg)
	if err != nil {
		return nil, err
	}
	host, insecure, err := ParseRegistryURL(cfg.RegistryURL)
	if err != nil {
		return nil, err
	}
	c := &Client{registry: host, pacer: deletePacer(cfg.DeletesPerMinute)}
	c.limits, _ = base.(*Transport)
	if insecure {
		c.opts = append(c.opts, name.Insecure)
	}
	c.writeOpt = registryOptions(base, cfg.Token)
	if c.puller, err = remote.NewPuller(c.writeOpt...); err != nil {
		return nil, err
	}
	if c.owner, c.packages, err = lookupOwner(ctx, gh, cfg.Owner, cfg.Token != ""); err != nil {
		return nil, err
	}
	return c, nil
}

// httpClient is cfg.HTTP, or a client over NewTransport with cfg's timeout.
func httpClient(cfg Config) *http.Client {
	if cfg.HTTP != nil {
		return cfg.HTTP
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Transport: NewTransport(nil), Timeout: timeout}
}

// restClient is go-github over base, authenticated with cfg.Token and
// pointed at cfg.APIURL.
func restClient(base http.RoundTripper, timeout time.Duration, cfg Config) (*github.Client, error) {
	gh := github.NewClient(&http.Client{Transport: base, Timeout: timeout})
	if cfg.Token != "" {
		gh = gh.WithAuthToken(cfg.Token)
	}
	api, err := url.Parse(strings.TrimSuffix(cfg.APIURL, "/") + "/")
	if err != nil || (api.Scheme != "https" && api.Scheme != "http") || api.Host == "" {
		return nil, fmt.Errorf("github-api-url: %q is not an http(s) URL", cfg.APIURL)
	}
	gh.BaseURL = api
	return gh, nil
}

// deletePacer paces DELETEs at perMinute (0: the default; negative: nil,
// unpaced).
func deletePacer(perMinute int) *pacer {
	if perMinute < 0 {
		return nil
	}
	if perMinute == 0 {
		perMinute = DefaultDeletesPerMinute
	}
	return newPacer(perMinute, 20)
}

// registryOptions authenticate to the registry with token over base, which
// has no REST bearer header.
func registryOptions(base http.RoundTripper, token string) []remote.Option {
	var auth authn.Authenticator = authn.Anonymous
	if token != "" {
		// GHCR takes any username with the token as password.
		auth = &authn.Basic{Username: "ghcr-prune", Password: token}
	}
	return []remote.Option{remote.WithAuth(auth), remote.WithTransport(base), remote.WithUserAgent("ghcr-prune")}
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

// sleep is the Transport's Sleep (which tests replace), or a real wait.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.limits != nil && c.limits.Sleep != nil {
		return c.limits.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

func isStatus(err error, code int) bool {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		return ge.Response.StatusCode == code
	}
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}
