package cli

import (
	"bytes"
	"strings"
)

// actionLog turns the action's log, written for a GitHub runner, into what
// a terminal user needs on stderr: warnings and errors as plain lines. The
// plan itself is the terminal text on stdout, so the log's per-version
// lines would only repeat it; with info set (a restore, which has no plan
// to print) they are shown too. Workflow commands that only a runner acts
// on (groups, masks) are dropped: ::add-mask:: carries the token itself.
type actionLog struct {
	out     *Status
	info    bool
	token   string // never shown, whatever the log says
	partial []byte // a line not yet ended
}

func (l *actionLog) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(strings.TrimSuffix(string(l.partial[:i]), "\r"))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *actionLog) line(s string) {
	text, show := l.translate(s)
	if !show {
		return
	}
	if l.token != "" {
		text = strings.ReplaceAll(text, l.token, "***")
	}
	l.out.Line(text)
}

// translate is what a terminal shows of one log line, if anything.
func (l *actionLog) translate(s string) (string, bool) {
	rest, isCommand := strings.CutPrefix(s, "::")
	if !isCommand {
		return unescapeLog(s), l.info
	}
	head, msg, ok := strings.Cut(rest, "::")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(head, " ")
	switch name {
	case "warning", "error", "notice":
		return name + ": " + unescapeLog(msg), true
	case "group":
		return unescapeLog(msg), l.info
	}
	return "", false
}

// logUnescaper undoes the escaping a runner's log gets: the toolkit's of
// command data, and the action's of values on plain lines.
var logUnescaper = strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n", "%3A", ":", "%5B", "[")

func unescapeLog(s string) string {
	return printableLine(logUnescaper.Replace(s))
}

// printableLine blanks control characters (escape sequences from outside
// text) but keeps line breaks, which a multi-line message has.
func printableLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
