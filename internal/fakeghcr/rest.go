package fakeghcr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	docsBase         = "https://docs.github.com/rest"
	packagesDocs     = "https://docs.github.com/rest/packages/packages#"
	rateLimitDocs    = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	secondaryDocs    = rateLimitDocs + "#about-secondary-rate-limits"
	msgPkgNotFound   = "Package not found."
	msgVerNotFound   = "Package version not found."
	msgLastTagged    = "You cannot delete the last tagged version of a package. You must delete the package instead."
	msgLastVersion   = "You cannot delete the last version of a package. You must delete the package instead."
	msgDownloads     = "Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance."
	msgPkgDownloads  = "Publicly visible packages with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance."
	msgSecondary     = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID %s."
	msgPrimary       = "API rate limit exceeded for user ID %d. If you reach out to GitHub Support for help, please include the request ID %s."
	downloadsCeiling = 5000
)

// ownerKind is which of the three URL prefixes addressed the owner.
type ownerKind int

const (
	kindOrg ownerKind = iota
	kindUser
	kindViewer
)

// op names a package operation; it picks the documentation anchor of errors.
type op int

const (
	opList op = iota
	opGet
	opDelete
	opRestore
	opListVersions
	opGetVersion
	opDeleteVersion
	opRestoreVersion
)

// docAnchors[op][kind] follows docs.github.com/rest/packages/packages.
var docAnchors = [...][3]string{
	opList:           {"list-packages-for-an-organization", "list-packages-for-a-user", "list-packages-for-the-authenticated-users-namespace"},
	opGet:            {"get-a-package-for-an-organization", "get-a-package-for-a-user", "get-a-package-for-the-authenticated-user"},
	opDelete:         {"delete-a-package-for-an-organization", "delete-a-package-for-a-user", "delete-a-package-for-the-authenticated-user"},
	opRestore:        {"restore-a-package-for-an-organization", "restore-a-package-for-a-user", "restore-a-package-for-the-authenticated-user"},
	opListVersions:   {"list-package-versions-for-a-package-owned-by-an-organization", "list-package-versions-for-a-package-owned-by-a-user", "list-package-versions-for-a-package-owned-by-the-authenticated-user"},
	opGetVersion:     {"get-a-package-version-for-an-organization", "get-a-package-version-for-a-user", "get-a-package-version-for-the-authenticated-user"},
	opDeleteVersion:  {"delete-package-version-for-an-organization", "delete-package-version-for-a-user", "delete-a-package-version-for-the-authenticated-user"},
	opRestoreVersion: {"restore-package-version-for-an-organization", "restore-package-version-for-a-user", "restore-a-package-version-for-the-authenticated-user"},
}

// call is one REST request to a package endpoint.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	kind ownerKind
	op   op
}

func (c call) fail(status int, msg string) {
	writeGitHubError(c.w, status, msg, packagesDocs+docAnchors[c.op][c.kind])
}

func (s *Server) routes() {
	prefixes := []struct {
		path string
		kind ownerKind
	}{{"/orgs/{owner}", kindOrg}, {"/users/{owner}", kindUser}, {"/user", kindViewer}}
	for _, p := range prefixes {
		pkg := p.path + "/packages/{ptype}/{name}"
		s.handlePackages("GET "+p.path+"/packages", p.kind, opList, s.listPackages)
		s.handlePackages("GET "+pkg, p.kind, opGet, s.getPackage)
		s.handlePackages("DELETE "+pkg, p.kind, opDelete, s.deletePackage)
		s.handlePackages("POST "+pkg+"/restore", p.kind, opRestore, s.restorePackage)
		s.handlePackages("GET "+pkg+"/versions", p.kind, opListVersions, s.listVersions)
		s.handlePackages("GET "+pkg+"/versions/{id}", p.kind, opGetVersion, s.getVersion)
		s.handlePackages("DELETE "+pkg+"/versions/{id}", p.kind, opDeleteVersion, s.deleteVersion)
		s.handlePackages("POST "+pkg+"/versions/{id}/restore", p.kind, opRestoreVersion, s.restoreVersion)
	}
	s.mux.HandleFunc("GET /users/{login}", s.rest(s.getUser))
	s.mux.HandleFunc("GET /user", s.rest(s.getViewer))
	s.mux.HandleFunc("GET /token", s.serveToken)
	s.mux.HandleFunc("/v2/", s.serveRegistry)
	s.mux.HandleFunc("/v2", s.serveRegistry)
	s.mux.HandleFunc("/", s.rest(s.notFound))
}

