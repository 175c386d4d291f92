package ghcr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v57/github"
)

// access is what a request needed the token for.
type access int

const (
	readAccess access = iota
	deleteAccess
	restoreAccess
)

// PermissionError is GitHub declining a request because the token may not
// make it: a 403 that is no rate limit, or a 404 for a package the token
// should see (GitHub answers 404 where a 403 would tell that a private
// package exists). Fix says what the token needs.
type PermissionError struct {
	Request string // "deleting version 4711 of app"
	Answer  string // GitHub's status and message
	Fix     string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("permission: %s: GitHub answered %s; %s", e.Request, e.Answer, e.Fix)
}

// forbidden says whether err is a 403 that is not a rate limit: go-github
// returns its own types for primary and secondary limits, and the
// Transport has already waited out those it could.
func forbidden(err error) (*github.ErrorResponse, bool) {
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response == nil || ge.Response.StatusCode != http.StatusForbidden {
		return nil, false
	}
	return ge, !strings.Contains(strings.ToLower(ge.Message), "rate limit")
}

// permission turns a 403 that is no rate limit into a PermissionError
// naming the fix, and leaves every other error as it is.
func (c *Client) permission(err error, request string, need access) error {
	ge, ok := forbidden(err)
	if !ok {
		return err
	}
	return &PermissionError{Request: request, Answer: "403 " + ge.Message, Fix: c.token.fix(need)}
}

// fix says what a token of t's kind needs for need.
func (t TokenInfo) fix(need access) string {
	actions := "GITHUB_TOKEN needs `permissions: packages: write` in the workflow and the Admin role for this repository under the package's settings, Manage Actions access"
	scopes, role := []string{"read:packages", "delete:packages"}, "the Admin role on the package"
	switch need {
	case readAccess:
		actions = "GITHUB_TOKEN needs `permissions: packages: read` and, for a private package, this repository under the package's settings, Manage Actions access"
		scopes, role = []string{"read:packages"}, "access to the package"
	case restoreAccess:
		scopes = []string{"read:packages", "write:packages"}
	}
	switch t.Kind {
	case ActionsToken:
		return "this token is a GITHUB_TOKEN (or GitHub App token): " + actions
	case ClassicPAT, OAuthToken:
		return t.classicFix(scopes, role)
	}
	return actions + "; a classic personal access token needs " + strings.Join(scopes, " and ") + "; fine-grained personal access tokens do not work with GitHub Packages"
}

// classicFix is fix for a token with classic scopes: the scopes it lacks,
// or, when it has them all, the role its user lacks.
func (t TokenInfo) classicFix(scopes []string, role string) string {
	var missing []string
	for _, s := range scopes {
		if !t.has(s) {
			missing = append(missing, s)
		}
	}
	switch {
	case !t.ScopesKnown:
		return fmt.Sprintf("this token is %s: it needs %s, and its user needs %s", t.Kind.withArticle(), strings.Join(scopes, " and "), role)
	case len(missing) > 0:
		return fmt.Sprintf("this token is %s: it needs %s (its scopes: %s)", t.Kind.withArticle(), strings.Join(missing, " and "), scopeList(t.Scopes))
	}
	return fmt.Sprintf("this token is %s with %s: its user needs %s", t.Kind.withArticle(), strings.Join(scopes, " and "), role)
}

// errorMessage is GitHub's message in err, or err itself.
func errorMessage(err error) string {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Message != "" {
		return ge.Message
	}
	return err.Error()
}
