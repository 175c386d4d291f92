// Package mcachetest is an in-process GitHub Actions cache service for tests
// of the Actions cache store and of the runs that use it.
package mcachetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// CacheService is an in-process GitHub Actions cache service, speaking
// both protocols go-actions-cache implements:
//
//   - v1: REST under /_apis/artifactcache/ (GET cache?keys=&version=,
//     POST caches to reserve, PATCH caches/{id} with Content-Range chunks,
//     POST caches/{id} to commit; downloads are plain GETs of
//     archiveLocation).
//   - v2: twirp JSON under /twirp/github.actions.results.api.v1.CacheService/
//     (CreateCacheEntry, FinalizeCacheEntryUpload,
//     GetCacheEntryDownloadURL) handing out signed URLs to an Azure-blob-like
//     endpoint (Put Blob, Put Block, Put Block List, Get Blob with ranges).
//
// Keys are matched the way the service does: the exact key first, then the
// newest committed entry whose key starts with a restore key; the version
// must match.
type CacheService struct {
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	seq     int
	entries map[string]*cacheEntry // by key
	byID    map[int]*cacheEntry
	blobs   map[string]*cacheBlob // by blob name (v2)
	calls   map[string]int
	failAll int // status to answer every service call with (0: off)
	// failDownload is the status every v1 archive download is answered
	// with (0: off); downloadBase, when set, is where v1 archive URLs
	// point instead of the service (a dead listener, say).
	failDownload int
	downloadBase string
}

type cacheEntry struct {
	id        int
	key       string
	version   string
	seq       int // commit order
	committed bool
	data      []byte // v1 chunks assembled here
	blob      string // v2 blob name
}

type cacheBlob struct {
	data      []byte
	staged    map[string][]byte
	committed bool
}

// NewCacheService starts a service on 127.0.0.1, stopped when the test
// ends.
func NewCacheService(t *testing.T) *CacheService {
	f := &CacheService{
		entries: map[string]*cacheEntry{},
		byID:    map[int]*cacheEntry{},
		blobs:   map[string]*cacheBlob{},
		calls:   map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_apis/artifactcache/", f.v1)
	mux.HandleFunc("/twirp/github.actions.results.api.v1.CacheService/", f.v2)
	mux.HandleFunc("/blob/", f.azure)
	mux.HandleFunc("/v1download/", f.v1download)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Listener.Close()
	f.srv.Listener = l
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.token = RuntimeToken(t)
	return f
}

// RuntimeToken builds an ACTIONS_RUNTIME_TOKEN: an HS256 JWT (the library
// never verifies the signature) with the claims go-actions-cache reads.
func RuntimeToken(t *testing.T) string {
	scopes, _ := json.Marshal([]map[string]any{{"Scope": "refs/heads/main", "Permission": 3}})
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"ac":  string(scopes),
		"nbf": now.Add(-time.Minute).Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"iss": "vstoken.actions.githubusercontent.com",
	})
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte("any key"))
	mac.Write([]byte(signing))
	return signing + "." + enc(mac.Sum(nil))
}

func (f *CacheService) count(name string) {
	f.mu.Lock()
	f.calls[name]++
	f.mu.Unlock()
}

// CallCount is how many calls of one kind the service answered: "v1.load",
// "v1.reserve", "v1.chunk", "v1.commit", "v1.download", "v2." and a twirp
// method, or "azure." and a blob operation.
func (f *CacheService) CallCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// Calls is every CallCount so far.
func (f *CacheService) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// FailAll answers every later service call with status; 0 turns it off.
func (f *CacheService) FailAll(status int) {
	f.mu.Lock()
	f.failAll = status
	f.mu.Unlock()
}

// FailDownloads answers every later v1 archive download with status; 0
// turns it off.
func (f *CacheService) FailDownloads(status int) {
	f.mu.Lock()
	f.failDownload = status
	f.mu.Unlock()
}

