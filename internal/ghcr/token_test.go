package ghcr_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]ghcr.TokenKind{
		"":                                         ghcr.NoToken,
		"ghp_16C7e42F292c6912E7710c8":              ghcr.ClassicPAT,
		"github_pat_11ABCDEFG_xyz":                 ghcr.FineGrainedPAT,
		"ghs_16C7e42F292c6912E7710c8":              ghcr.ActionsToken,
		"gho_16C7e42F292c6912E7710c8":              ghcr.OAuthToken,
		"ghu_16C7e42F292c6912E7710c8":              ghcr.UserToServer,
		"0123456789abcdef0123456789abcdef01234567": ghcr.UnknownToken, // before GitHub's prefixes
		"ghr_refresh":                              ghcr.UnknownToken,
		"GHP_uppercase":                            ghcr.UnknownToken,
		"github_pa":                                ghcr.UnknownToken,
	} {
		if got := ghcr.KindOf(tok); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", tok, got, want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	for header, want := range map[string][]string{
		"":                                    nil,
		"read:packages":                       {"read:packages"},
		"repo, read:packages,delete:packages": {"delete:packages", "read:packages", "repo"},
		" , read:packages, read:packages ":    {"read:packages"},
	} {
		if got := ghcr.ParseScopes(header); !slices.Equal(got, want) {
			t.Errorf("ParseScopes(%q) = %q, want %q", header, got, want)
		}
	}
}

// The preflight's verdict for every kind of token and use: the errors name
// the input and the fix; a token whose scopes GitHub did not list passes
// on its kind alone.
func TestTokenCheck(t *testing.T) {
	t.Parallel()
	classic := func(scopes ...string) ghcr.TokenInfo {
		return ghcr.TokenInfo{Kind: ghcr.ClassicPAT, Scopes: scopes, ScopesKnown: true}
	}
	var (
		dryRun   = ghcr.Use{}
		deletes  = ghcr.Use{Deletes: true}
		restores = ghcr.Use{Restores: true}
		wildcard = ghcr.Use{Wildcard: true, Deletes: true}
	)
	for _, tc := range []struct {
		name  string
		token ghcr.TokenInfo
		use   ghcr.Use
		want  []string // in the error; none: no error
	}{
		{"fine-grained, dry run", ghcr.TokenInfo{Kind: ghcr.FineGrainedPAT}, dryRun,
			[]string{"token:", "fine-grained personal access token", "does not work with GitHub Packages", "classic personal access token with read:packages and delete:packages"}},
		{"fine-grained, deletes", ghcr.TokenInfo{Kind: ghcr.FineGrainedPAT}, deletes, []string{"token:", "fine-grained"}},
		{"GITHUB_TOKEN", ghcr.TokenInfo{Kind: ghcr.ActionsToken}, deletes, nil},
		{"GITHUB_TOKEN with a wildcard", ghcr.TokenInfo{Kind: ghcr.ActionsToken}, wildcard,
			[]string{"packages:", "wildcard", "GITHUB_TOKEN cannot", "Invalid argument", "name each package", "classic personal access token with read:packages and delete:packages"}},
		{"GITHUB_TOKEN with a wildcard, dry run", ghcr.TokenInfo{Kind: ghcr.ActionsToken}, ghcr.Use{Wildcard: true}, []string{"packages:", "wildcard"}},
		{"classic, scopes not listed", ghcr.TokenInfo{Kind: ghcr.ClassicPAT}, deletes, nil},
		{"classic with both scopes", classic("delete:packages", "read:packages"), deletes, nil},
		{"classic with write and delete", classic("delete:packages", "write:packages"), deletes, nil},
		{"classic without delete:packages", classic("read:packages"), deletes,
			[]string{"token:", "deletes package versions", "lacks delete:packages", "its scopes: read:packages", "dry-run: true"}},
		{"classic without any scope", classic(), deletes, []string{"lacks read:packages and delete:packages", "its scopes: no scopes"}},
		{"classic without delete:packages, dry run", classic("read:packages"), dryRun, nil},
		{"classic without scopes, dry run", classic(), dryRun, nil},
		{"classic with a wildcard", classic("read:packages", "delete:packages"), wildcard, nil},
		{"classic restoring", classic("read:packages", "write:packages"), restores, nil},
		{"classic restoring without write:packages", classic("read:packages", "delete:packages"), restores,
			[]string{"restores package versions", "lacks write:packages"}},
		{"OAuth app token without delete:packages", ghcr.TokenInfo{Kind: ghcr.OAuthToken, Scopes: []string{"repo"}, ScopesKnown: true}, deletes,
			[]string{"OAuth app token lacks read:packages and delete:packages"}},
		{"user-to-server", ghcr.TokenInfo{Kind: ghcr.UserToServer}, wildcard, nil},
		{"unknown kind with scopes", ghcr.TokenInfo{Kind: ghcr.UnknownToken, Scopes: []string{"read:packages"}, ScopesKnown: true}, deletes,
			[]string{"lacks delete:packages"}},
		{"no token, dry run", ghcr.TokenInfo{Kind: ghcr.NoToken}, dryRun, nil},
	} {
		err := tc.token.Check(tc.use)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v, want no error", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want one with %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
	}
}

func TestTokenInfoString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		info ghcr.TokenInfo
		want string
	}{
		{ghcr.TokenInfo{Kind: ghcr.ClassicPAT, Scopes: []string{"delete:packages", "read:packages"}, ScopesKnown: true},
			"classic personal access token (ghp_), scopes: delete:packages, read:packages"},
		{ghcr.TokenInfo{Kind: ghcr.ClassicPAT, ScopesKnown: true}, "classic personal access token (ghp_), no scopes"},
		{ghcr.TokenInfo{Kind: ghcr.ClassicPAT}, "classic personal access token (ghp_)"},
		{ghcr.TokenInfo{Kind: ghcr.ActionsToken}, "GITHUB_TOKEN or GitHub App installation token (ghs_)"},
		{ghcr.TokenInfo{Kind: ghcr.UnknownToken}, "token of unknown kind"},
		{ghcr.TokenInfo{Kind: ghcr.NoToken}, "no token"},
	} {
		if got := tc.info.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// X-OAuth-Scopes comes from the server: whatever it says, the scopes are
// sorted, distinct, trimmed and free of separators.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"", "read:packages", "repo, read:packages,delete:packages", " , ,x,x ", "a\tb, c\nd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := ghcr.ParseScopes(header)
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("ParseScopes(%q) = %q: not sorted and distinct", header, got)
		}
		for _, s := range got {
			if s == "" || s != strings.TrimSpace(s) || strings.Contains(s, ",") {
				t.Errorf("ParseScopes(%q) has scope %q", header, s)
			}
		}
	})
}
