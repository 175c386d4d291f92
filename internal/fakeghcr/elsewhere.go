package fakeghcr

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// Elsewhere is a second listener on 127.0.0.1 that records every request it
// gets: a host the token must never reach. It answers as the API would (an
// owner named login, empty listings, deletions done), so that a client that
// followed a redirect to it would go on as if nothing had happened.
type Elsewhere struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path Authorization password"
}

// StartElsewhere starts an Elsewhere whose owner lookups answer login.
func StartElsewhere(login string) *Elsewhere {
	e := &Elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		_, password, _ := r.BasicAuth() // the token as Basic auth is base64
		e.seen = append(e.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+password)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/versions"):
			w.Write([]byte("[]"))
		default:
			w.Write([]byte(`{"login":"` + login + `","type":"Organization"}`))
		}
	}))
	return e
}

// Seen is every request the listener got, as "METHOD path Authorization
// password", the Basic auth password decoded.
func (e *Elsewhere) Seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.seen)
}