func (s *Server) handlePackages(pattern string, kind ownerKind, o op, h func(call)) {
	s.mux.HandleFunc(pattern, s.rest(func(w http.ResponseWriter, r *http.Request) {
		c := call{w: w, r: r, kind: kind, op: o}
		if s.cfg.actionsToken {
			if kind == kindViewer {
				writeGitHubError(w, http.StatusForbidden, "Resource not accessible by integration", packagesDocs+docAnchors[o][kind])
				return
			}
			if o == opList {
				c.fail(http.StatusBadRequest, "Invalid argument.")
				return
			}
		}
		h(c)
	}))
}

// rest wraps every REST endpoint with authentication and both rate limits,
// and puts the x-ratelimit-* headers on every answer.
func (s *Server) rest(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqSeq++
		reqID := fmt.Sprintf("F4KE:%04X:%06X", s.reqSeq%0x10000, s.reqSeq)
		w.Header().Set("X-GitHub-Request-Id", reqID)
		if !s.restAuthorized(r) {
			s.setRateHeaders(w)
			s.mu.Unlock()
			writeGitHubError(w, http.StatusUnauthorized, "Bad credentials", docsBase)
			return
		}
		if s.primaryExhausted() {
			s.setRateHeaders(w)
			uid := int64(1)
			if a := s.accounts[s.viewer]; a != nil {
				uid = a.id
			}
			s.mu.Unlock()
			writeGitHubError(w, http.StatusForbidden, fmt.Sprintf(msgPrimary, uid, reqID), rateLimitDocs)
			return
		}
		s.primaryUsed++
		s.setRateHeaders(w)
		if s.cfg.classic {
			w.Header().Set("X-OAuth-Scopes", strings.Join(s.cfg.scopes, ", "))
		}
		limited := s.secondaryExceeded(r)
		s.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "60")
			writeGitHubError(w, http.StatusForbidden, fmt.Sprintf(msgSecondary, reqID), secondaryDocs)
			return
		}
		h(w, r)
	}
}

func (s *Server) restAuthorized(r *http.Request) bool {
	if s.cfg.token == "" {
		return true
	}
	auth := r.Header.Get("Authorization")
	return auth == "Bearer "+s.cfg.token || auth == "token "+s.cfg.token
}

// primaryExhausted also rolls the hourly window; callers hold s.mu.
func (s *Server) primaryExhausted() bool {
	now := time.Now()
	if s.primaryReset.IsZero() || !now.Before(s.primaryReset) {
		s.primaryUsed, s.primaryReset = 0, now.Add(time.Hour)
	}
	return s.primaryUsed >= s.cfg.primaryBudget
}

