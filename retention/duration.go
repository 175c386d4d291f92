package retention

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	day   = 24 * time.Hour
	month = 30 * day  // calendar months vary; a fixed 30 days keeps "older than" predictable
	year  = 365 * day // likewise, leap days are ignored
)

// units maps every accepted spelling to its length. The compact forms
// (3d, 6mo) are what Go users expect; the words (5 days, 1 hour) are what
// dataaxiom/ghcr-cleanup-action users already have in their workflows.
var units = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": day, "day": day, "days": day,
	"w": 7 * day, "week": 7 * day, "weeks": 7 * day,
	"mo": month, "month": month, "months": month,
	"y": year, "yr": year, "yrs": year, "year": year, "years": year,
}

const unitHint = "(use s, m, h, d, w, mo, y)"

var (
	errTooLong    = errors.New("too long (the maximum is about 290 years)")
	errFractional = errors.New("fractional numbers are not supported (combine units instead, e.g. 1d12h)")
)

// ParseDuration parses the older-than input: one or more "<number><unit>"
// terms, optionally separated by spaces or commas, e.g. "3d", "1w2d",
// "6mo", "2 weeks 3 days" or "3 days, 4 hours". Units are case-insensitive.
// Numbers must be non-negative integers and every number needs a unit, so a
// bare "5" is rejected rather than guessed at. The total must fit in a
// time.Duration (about 292 years); larger values are an error, never wrapped.
//
// Errors quote the input but do not name the option; the caller adds that.
func ParseDuration(s string) (time.Duration, error) {
	var total time.Duration
	terms := 0
	for i := skipSeparators(s, 0); i < len(s); i = skipSeparators(s, i) {
		term, next, err := scanTerm(s, i)
		if err == nil && total > math.MaxInt64-term {
			err = errTooLong
		}
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %v", s, err)
		}
		total += term
		terms++
		i = next
	}
	if terms == 0 {
		return 0, fmt.Errorf("invalid duration %q: empty, expected e.g. 30d or 2 weeks", s)
	}
	return total, nil
}

// skipSeparators skips whitespace and commas, in any amount.
func skipSeparators(s string, i int) int {
	for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
		i++
	}
	return i
}

// scanTerm scans the term "<number><unit>" that starts at s[i] and returns
// its length and the index after it.
func scanTerm(s string, i int) (time.Duration, int, error) {
	switch c := s[i]; {
	case c == '-':
		return 0, 0, errors.New("negative durations are not allowed")
	case c == '.':
		return 0, 0, errFractional
	case isLetter(c):
		j := i
		for j < len(s) && isLetter(s[j]) {
			j++
		}
		return 0, 0, fmt.Errorf("unit %q has no number before it", s[i:j])
	case !isDigit(c):
		r, _ := utf8.DecodeRuneInString(s[i:])
		return 0, 0, fmt.Errorf("unexpected character %q", r)
	}

	// Number. Accumulate by hand so overflow is detected, not wrapped.
	start := i
	var n int64
	for i < len(s) && isDigit(s[i]) {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, 0, errTooLong
		}
		n = n*10 + d
		i++
	}
	num := s[start:i]
	if i < len(s) && (s[i] == '.' || s[i] == ',') && i+1 < len(s) && isDigit(s[i+1]) {
		// "1.5d" or "1,5d": reject explicitly instead of reporting a
		// confusing missing unit after "1".
		return 0, 0, errFractional
	}

	// Unit, possibly after spaces ("5 days").
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	ustart := i
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	if ustart == i {
		return 0, 0, fmt.Errorf("number %s needs a unit %s", num, unitHint)
	}
	unit, ok := units[strings.ToLower(s[ustart:i])]
	if !ok {
		return 0, 0, fmt.Errorf("unknown unit %q %s", s[ustart:i], unitHint)
	}
	if n > int64(math.MaxInt64/unit) {
		return 0, 0, errTooLong
	}
	return time.Duration(n) * unit, i, nil
}

// The scanner works on ASCII bytes: every valid duration is ASCII, and any
// other byte falls through to the "unexpected character" error.
func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
