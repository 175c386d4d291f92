package retention

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Patterns is a parsed delete-tags or exclude-tags input: tag patterns
// (wildcards or regular expressions) plus exact image digests. The zero
// value matches nothing, so an unset input never selects anything.
type Patterns struct {
	entries []string // as written (trimmed), for String
	globs   []string
	regexps []*regexp.Regexp
	digests map[string]struct{}
}

const digestPrefix = "sha256:"

// ParsePatterns parses a delete-tags / exclude-tags input.
//
// In wildcard mode entries are separated by commas or newlines; in regex
// mode by newlines only, because a regular expression may contain commas
// (a{1,3}). Entries are trimmed and empty ones skipped. An entry of the form
// sha256:<64 lowercase hex> is a digest and only ever matches digests; any
// other entry starting with sha256: (in any case) is an error, since it is
// almost certainly a mistyped digest and tags cannot contain ':' anyway.
//
// Wildcards: * matches any run of characters (including none), ? exactly one
// character, and everything else is literal (including / and [, unlike
// path.Match). Regexes use RE2 syntax and must match the whole tag.
func ParsePatterns(input string, useRegex bool) (Patterns, error) {
	seps := ",\n"
	if useRegex {
		seps = "\n"
	}
	fields := strings.FieldsFunc(input, func(r rune) bool { return strings.ContainsRune(seps, r) })

	var p Patterns
	seen := make(map[string]bool)
	for _, f := range fields {
		e := strings.TrimSpace(f)
		if e == "" || seen[e] {
			continue
		}
		seen[e] = true

		switch {
		case isDigest(e):
			if p.digests == nil {
				p.digests = make(map[string]struct{})
			}
			p.digests[e] = struct{}{}
		case hasDigestPrefix(e):
			return Patterns{}, fmt.Errorf("invalid digest %q: want sha256: followed by 64 lowercase hex characters", e)
		case useRegex:
			// Compile the bare expression first: wrapping an unbalanced
			// entry such as "a)|(.*" would otherwise compile into an
			// unanchored regex that matches every tag.
			if _, err := regexp.Compile(e); err != nil {
				return Patterns{}, fmt.Errorf("invalid regular expression %q: %v", e, err)
			}
			re, err := regexp.Compile("^(?:" + e + ")$")
			if err != nil {
				return Patterns{}, fmt.Errorf("invalid regular expression %q: %v", e, err)
			}
			p.regexps = append(p.regexps, re)
		default:
			p.globs = append(p.globs, e)
		}
		p.entries = append(p.entries, e)
	}
	return p, nil
}

// MatchTag reports whether tag matches any tag pattern. Digest entries are
// never compared with tags.
func (p Patterns) MatchTag(tag string) bool {
	for _, g := range p.globs {
		if globMatch(g, tag) {
			return true
		}
	}
	for _, re := range p.regexps {
		if re.MatchString(tag) {
			return true
		}
	}
	return false
}

// MatchDigest reports whether digest is one of the listed digests. Tag
// patterns are never applied to digests, so "*" does not select untagged
// images by accident.
func (p Patterns) MatchDigest(digest string) bool {
	_, ok := p.digests[digest]
	return ok
}

// Empty reports whether the input had no entries.
func (p Patterns) Empty() bool { return len(p.entries) == 0 }

// String returns the entries joined by ", ", for summaries.
func (p Patterns) String() string { return strings.Join(p.entries, ", ") }

// hasDigestPrefix ignores case: "SHA256:..." is still meant as a digest, and
// as a tag pattern it could never match (tags cannot contain ':').
func hasDigestPrefix(s string) bool {
	return len(s) >= len(digestPrefix) && strings.EqualFold(s[:len(digestPrefix)], digestPrefix)
}

func isDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, digestPrefix)
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// globMatch reports whether the whole of s matches pattern, where * matches
// any run of characters and ? exactly one. It is the iterative two-pointer
// algorithm: on a mismatch only the most recent * is retried one character
// further on, which is enough because an earlier * can never need to absorb
// more. That keeps the worst case at O(len(pattern)*len(s)) instead of the
// exponential blow-up of naive recursion on patterns like "*a*a*a*b".
//
// Everything steps over whole runes; an invalid UTF-8 byte counts as one
// character, as it does in package regexp.
func globMatch(pattern, s string) bool {
	p, t := 0, 0
	star, starT := -1, 0 // position after the last *, and where in s it resumes
	for t < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				p++
				star, starT = p, t
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[t:])
				p++
				t += n
				continue
			default:
				// Compare whole runes so that a stray byte in the pattern
				// cannot match the first half of a multi-byte character.
				_, pn := utf8.DecodeRuneInString(pattern[p:])
				_, sn := utf8.DecodeRuneInString(s[t:])
				if pn == sn && pattern[p:p+pn] == s[t:t+sn] {
					p += pn
					t += sn
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last * absorb one more character and retry from there.
		_, n := utf8.DecodeRuneInString(s[starT:])
		starT += n
		p, t = star, starT
	}
	// s is consumed; only trailing stars may remain.
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
