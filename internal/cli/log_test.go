package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
)

// The action's log reaches a terminal as plain warnings and errors; the
// token's mask, groups and the per-version lines do not.
func TestActionLog(t *testing.T) {
	var out strings.Builder
	log := &actionLog{out: NewStatus(&out, false, 0), token: "ghp_secret"}
	a := githubactions.New(githubactions.WithWriter(log))
	a.AddMask("ghp_secret")
	a.Group("Package app")
	a.Infof("  would delete %d", 105)
	a.Warningf("app: ghost image sha256:ab… 100%% gone\nsecond line")
	a.Errorf("boom with ghp_secret in it")
	a.EndGroup()
	want := "warning: app: ghost image sha256:ab… 100% gone\nsecond line\nerror: boom with *** in it\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

// A restore has no plan to print: its log lines are what it did.
func TestActionLogInfo(t *testing.T) {
	var out strings.Builder
	log := &actionLog{out: NewStatus(&out, false, 0), info: true}
	fmt.Fprint(log, "::group::Package app\nrestored app version 7 sha256:a%3A%3Ab\n::endgroup::\n")
	if want := "Package app\nrestored app version 7 sha256:a::b\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// A line can arrive in pieces.
func TestActionLogPartialLines(t *testing.T) {
	var out strings.Builder
	log := &actionLog{out: NewStatus(&out, false, 0)}
	fmt.Fprint(log, "::warn")
	fmt.Fprint(log, "ing::half")
	if out.Len() != 0 {
		t.Fatalf("a line shown before it ended: %q", out.String())
	}
	fmt.Fprint(log, "\x1b[2J\n")
	if want := "warning: half [2J\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