func (s *Server) setRateHeaders(w http.ResponseWriter) {
	if s.primaryReset.IsZero() {
		s.primaryReset = time.Now().Add(time.Hour)
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.cfg.primaryBudget))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.cfg.primaryBudget-s.primaryUsed, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.primaryUsed))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.primaryReset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// secondaryExceeded charges the request to its endpoint (the route pattern,
// so all version ids share one budget); callers hold s.mu.
func (s *Server) secondaryExceeded(r *http.Request) bool {
	if s.cfg.secondaryPoints <= 0 {
		return false
	}
	cost := 5
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		cost = 1
	}
	now := time.Now()
	win := s.secondary[r.Pattern]
	if win == nil || now.Sub(win.start) >= time.Minute {
		win = &pointWindow{start: now}
		s.secondary[r.Pattern] = win
	}
	if win.points+cost > s.cfg.secondaryPoints {
		s.secondaryRefused(r)
		return true
	}
	win.points += cost
	return false
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	// A package name with an unescaped "/" lands here because it has one
	// segment too many; GitHub answers that with the package 404.
	p := r.URL.Path
	if strings.HasPrefix(p, "/user/packages/") || (strings.HasPrefix(p, "/orgs/") || strings.HasPrefix(p, "/users/")) && strings.Contains(p, "/packages/") {
		writeGitHubError(w, http.StatusNotFound, msgPkgNotFound, packagesDocs+"get-a-package-for-an-organization")
		return
	}
	writeGitHubError(w, http.StatusNotFound, "Not Found", docsBase)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.accounts[strings.ToLower(r.PathValue("login"))]
	s.mu.Unlock()
	if a == nil {
		writeGitHubError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/users/users#get-a-user")
		return
	}
	writeJSON(w, http.StatusOK, s.accountJSON(a))
}

func (s *Server) getViewer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.accounts[s.viewer]
	s.mu.Unlock()
	switch {
	case s.cfg.actionsToken:
		writeGitHubError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
	case a == nil:
		writeGitHubError(w, http.StatusUnauthorized, "Requires authentication", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
	default:
		writeJSON(w, http.StatusOK, s.accountJSON(a))
	}
}

// owner resolves the {owner} of the URL for the prefix used; an org asked for
// under /users/ (or the reverse) does not resolve. Callers hold s.mu.
func (s *Server) owner(c call) *account {
	var a *account
	if c.kind == kindViewer {
		a = s.accounts[s.viewer]
	} else {
		a = s.accounts[strings.ToLower(c.r.PathValue("owner"))]
	}
	if a == nil || a.org != (c.kind == kindOrg) {
		return nil
	}
	return a
}

// pkg resolves owner and package of a per-package endpoint, writing the 404
// itself; deleted packages resolve only when includeDeleted. Callers hold s.mu.
func (s *Server) pkg(c call, includeDeleted bool) *pkgState {
	a := s.owner(c)
	if a == nil || c.r.PathValue("ptype") != "container" {
		c.fail(http.StatusNotFound, msgPkgNotFound)
		return nil
	}
	p := s.pkgs[repoKey(a.login, c.r.PathValue("name"))]
	if p == nil || (!p.deletedAt.IsZero() && !includeDeleted) {
		c.fail(http.StatusNotFound, msgPkgNotFound)
		return nil
	}
	return p
}

var packageTypes = map[string]bool{"npm": true, "maven": true, "rubygems": true, "docker": true, "nuget": true, "container": true}

func (s *Server) listPackages(c call) {
	q := c.r.URL.Query()
	ptype := q.Get("package_type")
	if !packageTypes[ptype] {
		c.fail(http.StatusBadRequest, "Invalid argument. package_type must be one of npm, maven, rubygems, docker, nuget, container.")
		return
	}
	page, perPage := pageParams(q)
	if page*perPage > 10000 {
		c.fail(http.StatusBadRequest, "The value of per_page multiplied by page cannot be greater than 10000.")
		return
	}
	s.mu.Lock()
	a := s.owner(c)
	if a == nil {
		s.mu.Unlock()
		writeGitHubError(c.w, http.StatusNotFound, "Not Found", packagesDocs+docAnchors[c.op][c.kind])
		return
	}
	var found []*pkgState
	if ptype == "container" {
		for _, p := range s.pkgs {
			if p.owner == a && p.deletedAt.IsZero() && visibilityMatches(p, q.Get("visibility")) {
				found = append(found, p)
			}
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].name < found[j].name })
	items := make([]any, 0, perPage)
	for _, p := range paginate(c, len(found), page, perPage, found) {
		items = append(items, s.packageJSON(p, c.kind))
	}
	h := s.hostile
	s.mu.Unlock()
	s.writeListing(c, h, page, items)
}

func visibilityMatches(p *pkgState, want string) bool {
	switch want {
	case "public":
		return p.public
	case "private":
		return !p.public
	}
	return true
}

