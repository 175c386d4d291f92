package prune

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// appendDecision appends d as json.Marshal writes it, byte for byte, and
// then a deletion's outcome and detail when there are any: the plan file's
// one line a version, written without reflection, which at 100,000
// versions took longer than writing the rest of the run's results. One
// difference: no tags are [], never null, whether the listing said [] or
// nothing. FuzzAppendDecision holds it to json.Marshal.
func appendDecision(b []byte, d retention.Decision, outcome Outcome, detail string) ([]byte, error) {
	kind, err := d.Kind.MarshalText()
	if err != nil {
		return nil, err
	}
	action, err := d.Action.MarshalText()
	if err != nil {
		return nil, err
	}
	b = append(b, '{')
	if v := d.Version; v != nil {
		b = append(b, `"id":`...)
		b = strconv.AppendInt(b, v.ID, 10)
		b = append(b, `,"digest":`...)
		b = appendJSONString(b, v.Digest)
		b = append(b, `,"tags":`...)
		b = append(b, '[')
		for i, t := range v.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		b = append(b, ']')
		b = append(b, `,"created_at":`...)
		b = appendJSONTime(b, v.CreatedAt.Time())
		b = append(b, `,"updated_at":`...)
		b = appendJSONTime(b, v.UpdatedAt.Time())
		b = append(b, ',')
	}
	b = append(b, `"kind":`...)
	b = appendJSONString(b, string(kind))
	b = append(b, `,"decision":`...)
	b = appendJSONString(b, string(action))
	if d.Platform != "" {
		b = append(b, `,"platform":`...)
		b = appendJSONString(b, d.Platform)
	}
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, d.Reason)
	if d.KeptBy != "" {
		b = append(b, `,"kept_by":`...)
		b = appendJSONString(b, d.KeptBy)
	}
	if outcome != "" {
		b = append(b, `,"outcome":`...)
		b = appendJSONString(b, string(outcome))
	}
	if detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, detail)
	}
	return append(b, '}'), nil
}

// appendJSONTime is time.Time's MarshalJSON for the years a
// retention.Time holds, all of which it can write.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString is encoding/json's string encoding with its HTML
// escaping, as json.Marshal writes strings.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
