package fakeghcr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

const (
	ociIndex     = "application/vnd.oci.image.index.v1+json"
	dockerList   = "application/vnd.docker.distribution.manifest.list.v2+json"
	maxManifest  = 4 << 20
	registryName = "ghcr.io"
)

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

func writeOCIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}

// serveToken is the registry's token endpoint: Basic auth with any username
// and the configured token as password, as on ghcr.io.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if s.cfg.token != "" {
		if _, pw, ok := r.BasicAuth(); !ok || pw != s.cfg.token {
			writeOCIError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
	}
	tok := s.issueToken(r.URL.RawQuery)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"token": tok, "access_token": tok})
}

// issueToken makes a registry token for the token endpoint's query; the
// fake grants every scope, and the query only tells its tokens apart.
func (s *Server) issueToken(query string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqSeq++
	tok := fmt.Sprintf("fakeghcr-%d-%s", s.reqSeq, hashHex([]byte(query))[:12])
	s.tokens[tok] = true
	return tok
}

func (s *Server) registryAuthorized(r *http.Request) bool {
	if s.cfg.token == "" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[tok]
}

// splitRepoPath splits "/v2/<repo>/<kind>/<rest>" on the last marker, because
// repository names may have several segments.
func splitRepoPath(p string) (repo, kind, rest string) {
	p = strings.TrimPrefix(p, "/v2/")
	best := -1
	for _, m := range []string{"/manifests/", "/blobs/", "/referrers/", "/tags/list"} {
		if i := strings.LastIndex(p, m); i > best {
			best, kind = i, m
		}
	}
	if best < 0 {
		return "", "", p
	}
	return p[:best], strings.Trim(kind, "/"), p[best+len(kind):]
}

func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	repo, kind, rest := splitRepoPath(r.URL.Path)
	if !s.registryAuthorized(r) {
		challenge := fmt.Sprintf(`Bearer realm="%s/token",service="%s"`, s.url, registryName)
		if repo != "" {
			challenge += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeOCIError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	switch kind {
	case "":
		if rest == "" || r.URL.Path == "/v2" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
			return
		}
		writeOCIError(w, http.StatusNotFound, "NOT_FOUND", "page not found")
	case "manifests":
		s.serveManifest(w, r, repo, rest)
	case "blobs":
		s.serveBlob(w, r, repo)
	case "tags/list":
		if rest != "" {
			writeOCIError(w, http.StatusNotFound, "NOT_FOUND", "page not found")
			return
		}
		s.serveTags(w, r, repo)
	case "referrers":
		// GHCR has no referrers API; clients fall back to the sha256-<hex> tag.
		writeOCIError(w, http.StatusNotFound, "NOT_FOUND", "page not found")
	}
}

// ownerOf checks that the first path segment is a known account and that a
// package name follows; callers hold s.mu.
func (s *Server) ownerOf(repo string) (*account, string) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || name == "" {
		return nil, ""
	}
	return s.accounts[strings.ToLower(owner)], name
}

// livePkg returns the package behind a registry path unless it is missing or
// deleted; callers hold s.mu.
func (s *Server) livePkg(repo string) *pkgState {
	p := s.pkgs[strings.ToLower(repo)]
	if p == nil || !p.deletedAt.IsZero() {
		return nil
	}
	return p
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, repo string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodDelete:
		writeOCIError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return
	default:
		s.mu.Lock()
		a, _ := s.ownerOf(repo)
		s.mu.Unlock()
		if a == nil {
			writeOCIError(w, http.StatusForbidden, "DENIED", "permission_denied: write_package")
			return
		}
	}
	s.blobs.ServeHTTP(w, r)
}

func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request, repo, ref string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.getManifest(w, r, repo, ref)
	case http.MethodPut:
		s.putManifest(w, r, repo, ref)
	case http.MethodDelete:
		writeOCIError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
	default:
		writeOCIError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
	}
}

