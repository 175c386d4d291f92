package ghcr

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The token goes to two hosts only: the REST API's and the registry's. Go
// drops Authorization when a redirect leaves the host, but go-github's
// WithAuthToken sets it again on every request, redirected ones included;
// so the REST client here refuses redirects to another host and attaches
// the token itself, only to requests for the API's host. The registry
// client (go-containerregistry) sends its bearer tokens only to the
// registry, but sends the GitHub token as Basic auth to whatever realm the
// registry's challenge names; confineRegistry holds that to the registry's
// own host too.

// origin is a URL's scheme and host with the port made explicit, so that
// https://ghcr.io and https://ghcr.io:443 are one place.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// restAuth attaches the REST token to requests for the API's origin only.
type restAuth struct {
	next   http.RoundTripper
	origin string
	header string // "Bearer <token>"; empty without a token
}

func (t *restAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.header == "" {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	if origin(req.URL) == t.origin {
		req.Header.Set("Authorization", t.header)
	} else {
		req.Header.Del("Authorization")
	}
	return t.next.RoundTrip(req)
}

// errOtherHost marks a refusal to send a request carrying the token to a
// host it does not belong to.
var errOtherHost = errors.New("refused to send the token to another host")

// sameOrigin is the REST client's redirect policy: follow a redirect
// within the API's origin (as the default policy does, at most 10), and
// refuse one anywhere else, so that neither the token nor the request
// (a DELETE answered 307 or 308 keeps its method) leaves the API.
func sameOrigin(api string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if o := origin(req.URL); o != api {
			return fmt.Errorf("%w: the API at %s redirected to %s; only %s gets the token, so the request was not followed", errOtherHost, api, o, api)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// confineRegistry fails any request that carries credentials to a host
// other than the registry's: the GitHub token (Basic auth at the token
// endpoint) and the registry's bearer tokens belong to it alone.
type confineRegistry struct {
	next http.RoundTripper
	host string // the registry's host[:port], as ParseRegistryURL returns it
}

func (t *confineRegistry) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" && !sameHost(req.URL, t.host) {
		return nil, fmt.Errorf("%w: the registry %s asked for credentials at %s; only %s gets them", errOtherHost, t.host, req.URL.Host, t.host)
	}
	return t.next.RoundTrip(req)
}

// sameHost compares u's host with a registry host written without a
// scheme, where a missing port is the scheme's default.
func sameHost(u *url.URL, host string) bool {
	r, err := url.Parse(u.Scheme + "://" + host)
	return err == nil && origin(r) == origin(u)
}

// loopback says whether host (a URL's host name, without port) is this
// machine: 127.0.0.0/8, ::1 or localhost. Only there may the token travel
// over plain http.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseAPIURL checks the REST API base URL (github-api-url): http or https,
// a host, and plain http only on this machine, where the token cannot be
// read on the way.
func ParseAPIURL(s string) (*url.URL, error) {
	api, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(s), "/") + "/")
	if err != nil || (api.Scheme != "https" && api.Scheme != "http") || api.Host == "" {
		return nil, fmt.Errorf("github-api-url: %q is not an http(s) URL", s)
	}
	if api.Scheme == "http" && !loopback(api.Hostname()) {
		return nil, fmt.Errorf("github-api-url: %q is plain http, which would send the token unencrypted; use https (http only for 127.0.0.1, ::1 or localhost)", s)
	}
	return api, nil
}
