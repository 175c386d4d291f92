package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

func TestConfirm(t *testing.T) {
	for answer, want := range map[string]bool{"y\n": true, "yes\n": true, "Y\n": true, " YES \r\n": true,
		"n\n": false, "\n": false, "": false, "yep\n": false, "no\n": false} {
		var w strings.Builder
		if got := confirm(context.Background(), strings.NewReader(answer), &w, "Delete?"); got != want {
			t.Errorf("answer %q: %v, want %v", answer, got, want)
		}
		if !strings.HasPrefix(w.String(), "Delete? [y/N] ") {
			t.Errorf("question %q", w.String())
		}
	}
}

// Ctrl-C while the question waits is a no.
func TestConfirmStopped(t *testing.T) {
	r, _ := io.Pipe() // never answers
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if confirm(ctx, r, io.Discard, "Delete?") {
		t.Error("a stopped question confirmed")
	}
}

func TestDeleteQuestion(t *testing.T) {
	plan := func(deletes, untags int) *retention.Plan {
		p := &retention.Plan{}
		for range deletes {
			p.Delete = append(p.Delete, retention.Decision{Version: &retention.Version{}})
		}
		for range untags {
			p.Untag = append(p.Untag, retention.Untag{Tags: []string{"a", "b"}})
		}
		return p
	}
	tests := []struct {
		pkgs []prune.PackageReport
		want string
	}{
		{[]prune.PackageReport{{Plan: plan(5, 0)}}, "Delete 5 versions of 1 package from acme?"},
		{[]prune.PackageReport{{Plan: plan(1, 0)}, {Plan: plan(2, 0)}, {Plan: plan(0, 0)}, {}}, "Delete 3 versions of 2 packages from acme?"},
		{[]prune.PackageReport{{Plan: plan(1, 1)}}, "Delete 1 version of 1 package from acme and remove 2 tags?"},
		{[]prune.PackageReport{{Plan: plan(0, 0)}, {}}, ""},
	}
	for _, tt := range tests {
		q, ok := deleteQuestion(&prune.Report{Owner: "acme", Packages: tt.pkgs})
		if q != tt.want || ok != (tt.want != "") {
			t.Errorf("got %q, %v; want %q", q, ok, tt.want)
		}
	}
}
