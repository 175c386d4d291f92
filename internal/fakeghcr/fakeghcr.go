// Package fakeghcr is an in-process fake of GitHub Container Registry: the
// GitHub Packages REST API and the OCI registry served from one HTTP server on
// 127.0.0.1, sharing one state so that deleting a package version through REST
// makes its manifest and tags disappear from the registry, as on ghcr.io.
//
// It is used by tests (real go-github and go-containerregistry clients) and by
// the offline demo, so it must not import "testing".
package fakeghcr

import (
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	token           string
	now             func() time.Time
	latency         time.Duration
	primaryBudget   int
	secondaryPoints int // 0 = no secondary limit
	faultSeed       int64
	faultFraction   float64
	timeoutFraction float64
	timeoutHold     time.Duration
	actionsToken    bool
	// scopes are the classic token's scopes; classic is whether the token
	// is one (a classic token may have no scopes at all).
	scopes  []string
	classic bool
}

// WithToken requires tok: REST needs "Authorization: Bearer tok" (or "token
// tok"), the registry token endpoint needs Basic auth with password tok. Without
// it every request is accepted.
func WithToken(tok string) Option { return func(c *config) { c.token = tok } }

// WithClock sets the clock used for created_at, updated_at and deleted_at.
// Rate-limit windows use the wall clock because clients sleep on it.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLatency delays every answer by d.
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithPrimaryBudget sets the REST primary rate limit (requests per hour).
func WithPrimaryBudget(n int) Option { return func(c *config) { c.primaryBudget = n } }

// WithSecondaryLimit enables GitHub's secondary limit: pointsPerMinute per REST
// endpoint, where GET costs 1 point and DELETE/POST cost 5.
func WithSecondaryLimit(pointsPerMinute int) Option {
	return func(c *config) { c.secondaryPoints = pointsPerMinute }
}

// WithFaults makes a seeded, hence reproducible, fraction of requests answer 502.
func WithFaults(seed int64, fraction502 float64) Option {
	return func(c *config) { c.faultSeed, c.faultFraction = seed, fraction502 }
}

// WithTimeouts makes a further seeded fraction of requests time out: the
// fake holds the request for hold and then drops the connection without an
// answer, as a gateway that gave up does. It draws from the same seeded
// sequence as WithFaults.
func WithTimeouts(fraction float64, hold time.Duration) Option {
	return func(c *config) { c.timeoutFraction, c.timeoutHold = fraction, hold }
}

// WithActionsToken mimics the Actions GITHUB_TOKEN: list-packages endpoints
// answer 400 "Invalid argument." and /user endpoints 403.
func WithActionsToken() Option { return func(c *config) { c.actionsToken = true } }

// WithTokenScopes makes the token a classic personal access token with
// these scopes: every authenticated REST answer lists them in
// X-OAuth-Scopes, as GitHub does for classic tokens (and only for them and
// OAuth app tokens). No scopes is a classic token without any.
func WithTokenScopes(scopes ...string) Option {
	return func(c *config) { c.scopes, c.classic = scopes, true }
}

// Server is a running fake GHCR.
type Server struct {
	cfg   config
	ln    net.Listener
	http  *http.Server
	url   string
	mux   *http.ServeMux
	blobs http.Handler
	seed  *http.Client // PutManifest's

	mu       sync.Mutex
	accounts map[string]*account // by lowercase login
	viewer   string
	pkgs     map[string]*pkgState // by repository path "owner/name", lowercase
	nextID   int64
	hook     func(http.ResponseWriter, *http.Request) bool
	stats    Stats
	faults   *rand.Rand
	tokens   map[string]bool
	reqSeq   int64
	hostile  Hostile

	primaryUsed  int
	primaryReset time.Time
	secondary    map[string]*pointWindow
}

type account struct {
	login string
	id    int64
	org   bool
}

type pkgState struct {
	id        int64
	owner     *account
	name      string
	public    bool
	created   time.Time
	updated   time.Time
	deletedAt time.Time
	versions  []*versionState          // ascending id
	tags      map[string]*versionState // tag -> active holder
	active    map[string]*versionState // digest -> active version, so lookups stay O(1) at 100,000 versions
	// listed caches activeVersions (active, then deleted) until a version
	// is added, deleted or restored: rebuilt for every page, it would make
	// the fake, not the client, the bottleneck of listing 100,000 versions.
	listed [2][]*versionState
}

type versionState struct {
	id        int64
	digest    string
	mediaType string
	body      []byte
	tags      []string // kept while deleted so that a restore can bring them back
	created   time.Time
	updated   time.Time
	deletedAt time.Time
	downloads int
}

func (v *versionState) active() bool { return v.deletedAt.IsZero() }

type pointWindow struct {
	start  time.Time
	points int
}

// Version is a snapshot of one package version.
type Version struct {
	ID                   int64
	Digest               string
	Tags                 []string
	CreatedAt, UpdatedAt time.Time
	Deleted              bool
	MediaType            string
	Downloads            int
}

