package ghcr

import (
	"fmt"
	"slices"
	"strings"
)

// TokenKind is what a GitHub token is, told by its prefix.
type TokenKind string

// The kinds GitHub's token prefixes name.
const (
	ClassicPAT     TokenKind = "classic personal access token"
	FineGrainedPAT TokenKind = "fine-grained personal access token"
	// ActionsToken is GITHUB_TOKEN; GitHub App installation tokens share
	// its prefix, and GitHub Packages treats both alike.
	ActionsToken TokenKind = "GITHUB_TOKEN or GitHub App installation token"
	OAuthToken   TokenKind = "OAuth app token"
	UserToServer TokenKind = "GitHub App user-to-server token"
	// UnknownToken has none of GitHub's prefixes: a token made before
	// GitHub added them (2021), or one that is not GitHub's.
	UnknownToken TokenKind = "token of unknown kind"
	NoToken      TokenKind = "no token"
)

// prefixes are GitHub's token prefixes; github_pat_ before anything that
// could match its start.
var prefixes = []struct {
	prefix string
	kind   TokenKind
}{
	{"github_pat_", FineGrainedPAT},
	{"ghp_", ClassicPAT},
	{"ghs_", ActionsToken},
	{"gho_", OAuthToken},
	{"ghu_", UserToServer},
}

// KindOf tells a token's kind from its prefix, without a request.
func KindOf(token string) TokenKind {
	if token == "" {
		return NoToken
	}
	for _, p := range prefixes {
		if strings.HasPrefix(token, p.prefix) {
			return p.kind
		}
	}
	return UnknownToken
}

// withArticle is the kind as a sentence names it: "an OAuth app token".
func (k TokenKind) withArticle() string {
	if k == OAuthToken {
		return "an " + string(k)
	}
	return "a " + string(k)
}

// prefixOf is the prefix that told kind, for messages ("ghp_").
func prefixOf(kind TokenKind) string {
	for _, p := range prefixes {
		if p.kind == kind {
			return p.prefix
		}
	}
	return ""
}

// TokenInfo is what the token is and may do, as far as GitHub says: the
// preflight New makes before anything could fail halfway.
type TokenInfo struct {
	Kind TokenKind
	// Scopes are the classic OAuth scopes GitHub listed in X-OAuth-Scopes;
	// ScopesKnown is false when GitHub sent no such header, which it does
	// only for classic personal access tokens and OAuth app tokens.
	Scopes      []string
	ScopesKnown bool
}

// ParseScopes reads an X-OAuth-Scopes header: scopes separated by commas.
func ParseScopes(header string) []string {
	var out []string
	for s := range strings.SplitSeq(header, ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// String describes the token for the log and the job summary, never
// showing any of its value: "classic personal access token (ghp_), scopes:
// delete:packages, read:packages".
func (t TokenInfo) String() string {
	s := string(t.Kind)
	if p := prefixOf(t.Kind); p != "" {
		s += " (" + p + ")"
	}
	switch {
	case t.ScopesKnown && len(t.Scopes) == 0:
		s += ", no scopes"
	case t.ScopesKnown:
		s += ", scopes: " + strings.Join(t.Scopes, ", ")
	}
	return s
}

// has says whether the token's scopes grant scope; write:packages
// includes read:packages, as GitHub documents.
func (t TokenInfo) has(scope string) bool {
	if slices.Contains(t.Scopes, scope) {
		return true
	}
	return scope == "read:packages" && slices.Contains(t.Scopes, "write:packages")
}

// Use is what a run will ask of its token.
type Use struct {
	Deletes  bool // deletes package versions: a run with dry-run false
	Restores bool // restores deleted versions (restore-from)
	Wildcard bool // lists the owner's packages to expand a wildcard
}

// classicFix is what to use instead of a token that cannot do the job.
const classicFix = "use a classic personal access token with read:packages and delete:packages, stored as a secret"

// Check is the preflight's verdict on a token for a use: nil, or an error
// that says what to use instead. Scopes count only once GitHub has said
// them (ScopesKnown); the kind alone is known before any request.
func (t TokenInfo) Check(u Use) error {
	switch {
	case t.Kind == FineGrainedPAT:
		return fmt.Errorf("token: a fine-grained personal access token (github_pat_) does not work with GitHub Packages; %s", classicFix)
	case t.Kind == ActionsToken && u.Wildcard:
		return fmt.Errorf("packages: a wildcard lists the owner's packages, which GITHUB_TOKEN cannot do (GitHub answers 400 Invalid argument.); name each package in packages, or %s", classicFix)
	case !t.ScopesKnown:
		return nil
	}
	need, what, fix := []string{"read:packages", "delete:packages"}, "deletes package versions (dry-run is false)", "or set dry-run: true to only plan"
	switch {
	case u.Restores:
		need, what, fix = []string{"read:packages", "write:packages"}, "restores package versions (restore-from)", "as GitHub's restore endpoint requires"
	case !u.Deletes:
		// Reading a public package needs no scope: only a run that
		// changes something is stopped for want of one.
		return nil
	}
	var missing []string
	for _, s := range need {
		if !t.has(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("token: this run %s, and the %s lacks %s (its scopes: %s); give it %s, %s",
		what, t.Kind, strings.Join(missing, " and "), scopeList(t.Scopes), strings.Join(need, " and "), fix)
}

func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "no scopes"
	}
	return strings.Join(scopes, ", ")
}
