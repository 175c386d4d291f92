package action

import (
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// Logger is the Action the run writes its log through: prune's messages,
// the action's own, and the final error. Values in them come from outside
// (package names and digests from plan files, tag names, the REST API's and
// the registry's error bodies), and the runner reads every line of the log
// for workflow commands: a line that starts with "::" once leading blanks
// are trimmed, or one that holds "##[" anywhere (the runner's older syntax).
// A value that could start a line of its own, or a command within one,
// could stop the runner's command processing (::stop-commands::), fail the
// step or set an output.
//
// The commands (Warningf, Errorf, Fatalf, Noticef, Debugf, Group) are safe
// as go-githubactions writes them: it escapes the whole message as command
// data, as the toolkit does, so it stays on the command's line, and the
// runner takes everything after the command's "::" as its text. A plain line
// (Infof) is written as it is, so Logger escapes each of its arguments.
type Logger struct {
	*githubactions.Action
}

var _ prune.Logger = (*Logger)(nil)

// NewLogger wraps a.
func NewLogger(a *githubactions.Action) *Logger { return &Logger{Action: a} }

// Infof writes a plain line; every argument is escaped (see escapeValue).
func (l *Logger) Infof(format string, args ...any) {
	l.Action.Infof(format, escapeArgs(args)...)
}

// escapeArgs wraps each argument that can carry text so that it is escaped
// once formatted, whatever the verb.
func escapeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case int, int64, int32, uint, uint64, uint32, bool:
			out[i] = a // no text in it, and a * width must stay an int
		default:
			out[i] = escaped{a}
		}
	}
	return out
}

// escaped formats its value as the verb says, then escapes the result.
type escaped struct{ v any }

func (e escaped) Format(f fmt.State, verb rune) {
	if s, ok := e.v.(string); ok && (verb == 's' || verb == 'v') && plain(f) {
		// Most arguments: a string as it is, without formatting it twice.
		io.WriteString(f, escapeValue(s))
		return
	}
	fmt.Fprint(f, escapeValue(fmt.Sprintf(fmt.FormatString(f, verb), e.v)))
}

// plain reports whether f has no width, precision or flag.
func plain(f fmt.State) bool {
	_, width := f.Width()
	_, precision := f.Precision()
	return !width && !precision && !strings.ContainsFunc("-+# 0", func(c rune) bool { return f.Flag(int(c)) })
}

// valueEscaper is the toolkit's escaping of command data (%, CR, LF: the
// value cannot end the line) and of the two ways the runner finds a command
// on a line ("::", "##["), each written with a %-escape: a value can start
// neither a line nor a command, and "%25" keeps the escaping unambiguous.
var valueEscaper = strings.NewReplacer(
	"%", "%25",
	"\r", "%0D",
	"\n", "%0A",
	"::", ":%3A",
	"##[", "##%5B",
)

// escapeValue makes text from outside the program safe on a log line.
func escapeValue(s string) string {
	if !strings.ContainsAny(s, "%\r\n") && !strings.Contains(s, "::") && !strings.Contains(s, "##[") {
		return s // nothing to escape, and no copy
	}
	return valueEscaper.Replace(s)
}