// Stats counts requests the fake received (Pusher requests excluded).
type Stats struct {
	REST          map[string]int // by HTTP method
	ManifestReads int            // GET and HEAD of manifests
	ManifestGets  int            // GET only
	ManifestPuts  int
	BlobRequests  int
	TokenRequests int
	Total         int
	Injected502   int // answered 502 by WithFaults
	TimedOut      int // dropped by WithTimeouts
	// PaddingSent is how many bytes of Hostile padding reached the
	// client's connection before it stopped reading.
	PaddingSent int64
	// VersionsDeleted counts the versions REST DELETEs deleted, the first
	// at FirstDelete and the last at LastDelete (wall clock).
	VersionsDeleted         int
	FirstDelete, LastDelete time.Time
	SecondaryLimited        int // answers WithSecondaryLimit refused
}

// Start starts a fake GHCR on 127.0.0.1 with an ephemeral port.
func Start(opts ...Option) *Server {
	cfg := config{now: time.Now, primaryBudget: 5000}
	for _, o := range opts {
		o(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("fakeghcr: listen: " + err.Error())
	}
	s := &Server{
		cfg:       cfg,
		ln:        ln,
		url:       "http://" + ln.Addr().String(),
		blobs:     registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		accounts:  map[string]*account{},
		pkgs:      map[string]*pkgState{},
		nextID:    100000,
		tokens:    map[string]bool{},
		faults:    rand.New(rand.NewSource(cfg.faultSeed)),
		secondary: map[string]*pointWindow{},
		stats:     Stats{REST: map[string]int{}},
		seed:      newSeedClient(),
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.http = &http.Server{Handler: http.HandlerFunc(s.serve), ErrorLog: log.New(io.Discard, "", 0)}
	go s.http.Serve(ln) // ErrServerClosed after Close
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.http.Close()
	s.seed.CloseIdleConnections()
}

// URL is the REST base and registry URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.url }

// Registry is the registry host for image references, "127.0.0.1:PORT".
func (s *Server) Registry() string { return strings.TrimPrefix(s.url, "http://") }

// AddUser registers a user account.
func (s *Server) AddUser(login string) { s.addAccount(login, false) }

// AddOrg registers an organization.
func (s *Server) AddOrg(login string) { s.addAccount(login, true) }

func (s *Server) addAccount(login string, org bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(login)
	if _, ok := s.accounts[key]; ok {
		return
	}
	s.accounts[key] = &account{login: login, id: int64(len(s.accounts) + 1), org: org}
}

// SetViewer sets the authenticated user served under /user; it registers the
// user if needed.
func (s *Server) SetViewer(login string) {
	s.AddUser(login)
	s.mu.Lock()
	s.viewer = strings.ToLower(login)
	s.mu.Unlock()
}

// SetFault installs a hook called first for every request; when it returns
// true it has written the response and the fake does nothing else.
func (s *Server) SetFault(f func(w http.ResponseWriter, r *http.Request) (handled bool)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

// Versions returns every version of a package, deleted ones included, newest first.
func (s *Server) Versions(owner, pkg string) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkgs[repoKey(owner, pkg)]
	if p == nil {
		return nil
	}
	out := make([]Version, 0, len(p.versions))
	for i := len(p.versions) - 1; i >= 0; i-- {
		v := p.versions[i]
		out = append(out, Version{
			ID: v.id, Digest: v.digest, Tags: append([]string{}, v.tags...),
			CreatedAt: v.created, UpdatedAt: v.updated, Deleted: !v.active(),
			MediaType: v.mediaType, Downloads: v.downloads,
		})
	}
	return out
}

// SetUpdated backdates a version: both created_at and updated_at become t.
func (s *Server) SetUpdated(owner, pkg, digest string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.findVersion(owner, pkg, digest); v != nil {
		v.created, v.updated = t, t
	}
}

// SetPublicDownloads makes the package public and gives the version n downloads.
func (s *Server) SetPublicDownloads(owner, pkg, digest string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pkgs[repoKey(owner, pkg)]; p != nil {
		p.public = true
	}
	if v := s.findVersion(owner, pkg, digest); v != nil {
		v.downloads = n
	}
}

// SetVisibility makes a package public or private.
func (s *Server) SetVisibility(owner, pkg string, public bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pkgs[repoKey(owner, pkg)]; p != nil {
		p.public = public
	}
}

// DeleteAllVersions deletes every active version of a package, past the
// refusals the REST API makes (GitHub will not delete a package's last
// version): a package with no versions, which tests of how a run copes with
// one cannot reach through the API.
func (s *Server) DeleteAllVersions(owner, pkg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkgs[repoKey(owner, pkg)]
	if p == nil {
		return
	}
	for _, v := range p.activeVersions(false) {
		p.deleteVersion(v, s.now())
	}
}

// findVersion prefers the active version when a digest was pushed again after
// a delete. Callers hold s.mu.
func (s *Server) findVersion(owner, pkg, digest string) *versionState {
	p := s.pkgs[repoKey(owner, pkg)]
	if p == nil {
		return nil
	}
	if v := p.active[digest]; v != nil {
		return v // the index seeding 100,000 versions relies on
	}
	var found *versionState
	for _, v := range p.versions {
		if v.digest == digest && (found == nil || v.active()) {
			found = v
		}
	}
	return found
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.REST = make(map[string]int, len(s.stats.REST))
	for k, v := range s.stats.REST {
		st.REST[k] = v
	}
	return st
}

// ResetStats zeroes the request counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	s.stats = Stats{REST: map[string]int{}}
	s.mu.Unlock()
}

// ResetRateLimits refills the primary budget and clears secondary windows.
func (s *Server) ResetRateLimits() {
	s.mu.Lock()
	s.primaryUsed, s.primaryReset = 0, time.Time{}
	s.secondary = map[string]*pointWindow{}
	s.mu.Unlock()
}

func repoKey(owner, pkg string) string { return strings.ToLower(owner + "/" + pkg) }

func (s *Server) now() time.Time { return s.cfg.now().UTC().Truncate(time.Second) }

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// serve is the entry point: latency, statistics and faults apply to both APIs.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(seedHeader) == "" {
		if s.cfg.latency > 0 {
			time.Sleep(s.cfg.latency)
		}
		s.mu.Lock()
		s.count(r)
		hook := s.hook
		fault := s.cfg.faultFraction > 0 && s.faults.Float64() < s.cfg.faultFraction
		timeout := !fault && s.cfg.timeoutFraction > 0 && s.faults.Float64() < s.cfg.timeoutFraction
		if fault {
			s.stats.Injected502++
		}
		if timeout {
			s.stats.TimedOut++
		}
		s.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		if timeout {
			time.Sleep(s.cfg.timeoutHold)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // drops the connection all the same
		}
		if fault {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// count classifies a request; callers hold s.mu.
func (s *Server) count(r *http.Request) {
	s.stats.Total++
	p := r.URL.Path
	switch {
	case p == "/token":
		s.stats.TokenRequests++
	case strings.HasPrefix(p, "/v2/"):
		switch {
		case strings.Contains(p, "/manifests/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			s.stats.ManifestReads++
			if r.Method == http.MethodGet {
				s.stats.ManifestGets++
			}
		case strings.Contains(p, "/manifests/") && r.Method == http.MethodPut:
			s.stats.ManifestPuts++
		case strings.Contains(p, "/blobs/"):
			s.stats.BlobRequests++
		}
	default:
		s.stats.REST[r.Method]++
	}
}

// activeVersions lists a package's active versions, newest first.
// activeVersions lists the active (or the deleted) versions, newest first.
// The slice is shared: read it, do not change it.
func (p *pkgState) activeVersions(deleted bool) []*versionState {
	k := 0
	if deleted {
		k = 1
	}
	if p.listed[k] != nil {
		return p.listed[k]
	}
	out := []*versionState{}
	for i := len(p.versions) - 1; i >= 0; i-- {
		if v := p.versions[i]; v.active() != deleted {
			out = append(out, v)
		}
	}
	p.listed[k] = out
	return out
}

func (p *pkgState) byDigest(d string) *versionState {
	return p.active[d]
}

func (p *pkgState) byID(id int64) *versionState {
	i := sort.Search(len(p.versions), func(i int) bool { return p.versions[i].id >= id })
	if i < len(p.versions) && p.versions[i].id == id {
		return p.versions[i]
	}
	return nil
}

func (p *pkgState) addVersion(v *versionState) {
	p.versions = append(p.versions, v)
	p.active[v.digest] = v
	p.listed = [2][]*versionState{}
}

// setTag moves tag to v; the previous holder keeps living as an untagged
// version, which is how GHCR produces "untagged" versions in the first place.
func (p *pkgState) setTag(tag string, v *versionState, now time.Time) {
	old := p.tags[tag]
	if old == v {
		return
	}
	if old != nil {
		old.tags = without(old.tags, tag)
	}
	p.tags[tag] = v
	v.tags = append(v.tags, tag)
	v.updated = now
}

func (p *pkgState) deleteVersion(v *versionState, now time.Time) {
	v.deletedAt = now
	delete(p.active, v.digest)
	p.listed = [2][]*versionState{}
	for _, t := range v.tags {
		if p.tags[t] == v {
			delete(p.tags, t)
		}
	}
}

// restoreVersion brings back the version's tags unless another active version
// took them meanwhile.
func (p *pkgState) restoreVersion(v *versionState) {
	v.deletedAt = time.Time{}
	p.active[v.digest] = v
	p.listed = [2][]*versionState{}
	kept := v.tags[:0]
	for _, t := range v.tags {
		if h := p.tags[t]; h != nil && h != v {
			continue
		}
		p.tags[t] = v
		kept = append(kept, t)
	}
	v.tags = kept
}

func (p *pkgState) sortedTags() []string {
	tags := make([]string, 0, len(p.tags))
	for t := range p.tags {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
