package action

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
)

// hostileValues are what outside data (a plan file, an error body) may
// carry to try to run workflow commands from the log.
var hostileValues = []string{
	"\n::error::pwned",
	"\r\n::stop-commands::x",
	"x\r::error::pwned",
	"::error::pwned",
	"  ::stop-commands::x",
	"##[error]pwned",
	"a ##[set-output name=deleted-ids]1,2,3",
	"%0A::error::pwned",
}

// runnerCommands are the workflow commands the runner finds in log, one per
// line that holds one, by its two parsers (actions/runner, ActionCommand):
// "::name ...::data" once leading blanks are trimmed, else "##[name ...]"
// anywhere in the line. The runner splits the log at CR and LF.
func runnerCommands(log string) (cmds []string, lines int) {
	for _, line := range strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' }) {
		lines++
		t := strings.TrimLeft(line, " \t")
		if rest, ok := strings.CutPrefix(t, "::"); ok {
			if end := strings.Index(rest, "::"); end >= 0 {
				name, _, _ := strings.Cut(rest[:end], " ")
				cmds = append(cmds, name)
				continue
			}
		}
		if i := strings.Index(line, "##["); i >= 0 {
			if j := strings.Index(line[i:], "]"); j >= 0 {
				name, _, _ := strings.Cut(line[i+3:i+j], " ")
				cmds = append(cmds, name)
			}
		}
	}
	return cmds, lines
}

type hostileStringer string

func (h hostileStringer) String() string { return string(h) }

// Every call of every log method, with every hostile value in every kind of
// argument, writes exactly one line, and the only commands on them are the
// ones the calls make.
func TestLoggerEscapesEveryValue(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(githubactions.New(githubactions.WithWriter(&buf), githubactions.WithGetenv(func(string) string { return "" })))
	var want []string
	calls := 0
	for _, v := range hostileValues {
		args := []any{v, errors.New(v), hostileStringer(v), []string{"ok", v}}
		for _, a := range args {
			log.Infof("%s", a)
			log.Infof("  deleting %d %v: %s", 7, a, a)
			log.Infof("%q %-30v|", a, a)
			log.Warningf("%s: %v", a, a)
			log.Errorf("%v", a)
			log.Noticef("%s", a)
			log.Debugf("%s", a)
			want = append(want, "warning", "error", "notice", "debug")
			calls += 7
		}
		log.Group("Package " + v)
		log.EndGroup()
		want = append(want, "group", "endgroup")
		calls += 2
	}
	got, lines := runnerCommands(buf.String())
	if lines != calls {
		t.Errorf("%d calls wrote %d lines:\n%s", calls, lines, buf.String())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the runner would run %v, want %v:\n%s", got, want, buf.String())
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if t0 := strings.TrimLeft(line, " \t"); strings.HasPrefix(t0, "::error::pwned") || strings.HasPrefix(t0, "::stop-commands::") {
			t.Errorf("injected command line %q", line)
		}
	}
}

// Plain values are written as they are, with the program's own formatting.
func TestLoggerKeepsPlainValues(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(githubactions.New(githubactions.WithWriter(&buf)))
	log.Infof("%s: %d versions, %-4s| %q %v %s", "team/app", 12, "ab", "x", []string{"v1", "v2"}, errors.New("GET http://127.0.0.1:5/v2/: 500 (50% off)"))
	want := `team/app: 12 versions, ab  | "x" [v1 v2] GET http://127.0.0.1:5/v2/: 500 (50%25 off)` + "\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

func TestEscapeValue(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            "plain",
		"a\nb\r\nc":        "a%0Ab%0D%0Ac",
		"100%":             "100%25",
		"::error::x":       ":%3Aerror:%3Ax",
		":::":              ":%3A:",
		"##[group]x":       "##%5Bgroup]x",
		"sha256:abc":       "sha256:abc",
		"http://[::1]:5/x": "http://[:%3A1]:5/x",
	} {
		if got := escapeValue(in); got != want {
			t.Errorf("escapeValue(%q) = %q, want %q", in, got, want)
		}
	}
}