func (s *Server) getPackage(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pkg(c, false); p != nil {
		writeJSON(c.w, http.StatusOK, s.packageJSON(p, c.kind))
	}
}

func (s *Server) deletePackage(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkg(c, false)
	if p == nil {
		return
	}
	if p.public {
		total := 0
		for _, v := range p.versions {
			total += v.downloads
		}
		if total > downloadsCeiling {
			c.fail(http.StatusBadRequest, msgPkgDownloads)
			return
		}
	}
	p.deletedAt = s.now()
	c.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) restorePackage(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkg(c, true)
	if p == nil {
		return
	}
	if p.deletedAt.IsZero() {
		c.fail(http.StatusNotFound, msgPkgNotFound)
		return
	}
	p.deletedAt = time.Time{}
	c.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listVersions(c call) {
	q := c.r.URL.Query()
	page, perPage := pageParams(q)
	s.mu.Lock()
	p := s.pkg(c, false)
	if p == nil {
		s.mu.Unlock()
		return
	}
	vs := p.activeVersions(q.Get("state") == "deleted")
	items := make([]any, 0, perPage)
	for _, v := range paginate(c, len(vs), page, perPage, vs) {
		items = append(items, s.versionJSON(p, v, c.kind))
	}
	h := s.hostile
	s.mu.Unlock()
	s.writeListing(c, h, page, items)
}

// version resolves {id}; deleted versions resolve only when wantDeleted says so.
func (s *Server) version(c call, p *pkgState, wantDeleted func(deleted bool) bool) *versionState {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	v := p.byID(id)
	if err != nil || v == nil || !wantDeleted(!v.active()) {
		c.fail(http.StatusNotFound, msgVerNotFound)
		return nil
	}
	return v
}

func (s *Server) getVersion(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkg(c, false)
	if p == nil {
		return
	}
	if v := s.version(c, p, func(bool) bool { return true }); v != nil {
		writeJSON(c.w, http.StatusOK, s.versionJSON(p, v, c.kind))
	}
}

func (s *Server) deleteVersion(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkg(c, false)
	if p == nil {
		return
	}
	v := s.version(c, p, func(deleted bool) bool { return !deleted })
	if v == nil {
		return
	}
	if len(v.tags) > 0 && !otherTagged(p, v) {
		c.fail(http.StatusBadRequest, msgLastTagged)
		return
	}
	if len(p.active) == 1 {
		c.fail(http.StatusBadRequest, msgLastVersion)
		return
	}
	if p.public && v.downloads > downloadsCeiling {
		c.fail(http.StatusBadRequest, msgDownloads)
		return
	}
	p.deleteVersion(v, s.now())
	s.versionDeleted(c.r)
	c.w.WriteHeader(http.StatusNoContent)
}

func otherTagged(p *pkgState, v *versionState) bool {
	for _, h := range p.tags {
		if h != v {
			return true
		}
	}
	return false
}

func (s *Server) restoreVersion(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkg(c, false)
	if p == nil {
		return
	}
	v := s.version(c, p, func(deleted bool) bool { return deleted })
	if v == nil {
		return
	}
	if p.byDigest(v.digest) != nil {
		// The digest was pushed again and is a newer version now.
		c.fail(http.StatusConflict, "A package version with this digest already exists.")
		return
	}
	p.restoreVersion(v)
	c.w.WriteHeader(http.StatusNoContent)
}

func pageParams(q url.Values) (page, perPage int) {
	page, perPage = 1, 30
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	return page, perPage
}

// paginate returns the page's slice of items and sets the Link header the way
// api.github.com does (absolute URLs; no header when everything fits one page).
func paginate[T any](c call, total, page, perPage int, items []T) []T {
	last := max((total+perPage-1)/perPage, 1)
	if last > 1 {
		link := func(p int, rel string) string {
			u := *c.r.URL
			q := u.Query()
			q.Set("page", strconv.Itoa(p))
			q.Set("per_page", strconv.Itoa(perPage))
			u.RawQuery = q.Encode()
			return fmt.Sprintf(`<%s%s>; rel=%q`, baseURL(c.r), u.RequestURI(), rel)
		}
		var links []string
		if page > 1 {
			links = append(links, link(min(page-1, last), "prev"))
		}
		if page < last {
			links = append(links, link(page+1, "next"), link(last, "last"))
		}
		if page > 1 {
			links = append(links, link(1, "first"))
		}
		c.w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*perPage, total)
	return items[start:min(start+perPage, total)]
}

func baseURL(r *http.Request) string { return "http://" + r.Host }

type versionJSON struct {
	ID             int64        `json:"id"`
	Name           string       `json:"name"`
	URL            string       `json:"url"`
	PackageHTMLURL string       `json:"package_html_url"`
	CreatedAt      string       `json:"created_at"`
	UpdatedAt      string       `json:"updated_at"`
	HTMLURL        string       `json:"html_url"`
	DeletedAt      string       `json:"deleted_at,omitempty"`
	Metadata       metadataJSON `json:"metadata"`
}

type metadataJSON struct {
	PackageType string `json:"package_type"`
	Container   struct {
		Tags []string `json:"tags"`
	} `json:"container"`
}

// ownerPath is "orgs/x" or "users/x" as GitHub prints it; /user answers use
// the users/ form.
func ownerPath(a *account) string {
	if a.org {
		return "orgs/" + a.login
	}
	return "users/" + a.login
}

func (s *Server) packageAPIURL(p *pkgState) string {
	return fmt.Sprintf("%s/%s/packages/container/%s", s.url, ownerPath(p.owner), url.PathEscape(p.name))
}

func packageHTMLURL(p *pkgState) string {
	return fmt.Sprintf("https://github.com/%s/packages/container/package/%s", ownerPath(p.owner), url.PathEscape(p.name))
}

func (s *Server) versionJSON(p *pkgState, v *versionState, _ ownerKind) versionJSON {
	j := versionJSON{
		ID:             v.id,
		Name:           v.digest,
		URL:            fmt.Sprintf("%s/versions/%d", s.packageAPIURL(p), v.id),
		PackageHTMLURL: packageHTMLURL(p),
		CreatedAt:      ghTime(v.created),
		UpdatedAt:      ghTime(v.updated),
		HTMLURL:        fmt.Sprintf("https://github.com/%s/packages/container/%s/%d", ownerPath(p.owner), url.PathEscape(p.name), v.id),
	}
	if !v.active() {
		j.DeletedAt = ghTime(v.deletedAt)
	}
	j.Metadata.PackageType = "container"
	j.Metadata.Container.Tags = append([]string{}, v.tags...)
	return j
}

func (s *Server) packageJSON(p *pkgState, _ ownerKind) map[string]any {
	vis := "private"
	if p.public {
		vis = "public"
	}
	return map[string]any{
		"id":            p.id,
		"name":          p.name,
		"package_type":  "container",
		"owner":         s.accountJSON(p.owner),
		"version_count": len(p.activeVersions(false)),
		"visibility":    vis,
		"url":           s.packageAPIURL(p),
		"created_at":    ghTime(p.created),
		"updated_at":    ghTime(p.updated),
		"html_url":      packageHTMLURL(p),
	}
}

func (s *Server) accountJSON(a *account) map[string]any {
	typ, path := "User", "users/"+a.login
	if a.org {
		typ = "Organization"
	}
	return map[string]any{
		"login":      a.login,
		"id":         a.id,
		"node_id":    fmt.Sprintf("U_fake%d", a.id),
		"avatar_url": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", a.id),
		"url":        s.url + "/" + path,
		"html_url":   "https://github.com/" + a.login,
		"type":       typ,
		"site_admin": false,
	}
}

func ghTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a write error means the client went away
}

// writeGitHubError writes GitHub's error body; "status" is a string there.
func writeGitHubError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]string{
		"message":           msg,
		"documentation_url": doc,
		"status":            strconv.Itoa(status),
	})
}
