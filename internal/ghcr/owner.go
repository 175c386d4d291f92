package ghcr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v57/github"
)

// packageService is the part of the Packages API ghcr-prune uses. GitHub
// serves an organization's packages under /orgs/{org} and a user's under
// /users/{name} (or /user), and go-github has a service for each with these
// same calls: *github.OrganizationsService and *github.UsersService.
type packageService interface {
	ListPackages(ctx context.Context, owner string, opts *github.PackageListOptions) ([]*github.Package, *github.Response, error)
	GetPackage(ctx context.Context, owner, packageType, packageName string) (*github.Package, *github.Response, error)
	PackageDeleteVersion(ctx context.Context, owner, packageType, packageName string, id int64) (*github.Response, error)
	PackageRestoreVersion(ctx context.Context, owner, packageType, packageName string, id int64) (*github.Response, error)
}

// ownerPackages is one owner's container packages: lookupOwner chooses the
// service and the path once, so that every operation is written once for
// organizations and users alike.
type ownerPackages struct {
	svc  packageService
	path string // the org's or user's login, or "" for the token's own user (/user/...)
	org  bool
	gh   *github.Client
}

// lookupOwner finds login's spelling on GitHub and where its packages are,
// and returns GitHub's X-OAuth-Scopes header of that first answer (nil when
// GitHub sent none). With a token, a user who is the token's own is read
// through /user, the only path where GitHub shows that user's private
// packages.
func lookupOwner(ctx context.Context, gh *github.Client, login string, token bool) (string, ownerPackages, *string, error) {
	user, resp, err := gh.Users.Get(ctx, login)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return "", ownerPackages{}, nil, fmt.Errorf("owner: no GitHub user or organization is called %q", login)
		}
		return "", ownerPackages{}, nil, fmt.Errorf("owner: looking up %q: %w", login, err)
	}
	var scopes *string
	if v, ok := resp.Header[textproto.CanonicalMIMEHeaderKey("X-OAuth-Scopes")]; ok && len(v) > 0 {
		scopes = &v[0]
	}
	owner := user.GetLogin()
	if user.GetType() == "Organization" {
		return owner, ownerPackages{svc: gh.Organizations, path: owner, org: true, gh: gh}, scopes, nil
	}
	path := owner
	if token {
		// GITHUB_TOKEN has no user, and this lookup fails harmlessly.
		if me, _, err := gh.Users.Get(ctx, ""); err == nil && strings.EqualFold(me.GetLogin(), owner) {
			path = ""
		}
	}
	return owner, ownerPackages{svc: gh.Users, path: path, gh: gh}, scopes, nil
}

const containerType = "container"

func (o ownerPackages) list(ctx context.Context, opts *github.PackageListOptions) ([]*github.Package, *github.Response, error) {
	return o.svc.ListPackages(ctx, o.path, opts)
}

func (o ownerPackages) get(ctx context.Context, pkg string) error {
	_, _, err := o.svc.GetPackage(ctx, o.path, containerType, url.PathEscape(pkg))
	return err
}

// listedVersion is what a plan needs of a version in a listing page. The
// page is decoded into it rather than into go-github's PackageVersion,
// whose URLs, descriptions and pointers are a quarter of everything a run
// of 100,000 versions allocated; the request and its errors are still
// go-github's, on the path its PackageGetAllVersions uses.
type listedVersion struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Metadata  struct {
		Container struct {
			Tags []string `json:"tags"`
		} `json:"container"`
	} `json:"metadata"`
}

// versions reads one page of pkg's active versions.
func (o ownerPackages) versions(ctx context.Context, pkg string, page, perPage int) ([]listedVersion, *github.Response, error) {
	var path string
	switch {
	case o.org:
		path = fmt.Sprintf("orgs/%v/packages/%v/%v/versions", o.path, containerType, url.PathEscape(pkg))
	case o.path != "":
		path = fmt.Sprintf("users/%v/packages/%v/%v/versions", o.path, containerType, url.PathEscape(pkg))
	default:
		path = fmt.Sprintf("user/packages/%v/%v/versions", containerType, url.PathEscape(pkg))
	}
	q := url.Values{"state": {"active"}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
	req, err := o.gh.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	body := pageBodies.Get().(*bytes.Buffer)
	defer pageBodies.Put(body)
	body.Reset()
	// The body is read whole into a reused buffer and decoded in one go:
	// go-github's own decoding grows a fresh buffer and slice for every
	// page, a third of all a warm run of 100,000 versions allocates.
	resp, err := o.gh.Do(ctx, req, body)
	if err != nil {
		return nil, resp, err
	}
	vs := make([]listedVersion, 0, perPage)
	if err := json.Unmarshal(body.Bytes(), &vs); err != nil {
		return nil, resp, fmt.Errorf("reading page %d of the versions of %s: %w", page, pkg, err)
	}
	return vs, resp, nil
}

// pageBodies are the buffers listing pages are read into.
var pageBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (o ownerPackages) deleteVersion(ctx context.Context, pkg string, id int64) error {
	_, err := o.svc.PackageDeleteVersion(ctx, o.path, containerType, url.PathEscape(pkg), id)
	return err
}

func (o ownerPackages) restoreVersion(ctx context.Context, pkg string, id int64) error {
	_, err := o.svc.PackageRestoreVersion(ctx, o.path, containerType, url.PathEscape(pkg), id)
	return err
}
