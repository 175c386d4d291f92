// Package ghcr talks to GitHub Container Registry: the Packages REST API for
// versions (list, delete) and the OCI registry for manifests. It is the only
// place ghcr-prune does I/O with GitHub.
//
// New is also the token preflight, for the action and any other front end:
// before it sends a request it refuses a token that cannot work for
// Config.Use (a fine-grained personal access token; GITHUB_TOKEN with a
// wildcard), and once GitHub has listed a classic token's scopes (on the
// owner lookup, so no extra request) it refuses one that lacks what the run
// needs. Client.Token says what the token is, for the log and the summary.
//
// The token goes only to the configured API host and to the registry's host,
// never over plain http except to this machine, and no answer is read past
// what it can legitimately be (see confine.go and limits.go).
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
	// Use is what the run will ask of the token; New refuses a token that
	// cannot do it.
	Use Use
}

// DefaultTimeout is longer than the Transport's worst retry schedule (five
// waits of up to MaxWait, 5 min, for a rate limit), so that it never cuts a
// wait GitHub asked for short.
const DefaultTimeout = 30 * time.Minute

// registryTimeout bounds one registry request with its retries and waits.
const registryTimeout = 10 * time.Minute

// DefaultDeletesPerMinute is as close to GitHub's 180 DELETEs a minute (900
// points at 5 a DELETE) as the burst allows: any minute then holds the burst
// and a minute's pace, 175, and a long run keeps 0.86 of the ceiling.
const DefaultDeletesPerMinute = 155

// deleteBurst is how many DELETEs go at once before the pace applies: a
// small run finishes without waiting.
const deleteBurst = 20

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
	token  TokenInfo

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

// New checks the token (see the package documentation), that the owner
// exists and whether it is an organization, and prepares a registry puller
// that is shared so the token is exchanged once.
func New(ctx context.Context, cfg Config) (*Client, error) {
	token := TokenInfo{Kind: KindOf(cfg.Token)}
	if err := token.Check(cfg.Use); err != nil {
		return nil, err
	}
	api, err := ParseAPIURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	host, insecure, err := ParseRegistryURL(cfg.RegistryURL)
	if err != nil {
		return nil, err
	}
	hc := httpClient(cfg)
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	gh := restClient(base, hc.Timeout, api, cfg.Token)
	c := &Client{registry: host, pacer: deletePacer(cfg.DeletesPerMinute)}
	c.limits, _ = base.(*Transport)
	if insecure {
		c.opts = append(c.opts, name.Insecure)
	}
	c.writeOpt = registryOptions(base, host, cfg.Token)
	if c.puller, err = remote.NewPuller(c.writeOpt...); err != nil {
		return nil, err
	}
	var scopes *string
	if c.owner, c.packages, scopes, err = lookupOwner(ctx, gh, cfg.Owner, cfg.Token != ""); err != nil {
		return nil, err
	}
	if scopes != nil {
		token.Scopes, token.ScopesKnown = ParseScopes(*scopes), true
	}
	if err := token.Check(cfg.Use); err != nil {
		return nil, err
	}
	c.token = token
	return c, nil
}

// Token is what the token is and may do, as the preflight found.
func (c *Client) Token() TokenInfo { return c.token }

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

// restClient is go-github over base, pointed at api, with token attached
// to requests for api's host alone, redirects to any other host refused and
// every answer bounded.
func restClient(base http.RoundTripper, timeout time.Duration, api *url.URL, token string) *github.Client {
	auth := &restAuth{next: &bodyLimit{next: base, limit: restBodyLimit, what: "GitHub's REST API"}, origin: origin(api)}
	if token != "" {
		auth.header = "Bearer " + token
	}
	gh := github.NewClient(&http.Client{Transport: auth, Timeout: timeout, CheckRedirect: sameOrigin(origin(api))})
	gh.BaseURL = api
	return gh
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
	return newPacer(perMinute, deleteBurst)
}

// registryOptions authenticate to the registry at host with token over
// base, which has no REST bearer header; credentials go to host alone and
// answers are bounded by the largest manifest.
func registryOptions(base http.RoundTripper, host, token string) []remote.Option {
	var auth authn.Authenticator = authn.Anonymous
	if token != "" {
		// GHCR takes any username with the token as password.
		auth = &authn.Basic{Username: "ghcr-prune", Password: token}
	}
	rt := &confineRegistry{next: &bodyLimit{next: base, limit: registryBodyLimit, what: "the registry"}, host: host}
	return []remote.Option{remote.WithAuth(auth), remote.WithTransport(rt), remote.WithUserAgent("ghcr-prune")}
}

// ParseRegistryURL accepts https://ghcr.io, ghcr.io and, for a registry on
// this machine, http://127.0.0.1:5000 (or ::1, localhost), and returns the
// host and whether to speak plain HTTP. Plain http anywhere else would
// send the token unencrypted.
func ParseRegistryURL(s string) (host string, insecure bool, err error) {
	raw := strings.TrimSuffix(strings.TrimSpace(s), "/")
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false, fmt.Errorf("registry-url: %q is not a registry URL like https://ghcr.io", s)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", false, fmt.Errorf("registry-url: %q is plain http, which would send the token unencrypted; use https (http only for 127.0.0.1, ::1 or localhost)", s)
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