func (s *Server) getManifest(w http.ResponseWriter, r *http.Request, repo, ref string) {
	s.mu.Lock()
	var v *versionState
	if p := s.livePkg(repo); p != nil {
		if strings.HasPrefix(ref, "sha256:") {
			v = p.byDigest(ref)
		} else {
			v = p.tags[ref]
		}
	}
	if v != nil && r.Method == http.MethodGet && r.Header.Get(seedHeader) == "" {
		v.downloads++ // manifest GETs count as downloads on ghcr.io
	}
	var body []byte
	var mt, digest string
	if v != nil {
		body, mt, digest = v.body, v.mediaType, v.digest
	}
	pad := s.hostile.ManifestBytes - int64(len(body))
	s.mu.Unlock()
	if v == nil {
		writeOCIError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
		return
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Docker-Content-Digest", digest)
	if pad <= 0 {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	h.Set("Etag", `"`+digest+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet && s.writePadding(w, pad) {
		w.Write(body)
	}
}

func (s *Server) putManifest(w http.ResponseWriter, r *http.Request, repo, ref string) {
	put, ok := readPut(w, r, ref)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, name := s.ownerOf(repo)
	if a == nil {
		writeOCIError(w, http.StatusForbidden, "DENIED", "permission_denied: write_package")
		return
	}
	p := s.pkgs[strings.ToLower(repo)]
	if put.mediaType == ociIndex || put.mediaType == dockerList {
		for _, child := range put.children {
			if p == nil || !p.deletedAt.IsZero() || p.byDigest(child) == nil {
				writeOCIError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Sub-manifest %q not found", child))
				return
			}
		}
	}
	now := s.now()
	if p == nil || !p.deletedAt.IsZero() {
		// A deleted package's namespace is reused by a new package.
		p = &pkgState{id: s.newID(), owner: a, name: name, created: now, tags: map[string]*versionState{}, active: map[string]*versionState{}}
		s.pkgs[strings.ToLower(repo)] = p
	}
	v := p.byDigest(put.digest)
	if v == nil {
		v = &versionState{id: s.newID(), digest: put.digest, mediaType: put.mediaType, body: put.body, created: now, updated: now}
		p.addVersion(v)
	}
	if put.tag != "" {
		p.setTag(put.tag, v, now)
	}
	p.updated = now
	w.Header().Set("Location", fmt.Sprintf("/v2/%s/manifests/%s", repo, put.digest))
	w.Header().Set("Docker-Content-Digest", put.digest)
	w.WriteHeader(http.StatusCreated)
}

// pushed is a manifest PUT as the registry checks it before storing it.
type pushed struct {
	body      []byte
	digest    string
	tag       string // "" for a push by digest
	mediaType string
	children  []string // an index's entries
}

// readPut reads and checks a manifest PUT to ref, or answers the error.
func readPut(w http.ResponseWriter, r *http.Request, ref string) (pushed, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	if err != nil || len(body) > maxManifest {
		writeOCIError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")
		return pushed{}, false
	}
	m := pushed{body: body, digest: "sha256:" + hashHex(body)}
	if strings.HasPrefix(ref, "sha256:") {
		if ref != m.digest {
			writeOCIError(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
			return pushed{}, false
		}
	} else if !tagRE.MatchString(ref) {
		writeOCIError(w, http.StatusBadRequest, "TAG_INVALID", "manifest tag did not match URI")
		return pushed{}, false
	} else {
		m.tag = ref
	}
	var parsed struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(body, &parsed); err != nil {
		writeOCIError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")
		return pushed{}, false
	}
	for _, child := range parsed.Manifests {
		m.children = append(m.children, child.Digest)
	}
	m.mediaType = r.Header.Get("Content-Type")
	if m.mediaType == "" {
		m.mediaType = parsed.MediaType
	}
	if m.mediaType == "" {
		writeOCIError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")
		return pushed{}, false
	}
	return m, true
}

func (s *Server) serveTags(w http.ResponseWriter, r *http.Request, repo string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeOCIError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return
	}
	s.mu.Lock()
	p := s.livePkg(repo)
	var tags []string
	if p != nil {
		tags = p.sortedTags()
	}
	s.mu.Unlock()
	if p == nil {
		writeOCIError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := 0
		for i < len(tags) && tags[i] <= last {
			i++
		}
		tags = tags[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n >= 0 && n < len(tags) {
		tags = tags[:n]
		if n > 0 {
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, repo, n, tags[n-1]))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"name": repo, "tags": append([]string{}, tags...)})
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
