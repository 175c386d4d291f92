package retention

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Names are prefixed because other files share this package.
const (
	durDay   = 24 * time.Hour
	durMonth = 30 * durDay  // calendar months vary; a fixed 30 days keeps "older than" predictable
	durYear  = 365 * durDay // likewise, leap days are ignored
)

// durUnits maps every accepted spelling to its length. The compact forms
// (3d, 6mo) are what Go users expect; the words (5 days, 1 hour) are what
// dataaxiom/ghcr-cleanup-action users already have in their workflows.
var durUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": durDay, "day": durDay, "days": durDay,
	"w": 7 * durDay, "week": 7 * durDay, "weeks": 7 * durDay,
	"mo": durMonth, "month": durMonth, "months": durMonth,
	"y": durYear, "yr": durYear, "yrs": durYear, "year": durYear, "years": durYear,
}

const durUnitHint = "(use s, m, h, d, w, mo, y)"

// ParseDuration parses the older-than input: one or more "<number><unit>"
// terms, optionally separated by spaces or commas, e.g. "3d", "1w2d",
// "6mo", "2 weeks 3 days" or "3 days, 4 hours". Units are case-insensitive.
// Numbers must be non-negative integers and every number needs a unit, so a
// bare "5" is rejected rather than guessed at. The total must fit in a
// time.Duration (about 292 years); larger values are an error, never wrapped.
//
// Errors quote the input but do not name the option; the caller adds that.
func ParseDuration(s string) (time.Duration, error) {
	fail := func(format string, args ...any) (time.Duration, error) {
		return 0, fmt.Errorf("invalid duration %q: "+format, append([]any{s}, args...)...)
	}

	var total time.Duration
	terms := 0
	i := 0
	for {
		// Separators: whitespace and commas, in any amount.
		for i < len(s) && (durIsSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}

		switch c := s[i]; {
		case c == '-':
			return fail("negative durations are not allowed")
		case c == '.':
			return fail("fractional numbers are not supported (combine units instead, e.g. 1d12h)")
		case durIsLetter(c):
			j := i
			for j < len(s) && durIsLetter(s[j]) {
				j++
			}
			return fail("unit %q has no number before it", s[i:j])
		case !durIsDigit(c):
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fail("unexpected character %q", r)
		}

		// Number. Accumulate by hand so overflow is detected, not wrapped.
		start := i
		var n int64
		for i < len(s) && durIsDigit(s[i]) {
			d := int64(s[i] - '0')
			if n > (math.MaxInt64-d)/10 {
				return fail("too long (the maximum is about 290 years)")
			}
			n = n*10 + d
			i++
		}
		num := s[start:i]
		if i < len(s) && (s[i] == '.' || s[i] == ',') && i+1 < len(s) && durIsDigit(s[i+1]) {
			// "1.5d" or "1,5d": reject explicitly instead of reporting a
			// confusing missing unit after "1".
			return fail("fractional numbers are not supported (combine units instead, e.g. 1d12h)")
		}

		// Unit, possibly after spaces ("5 days").
		for i < len(s) && durIsSpace(s[i]) {
			i++
		}
		ustart := i
		for i < len(s) && durIsLetter(s[i]) {
			i++
		}
		if ustart == i {
			return fail("number %s needs a unit %s", num, durUnitHint)
		}
		name := strings.ToLower(s[ustart:i])
		unit, ok := durUnits[name]
		if !ok {
			return fail("unknown unit %q %s", s[ustart:i], durUnitHint)
		}

		if n > int64(math.MaxInt64/unit) {
			return fail("too long (the maximum is about 290 years)")
		}
		term := time.Duration(n) * unit
		if total > math.MaxInt64-term {
			return fail("too long (the maximum is about 290 years)")
		}
		total += term
		terms++
	}
	if terms == 0 {
		return fail("empty, expected e.g. 30d or 2 weeks")
	}
	return total, nil
}

// The scanner works on ASCII bytes: every valid duration is ASCII, and any
// other byte falls through to the "unexpected character" error.
func durIsSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func durIsDigit(c byte) bool  { return '0' <= c && c <= '9' }
func durIsLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
