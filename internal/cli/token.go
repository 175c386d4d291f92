package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// tokenWays are the ways to give the command line a token.
const tokenWays = "set GITHUB_TOKEN or GH_TOKEN, or log in with the GitHub CLI (gh auth login) so that 'gh auth token' prints one"

// errNoGH is a machine without the GitHub CLI.
var errNoGH = errors.New("the GitHub CLI (gh) is not installed")

// ghTimeout bounds 'gh auth token', which reads a file or the keyring.
const ghTimeout = 20 * time.Second

// lookupToken finds the token: GITHUB_TOKEN, else GH_TOKEN (the names the
// GitHub CLI reads), else what 'gh auth token' prints. It never comes from
// a flag, so it stays out of shell history.
func lookupToken(ctx context.Context, getenv func(string) string, gh func(context.Context) (string, error)) (string, error) {
	for _, name := range []string{"GITHUB_TOKEN", "GH_TOKEN"} {
		if t := strings.TrimSpace(getenv(name)); t != "" {
			return t, nil
		}
	}
	if gh == nil {
		gh = ghAuthToken
	}
	t, err := gh(ctx)
	if t = strings.TrimSpace(t); err == nil && t != "" {
		return t, nil
	}
	why := "gh auth token printed none"
	if err != nil {
		why = err.Error()
	}
	return "", fmt.Errorf("no token: %s (%s)", tokenWays, why)
}

// ghAuthToken runs 'gh auth token' when gh is installed.
func ghAuthToken(ctx context.Context) (string, error) {
	path, err := exec.LookPath("gh")
	if err != nil {
		return "", errNoGH
	}
	ctx, cancel := context.WithTimeout(ctx, ghTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "auth", "token")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("gh auth token: %s", msg)
	}
	return stdout.String(), nil
}
