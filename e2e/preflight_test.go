package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

// The token preflight, end to end: before anything could fail halfway the
// run says what kind of token it has, with the scopes GitHub lists for
// classic tokens, and refuses a token that cannot do the run, naming the
// fix.

// tokenE2E is newE2E with the fake requiring tok (and opts) instead of
// testToken.
func tokenE2E(t *testing.T, tok string, opts ...fakeghcr.Option) *e2e {
	t.Helper()
	return newE2E(t, "acme", "app", true, append([]fakeghcr.Option{fakeghcr.WithToken(tok)}, opts...)...)
}

// runAs runs the action with tok as its token input; like run, it fails the
// test if the token shows anywhere but the mask command.
func (e *e2e) runAs(tok string, inputs map[string]string) runResult {
	e.t.Helper()
	inputs["token"] = tok
	r := e.run(inputs)
	logged := strings.ReplaceAll(r.log, "::add-mask::"+tok, "")
	errText := ""
	if r.err != nil {
		errText = r.err.Error()
	}
	if strings.Contains(logged+r.summary+fmt.Sprint(r.outputs)+string(r.plan)+errText, tok) {
		e.t.Fatal("the token was printed")
	}
	return r
}

// expectTokenLine asserts the summary's first lines name the token kind.
func expectTokenLine(t *testing.T, r runResult, want string) {
	t.Helper()
	lines := strings.SplitN(r.summary, "\n", 6)
	for _, l := range lines[:min(len(lines), 5)] {
		if l == want {
			return
		}
	}
	t.Errorf("the summary's first lines lack %q:\n%s", want, r.summary)
}

func TestE2ETokenPreflight(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		token  string
		opts   []fakeghcr.Option
		inputs map[string]string
		// wantErr, when set, is in the run's error, which comes before any
		// DELETE; requests is then how many requests the fake got (-1: any).
		wantErr  []string
		requests int
		// line is the summary's token line when the run succeeds.
		line string
	}{
		{
			name: "fine-grained personal access token", token: "github_pat_11AAAAAAA0e2eFineGrained",
			inputs:  inputsOf(),
			wantErr: []string{"token: a fine-grained personal access token (github_pat_) does not work with GitHub Packages", "classic personal access token with read:packages and delete:packages"},
		},
		{
			name: "classic without delete:packages, deleting", token: "ghp_e2eReadOnly",
			opts:     []fakeghcr.Option{fakeghcr.WithTokenScopes("read:packages")},
			inputs:   applied("older-than", "3d"),
			wantErr:  []string{"token: this run deletes package versions", "lacks delete:packages", "its scopes: read:packages", "dry-run: true"},
			requests: 1, // the owner lookup, where GitHub says the scopes
		},
		{
			name: "classic without delete:packages, dry run", token: "ghp_e2eReadOnly",
			opts:   []fakeghcr.Option{fakeghcr.WithTokenScopes("read:packages")},
			inputs: inputsOf("older-than", "3d"),
			line:   "Token: classic personal access token (ghp_), scopes: read:packages.",
		},
		{
			name: "classic with delete:packages", token: "ghp_e2eReadDelete",
			opts:   []fakeghcr.Option{fakeghcr.WithTokenScopes("read:packages", "delete:packages")},
			inputs: applied("older-than", "3d"),
			line:   "Token: classic personal access token (ghp_), scopes: delete:packages, read:packages.",
		},
		{
			name: "classic restoring without write:packages", token: "ghp_e2eReadDelete",
			opts:     []fakeghcr.Option{fakeghcr.WithTokenScopes("read:packages", "delete:packages")},
			inputs:   applied("restore-from", "4711"),
			wantErr:  []string{"token: this run restores package versions", "lacks write:packages"},
			requests: 1,
		},
		{
			name: "OAuth app token without packages scopes", token: "gho_e2eOAuth",
			opts:     []fakeghcr.Option{fakeghcr.WithTokenScopes("repo")},
			inputs:   applied("older-than", "3d"),
			wantErr:  []string{"OAuth app token lacks read:packages and delete:packages"},
			requests: 1,
		},
		{
			name: "GITHUB_TOKEN with a wildcard", token: "ghs_e2eActions",
			opts:    []fakeghcr.Option{fakeghcr.WithActionsToken()},
			inputs:  applied("older-than", "3d", "packages", "app*"),
			wantErr: []string{"packages: a wildcard lists the owner's packages, which GITHUB_TOKEN cannot do", "name each package", "classic personal access token with read:packages and delete:packages"},
		},
		{
			name: "GITHUB_TOKEN", token: "ghs_e2eActions",
			opts:   []fakeghcr.Option{fakeghcr.WithActionsToken()},
			inputs: applied("older-than", "3d"),
			line:   "Token: GITHUB_TOKEN or GitHub App installation token (ghs_).",
		},
		{
			name: "user-to-server token", token: "ghu_e2eUser",
			inputs: applied("older-than", "3d"),
			line:   "Token: GitHub App user-to-server token (ghu_).",
		},
		{
			name: "token without a prefix", token: "0123456789abcdef0123456789abcdef01234567",
			inputs: applied("older-than", "3d"),
			line:   "Token: token of unknown kind.",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tokenE2E(t, tc.token, tc.opts...)
			before := deletable(e)
			r := e.runAs(tc.token, tc.inputs)
			if len(tc.wantErr) > 0 {
				if r.err == nil {
					t.Fatalf("the run succeeded; summary:\n%s", r.summary)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(r.err.Error(), w) {
						t.Errorf("error %q lacks %q", r.err, w)
					}
				}
				if n := e.srv.Stats().Total; n != tc.requests {
					t.Errorf("%d requests before the preflight refused the token, want %d", n, tc.requests)
				}
				e.expectRemaining(before...)
				return
			}
			e.ok(r)
			expectTokenLine(t, r, tc.line)
			if !strings.Contains(r.log, strings.TrimSuffix(tc.line, ".")) {
				t.Errorf("the log does not name the token kind:\n%s", r.log)
			}
		})
	}
}
