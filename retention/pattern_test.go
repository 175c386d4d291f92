package retention

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	digestA = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	digestB = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestPatternsMatchTag(t *testing.T) {
	tests := []struct {
		input    string
		regex    bool
		match    []string
		notMatch []string
	}{
		{"", false, nil, []string{"", "latest"}},
		{"latest", false, []string{"latest"}, []string{"latest2", "xlatest", "Latest", ""}},
		{"*", false, []string{"", "a", "v1.2.3", "a/b[c]"}, nil},
		{"v*", false, []string{"v", "v1", "v1.2.3"}, []string{"1v", "V1"}},
		{"*-rc", false, []string{"-rc", "1.0-rc"}, []string{"1.0-rc1"}},
		{"pr-*-build", false, []string{"pr--build", "pr-12-build"}, []string{"pr-12-build2", "pr-12"}},
		{"v?", false, []string{"v1", "vé"}, []string{"v", "v12"}},
		{"??", false, []string{"ab", "éé"}, []string{"a", "abc"}},
		{"a*b*c", false, []string{"abc", "aXbYc", "abbbc", "acbc"}, []string{"acb", "ab"}},
		{"*a*a*a*b", false, []string{"aaab", "xaxaxaxb"}, []string{strings.Repeat("a", 200)}},
		{"**", false, []string{"", "x"}, nil},
		{"*?", false, []string{"x", "xyz"}, []string{""}},
		{"a/b", false, []string{"a/b"}, []string{"a-b"}},       // / is literal
		{"[abc]", false, []string{"[abc]"}, []string{"a"}},     // [ is literal
		{`a\*`, false, []string{`a\`, `a\x`}, []string{"a*x"}}, // \ is literal, not an escape
		{"a.b", false, []string{"a.b"}, []string{"axb"}},       // . is literal
		{"dev, v1.*\nnightly-?", false, []string{"dev", "v1.0", "nightly-1"}, []string{"v2.0", "nightly-10"}},
		{" a ,, \n\n b ,", false, []string{"a", "b"}, []string{" a ", ""}},
		{"dev\r\nprod\r\n", false, []string{"dev", "prod"}, []string{"dev\r"}},

		{`v\d+`, true, []string{"v1", "v123"}, []string{"v", "xv1", "v1x"}},
		{`v\d{1,3}`, true, []string{"v1", "v123"}, []string{"v1234"}}, // commas stay in the regex
		{"a|b", true, []string{"a", "b"}, []string{"ab"}},             // anchoring covers both branches
		{"^dev$", true, []string{"dev"}, []string{"dev2"}},
		{"(?i)latest", true, []string{"LATEST"}, []string{"latest1"}},
		{"dev\n  pr-.*  \n", true, []string{"dev", "pr-1"}, []string{"pr", "dev\n"}},
		{"a*", true, []string{"", "aaa"}, []string{"b"}}, // regex, not wildcard
	}
	for _, tt := range tests {
		p, err := ParsePatterns(tt.input, tt.regex)
		if err != nil {
			t.Errorf("ParsePatterns(%q, %v): %v", tt.input, tt.regex, err)
			continue
		}
		for _, tag := range tt.match {
			if !p.MatchTag(tag) {
				t.Errorf("ParsePatterns(%q, %v).MatchTag(%q) = false, want true", tt.input, tt.regex, tag)
			}
		}
		for _, tag := range tt.notMatch {
			if p.MatchTag(tag) {
				t.Errorf("ParsePatterns(%q, %v).MatchTag(%q) = true, want false", tt.input, tt.regex, tag)
			}
		}
	}
}

func TestPatternsDigests(t *testing.T) {
	// A match-everything tag pattern must still not select other digests.
	for _, tc := range []struct {
		all   string
		regex bool
	}{{"*", false}, {".*", true}} {
		regex := tc.regex
		p, err := ParsePatterns("v1\n"+digestA+"\n "+tc.all, regex)
		if err != nil {
			t.Fatal(err)
		}
		if !p.MatchDigest(digestA) {
			t.Errorf("regex=%v: MatchDigest(digestA) = false", regex)
		}
		if p.MatchDigest(digestB) {
			t.Errorf("regex=%v: MatchDigest(digestB) = true; tag patterns must not apply to digests", regex)
		}
	}

	p, err := ParsePatterns(digestA+", "+digestB, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.MatchTag(digestA) || p.MatchTag("latest") {
		t.Error("digest entries must never match tags")
	}
	if !p.MatchDigest(digestB) || p.Empty() {
		t.Error("digest-only patterns should match digests and not be empty")
	}

	var zero Patterns
	if zero.MatchDigest(digestA) || zero.MatchTag("") || !zero.Empty() || zero.String() != "" {
		t.Error("zero Patterns must match nothing and be empty")
	}
}

func TestParsePatternsErrors(t *testing.T) {
	tests := []struct {
		input   string
		regex   bool
		wantErr string
	}{
		{"sha256:abc", false, `invalid digest "sha256:abc"`},
		{"sha256:*", false, `invalid digest "sha256:*"`},
		{strings.ToUpper(digestA[:7]) + digestA[7:], false, "invalid digest"}, // could never match a tag
		{"sha256:" + strings.ToUpper(digestA[7:]), false, "invalid digest"},
		{digestA + "0", false, "invalid digest"},
		{"ok\nsha256:zz", true, `invalid digest "sha256:zz"`},
		{"v(", true, `invalid regular expression "v("`},
		{"ok\n[a-", true, `invalid regular expression "[a-"`},
		{"a)|(.*", true, `invalid regular expression "a)|(.*"`}, // would unanchor if only wrapped
		{`\p{Nope}`, true, "invalid regular expression"},
	}
	for _, tt := range tests {
		_, err := ParsePatterns(tt.input, tt.regex)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ParsePatterns(%q, %v): unexpected error %v", tt.input, tt.regex, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParsePatterns(%q, %v) error = %v, want %q", tt.input, tt.regex, err, tt.wantErr)
		}
	}
}

func TestPatternsStringAndEmpty(t *testing.T) {
	tests := []struct {
		input string
		regex bool
		want  string
		empty bool
	}{
		{"", false, "", true},
		{" ,\n , ", false, "", true},
		{"a, b\nc", false, "a, b, c", false},
		{"a,a, b", false, "a, b", false}, // duplicates collapse
		{`x{1,2}` + "\n" + digestA, true, `x{1,2}, ` + digestA, false},
	}
	for _, tt := range tests {
		p, err := ParsePatterns(tt.input, tt.regex)
		if err != nil {
			t.Fatalf("ParsePatterns(%q): %v", tt.input, err)
		}
		if got := p.String(); got != tt.want {
			t.Errorf("ParsePatterns(%q).String() = %q, want %q", tt.input, got, tt.want)
		}
		if got := p.Empty(); got != tt.empty {
			t.Errorf("ParsePatterns(%q).Empty() = %v, want %v", tt.input, got, tt.empty)
		}
	}
}

// A backtracking matcher takes exponential time here; the two-pointer one
// is linear-ish and must finish instantly.
func TestGlobMatchPathological(t *testing.T) {
	pattern := strings.Repeat("*a", 50) + "*b"
	tag := strings.Repeat("a", 10000)
	start := time.Now()
	if globMatch(pattern, tag) {
		t.Error("unexpected match")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// globOracle is the obvious regexp translation, used to check globMatch.
func globOracle(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

func FuzzPatterns(f *testing.F) {
	f.Add("v*", "v1", false)
	f.Add("a?c", "abc", false)
	f.Add("*a*a*b", "aaaa", false)
	f.Add("latest", "latest", false)
	f.Add(`v\d+`, "v12", true)
	f.Add("a)|(.*", "x", true)
	f.Add(digestA, "x", false)
	f.Add("é?", "éé", false)
	f.Add("\xc3?", "é", false)
	f.Fuzz(func(t *testing.T, input, tag string, regex bool) {
		// Whatever the input, parsing and matching must not panic.
		p, err := ParsePatterns(input, regex)
		if err == nil {
			p.MatchTag(tag)
			p.MatchDigest(tag)
			_ = p.String()
			if p.Empty() != (p.String() == "") {
				t.Errorf("Empty() and String() disagree for %q", input)
			}
		}

		// "*" matches anything handed to it.
		star, err := ParsePatterns("*", false)
		if err != nil || !star.MatchTag(tag) {
			t.Errorf("* does not match %q", tag)
		}

		// From here on, treat input as a single wildcard entry.
		if regex || input == "" || strings.TrimSpace(input) != input ||
			strings.ContainsAny(input, ",\n") || hasDigestPrefix(input) {
			return
		}
		p, err = ParsePatterns(input, false)
		if err != nil {
			t.Fatalf("ParsePatterns(%q): %v", input, err)
		}
		if p.String() != input {
			t.Errorf("String() = %q, want %q", p.String(), input)
		}
		if !strings.ContainsAny(input, "*?") {
			// No wildcards: matches exactly itself.
			if !p.MatchTag(input) {
				t.Errorf("%q does not match itself", input)
			}
			if got, want := p.MatchTag(tag), tag == input; got != want {
				t.Errorf("%q MatchTag(%q) = %v, want %v", input, tag, got, want)
			}
		}
		if utf8.ValidString(input) && utf8.ValidString(tag) {
			if got, want := p.MatchTag(tag), globOracle(input).MatchString(tag); got != want {
				t.Errorf("%q MatchTag(%q) = %v, oracle says %v", input, tag, got, want)
			}
		}
	})
}