// DownloadFrom points later v1 archive URLs at base (a dead listener, say)
// instead of the service; "" points them back.
func (f *CacheService) DownloadFrom(base string) {
	f.mu.Lock()
	f.downloadBase = base
	f.mu.Unlock()
}

func (f *CacheService) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return false
	}
	f.mu.Lock()
	fail := f.failAll
	f.mu.Unlock()
	if fail != 0 {
		w.WriteHeader(fail)
		io.WriteString(w, `{"message":"injected failure"}`)
		return false
	}
	return true
}

// lookup finds the entry to restore for keys (the first is the primary key).
func (f *CacheService) lookup(keys []string, version string) *cacheEntry {
	for i, k := range keys {
		if e, ok := f.entries[k]; ok && e.committed && e.version == version {
			return e
		}
		if i == 0 {
			continue
		}
		var best *cacheEntry
		for _, e := range f.entries {
			if e.committed && e.version == version && strings.HasPrefix(e.key, k) && (best == nil || e.seq > best.seq) {
				best = e
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func (f *CacheService) reserve(key, version string) (*cacheEntry, bool) {
	if _, ok := f.entries[key]; ok {
		return nil, false
	}
	f.seq++
	e := &cacheEntry{id: f.seq, key: key, version: version}
	f.entries[key] = e
	f.byID[e.id] = e
	return e, true
}

// ---- v1 ----

func (f *CacheService) v1(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/_apis/artifactcache/")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case p == "cache" && r.Method == http.MethodGet:
		f.calls["v1.load"]++
		keys := strings.Split(r.URL.Query().Get("keys"), ",")
		// v1 matches every key, including the first, as a prefix too.
		keys = append([]string{keys[0]}, keys...)
		e := f.lookup(keys, r.URL.Query().Get("version"))
		if e == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		base := f.srv.URL
		if f.downloadBase != "" {
			base = f.downloadBase
		}
		// Signed, as the service's Azure SAS URLs are.
		json.NewEncoder(w).Encode(map[string]any{
			"cacheKey":        e.key,
			"scope":           "refs/heads/main",
			"archiveLocation": fmt.Sprintf("%s/v1download/%d?sv=2024-08-04&sr=b&sp=r&sig=%s", base, e.id, urlEscape(f.sig(strconv.Itoa(e.id), "r"))),
		})
	case p == "caches" && r.Method == http.MethodPost:
		f.calls["v1.reserve"]++
		var req struct{ Key, Version string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Key == "" || req.Version == "" {
			http.Error(w, `{"message":"bad request"}`, http.StatusBadRequest)
			return
		}
		e, ok := f.reserve(req.Key, req.Version)
		if !ok {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, `{"$id":"1","innerException":null,"message":"Cache already exists. Scope: refs/heads/main, Key: %s, Version: %s","typeName":"Microsoft.Azure.DevOps.PipelineCache.WebApi.ArtifactCacheItemAlreadyExistsException, Microsoft.Azure.DevOps.PipelineCache.WebApi","typeKey":"ArtifactCacheItemAlreadyExistsException","errorCode":0,"eventId":3000}`, req.Key, req.Version)
			return
		}
		json.NewEncoder(w).Encode(map[string]int{"cacheId": e.id})
	case strings.HasPrefix(p, "caches/"):
		id, err := strconv.Atoi(strings.TrimPrefix(p, "caches/"))
		e := f.byID[id]
		if err != nil || e == nil || e.committed {
			http.Error(w, `{"message":"no such cache"}`, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.Method {
		case http.MethodPatch:
			f.calls["v1.chunk"]++
			var start, end int
			if _, err := fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/*", &start, &end); err != nil || end-start+1 != len(body) {
				http.Error(w, `{"message":"bad content range"}`, http.StatusBadRequest)
				return
			}
			if len(e.data) < end+1 {
				e.data = append(e.data, make([]byte, end+1-len(e.data))...)
			}
			copy(e.data[start:], body)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			f.calls["v1.commit"]++
			var req struct{ Size int }
			if err := json.Unmarshal(body, &req); err != nil || req.Size != len(e.data) {
				http.Error(w, `{"message":"size mismatch"}`, http.StatusBadRequest)
				return
			}
			e.committed = true
			f.seq++
			e.seq = f.seq
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, `{"message":"method"}`, http.StatusMethodNotAllowed)
		}
	default:
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
	}
}

func (f *CacheService) v1download(w http.ResponseWriter, r *http.Request) {
	f.count("v1.download")
	id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/v1download/"))
	f.mu.Lock()
	e := f.byID[id]
	fail := f.failDownload
	f.mu.Unlock()
	if fail != 0 {
		http.Error(w, "injected failure", fail)
		return
	}
	if e == nil || !e.committed {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(e.data)))
}

// ---- v2 ----

func (f *CacheService) v2(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/twirp/github.actions.results.api.v1.CacheService/")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		twirpError(w, http.StatusBadRequest, "malformed", "twirp wants a JSON POST")
		return
	}
	var req struct {
		Key         string   `json:"key"`
		Version     string   `json:"version"`
		SizeBytes   string   `json:"size_bytes"` // int64 is a string in protojson; accept both
		RestoreKeys []string `json:"restore_keys"`
	}
	body, _ := io.ReadAll(r.Body)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		twirpError(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	if v, ok := raw["size_bytes"]; ok {
		req.SizeBytes = strings.Trim(string(v), `"`)
		delete(raw, "size_bytes")
		body, _ = json.Marshal(raw)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		twirpError(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	if req.Key == "" || req.Version == "" {
		twirpError(w, http.StatusBadRequest, "invalid_argument", "key and version are required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["v2."+method]++
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "CreateCacheEntry":
		e, ok := f.reserve(req.Key, req.Version)
		if !ok {
			twirpError(w, http.StatusConflict, "already_exists", "cache entry with the same key, version, and scope already exists")
			return
		}
		e.blob = fmt.Sprintf("cache-%d", e.id)
		f.blobs[e.blob] = &cacheBlob{staged: map[string][]byte{}}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "signed_upload_url": f.signedURL(e.blob, "cw")})
	case "FinalizeCacheEntryUpload":
		e := f.entries[req.Key]
		if e == nil || e.committed || e.version != req.Version {
			twirpError(w, http.StatusNotFound, "not_found", "no reserved entry")
			return
		}
		b := f.blobs[e.blob]
		size, _ := strconv.Atoi(req.SizeBytes)
		if !b.committed || size != len(b.data) {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "message": "upload incomplete"})
			return
		}
		e.committed = true
		f.seq++
		e.seq = f.seq
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "entry_id": strconv.Itoa(e.id)})
	case "GetCacheEntryDownloadURL":
		keys := append([]string{req.Key}, req.RestoreKeys...)
		e := f.lookup(keys, req.Version)
		if e == nil {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "signed_download_url": "", "matched_key": ""})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "signed_download_url": f.signedURL(e.blob, "r"), "matched_key": e.key})
	default:
		twirpError(w, http.StatusNotFound, "bad_route", "no handler for "+method)
	}
}

func twirpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "msg": msg})
}

func (f *CacheService) sig(name, perm string) string {
	mac := hmac.New(sha256.New, []byte("fake account key"))
	fmt.Fprintf(mac, "%s\n%s", name, perm)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signedURL imitates a SAS URL: /blob/<container>/<name>?sp=..&sig=...
func (f *CacheService) signedURL(name, perm string) string {
	return fmt.Sprintf("%s/blob/actions-cache/%s?sv=2024-08-04&sr=b&sp=%s&se=%s&sig=%s", f.srv.URL, name, perm,
		time.Now().Add(10*time.Minute).UTC().Format(time.RFC3339), urlEscape(f.sig(name, perm)))
}

func urlEscape(s string) string {
	return strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(s)
}

// azure serves the blob operations azblob's block blob client uses.
func (f *CacheService) azure(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/blob/actions-cache/")
	q := r.URL.Query()
	azErr := func(status int, code string) {
		w.Header().Set("x-ms-error-code", code)
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
	}
	perm := q.Get("sp")
	if q.Get("sig") != f.sig(name, perm) {
		azErr(http.StatusForbidden, "AuthenticationFailed")
		return
	}
	if r.Header.Get("x-ms-version") == "" {
		azErr(http.StatusBadRequest, "MissingRequiredHeader")
		return
	}
	w.Header().Set("x-ms-request-id", fmt.Sprintf("req-%d", time.Now().UnixNano()))
	w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.blobs[name]
	if b == nil {
		azErr(http.StatusNotFound, "BlobNotFound")
		return
	}
	switch r.Method {
	case http.MethodPut:
		if !strings.Contains(perm, "w") {
			azErr(http.StatusForbidden, "AuthorizationPermissionMismatch")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			azErr(http.StatusBadRequest, "InvalidInput")
			return
		}
		switch q.Get("comp") {
		case "block":
			f.calls["azure.PutBlock"]++
			b.staged[q.Get("blockid")] = body
		case "blocklist":
			f.calls["azure.PutBlockList"]++
			var list struct {
				Latest      []string `xml:"Latest"`
				Committed   []string `xml:"Committed"`
				Uncommitted []string `xml:"Uncommitted"`
			}
			if err := xml.Unmarshal(body, &list); err != nil {
				azErr(http.StatusBadRequest, "InvalidXmlDocument")
				return
			}
			var data []byte
			for _, id := range append(append(list.Latest, list.Uncommitted...), list.Committed...) {
				blk, ok := b.staged[id]
				if !ok {
					azErr(http.StatusBadRequest, "InvalidBlockList")
					return
				}
				data = append(data, blk...)
			}
			b.data, b.committed, b.staged = data, true, map[string][]byte{}
		case "":
			f.calls["azure.PutBlob"]++
			if r.Header.Get("x-ms-blob-type") != "BlockBlob" {
				azErr(http.StatusBadRequest, "InvalidHeaderValue")
				return
			}
			b.data, b.committed = body, true
		default:
			azErr(http.StatusBadRequest, "InvalidQueryParameterValue")
			return
		}
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
		f.calls["azure.GetBlob"]++
		if !b.committed {
			azErr(http.StatusNotFound, "BlobNotFound")
			return
		}
		rng := r.Header.Get("x-ms-range")
		if rng == "" {
			rng = r.Header.Get("Range")
		}
		data := b.data
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Accept-Ranges", "bytes")
		if rng != "" {
			var start int
			if _, err := fmt.Sscanf(rng, "bytes=%d-", &start); err != nil || start > len(data) {
				azErr(http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
				return
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[start:])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data)
	default:
		azErr(http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	}
}

// Keys lists the committed keys, oldest first.
func (f *CacheService) Keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var es []*cacheEntry
	for _, e := range f.entries {
		if e.committed {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	var out []string
	for _, e := range es {
		out = append(out, e.key)
	}
	return out
}

// Vars is the environment a runner gives a step for this service, through
// the v2 protocol or v1.
func (f *CacheService) Vars(v2 bool) map[string]string {
	m := map[string]string{"ACTIONS_RUNTIME_TOKEN": f.token}
	if v2 {
		m["ACTIONS_CACHE_SERVICE_V2"] = "true"
		m["ACTIONS_RESULTS_URL"] = f.srv.URL + "/"
	} else {
		m["ACTIONS_CACHE_URL"] = f.srv.URL + "/"
	}
	return m
}

// Env is Vars as a getenv.
func (f *CacheService) Env(v2 bool) func(string) string {
	m := f.Vars(v2)
	return func(k string) string { return m[k] }
}
