package ghcr_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

func TestDeleteVersion(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	untagged := must[string](t)(p.Image(""))
	c, _ := connect(t, srv, "Acme")
	id := idOf(t, srv, "Acme", "app", untagged)
	if err := c.DeleteVersion(bg, "app", id); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if v := versionOf(srv, "Acme", "app", untagged); !v.Deleted {
		t.Error("the version is still active in the fake")
	}
	err := c.DeleteVersion(bg, "app", id)
	if !errors.Is(err, prune.ErrGone) {
		t.Errorf("second delete: err = %v, want ErrGone", err)
	}
	if err := c.DeleteVersion(bg, "app", 999999999); !errors.Is(err, prune.ErrGone) {
		t.Errorf("delete of an unknown id: err = %v, want ErrGone", err)
	}
	if s := c.Stats(); s.DeleteRequests != 3 {
		t.Errorf("DeleteRequests = %d, want 3", s.DeleteRequests)
	}
}

func TestDeleteLastTaggedRefused(t *testing.T) {
	t.Parallel()
	srv := start(t)
	d := must[string](t)(srv.Pusher("alice", "app").Image("v1"))
	c, _ := connect(t, srv, "alice")
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "alice", "app", d))
	var refused *prune.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v (%T), want *prune.RefusedError", err, err)
	}
	if want := "You cannot delete the last tagged version of a package. You must delete the package instead."; refused.Message != want {
		t.Errorf("Message = %q, want GitHub's %q", refused.Message, want)
	}
	if versionOf(srv, "alice", "app", d).Deleted {
		t.Error("the version was deleted")
	}
}

func TestDeleteManyDownloadsRefused(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("latest"))
	popular := must[string](t)(p.Image(""))
	srv.SetPublicDownloads("Acme", "app", popular, 5001)
	c, _ := connect(t, srv, "Acme")
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "Acme", "app", popular))
	var refused *prune.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(refused.Message, "5000 downloads") {
		t.Fatalf("err = %v, want a RefusedError about 5000 downloads", err)
	}
	if errors.Is(err, prune.ErrGone) {
		t.Error("a refusal must not look like ErrGone")
	}
}

func TestDeleteForbiddenIsAnError(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	d := must[string](t)(p.Image(""))
	c, w := connect(t, srv, "Acme")
	srv.SetFault(func(wr http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		wr.Header().Set("Content-Type", "application/json")
		wr.WriteHeader(http.StatusForbidden)
		io.WriteString(wr, integration)
		return true
	})
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "Acme", "app", d))
	var refused *prune.RefusedError
	if err == nil || errors.Is(err, prune.ErrGone) || errors.As(err, &refused) {
		t.Errorf("err = %v, want a plain failure", err)
	}
	if !strings.Contains(fmt.Sprint(err), "Resource not accessible by integration") {
		t.Errorf("err = %v, want GitHub's message", err)
	}
	wantWaits(t, w)
}

// deleteThenFail is a fault hook for the first DELETE: it lets the fake
// delete the version, then answers as if it had not (fail writes the
// answer, or drops the connection when nil). Later requests go through.
func deleteThenFail(srv *fakeghcr.Server, fail func(http.ResponseWriter)) func(http.ResponseWriter, *http.Request) bool {
	var once atomic.Bool
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete || once.Swap(true) {
			return false
		}
		resp, err := forward(srv, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return true
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			http.Error(w, "seed delete: "+resp.Status, http.StatusInternalServerError)
			return true
		}
		if fail == nil {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return true
		}
		fail(w)
		return true
	}
}

// GitHub deletes the version but the answer is lost (502, dropped
// connection); the retry finds it gone. That is this run's delete, not an
// "already gone".
func TestDeleteRetriedAfterItSucceeded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail func(http.ResponseWriter)
	}{
		{"502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }},
		{"500", func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }},
		{"connection dropped", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			p := srv.Pusher("Acme", "app")
			must[string](t)(p.Image("v1"))
			d := must[string](t)(p.Image(""))
			id := idOf(t, srv, "Acme", "app", d)
			c, w := connect(t, srv, "Acme")
			srv.SetFault(deleteThenFail(srv, tc.fail))
			before := srv.Stats().REST["DELETE"]
			if err := c.DeleteVersion(bg, "app", id); err != nil {
				t.Fatalf("DeleteVersion = %v, want nil (this run deleted it)", err)
			}
			if n := srv.Stats().REST["DELETE"] - before; n != 2 {
				t.Errorf("%d DELETEs reached the fake, want 2 (one retry)", n)
			}
			if !versionOf(srv, "Acme", "app", d).Deleted {
				t.Error("the version is still active")
			}
			if len(w.get()) != 1 {
				t.Errorf("waits = %v, want one backoff", w.get())
			}
			// A later, first-try 404 is still "already gone".
			if err := c.DeleteVersion(bg, "app", id); !errors.Is(err, prune.ErrGone) {
				t.Errorf("delete again: err = %v, want ErrGone", err)
			}
		})
	}
}

// A DELETE refused by a rate limit was not carried out: a 404 on its retry
// means someone else deleted the version, so it stays ErrGone.
func TestDeleteRetriedAfterRateLimitStillGone(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	d := must[string](t)(p.Image(""))
	id := idOf(t, srv, "Acme", "app", d)
	c, w := connect(t, srv, "Acme")
	if err := c.DeleteVersion(bg, "app", id); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(fakeghcr.FailTimes(1, func(r *http.Request) bool { return r.Method == http.MethodDelete },
		func(w http.ResponseWriter) { fakeghcr.WriteSecondaryLimit(w, http.StatusForbidden, 60*time.Second) }))
	if err := c.DeleteVersion(bg, "app", id); !errors.Is(err, prune.ErrGone) {
		t.Errorf("err = %v, want ErrGone", err)
	}
	wantWaits(t, w, 60*time.Second)
}

// A DELETE that fails with 5xx to the end is an error, neither gone nor done.
func TestDeleteAlways502IsAnError(t *testing.T) {
	t.Parallel()
	srv := start(t)
	p := srv.Pusher("Acme", "app")
	must[string](t)(p.Image("v1"))
	d := must[string](t)(p.Image(""))
	c, _ := connect(t, srv, "Acme")
	srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	err := c.DeleteVersion(bg, "app", idOf(t, srv, "Acme", "app", d))
	if err == nil || errors.Is(err, prune.ErrGone) {
		t.Errorf("err = %v, want a plain failure", err)
	}
}
