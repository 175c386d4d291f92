package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLookupToken(t *testing.T) {
	gh := func(token string, err error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return token, err }
	}
	tests := []struct {
		name string
		env  map[string]string
		gh   func(context.Context) (string, error)
		want string
	}{
		{"GITHUB_TOKEN first", map[string]string{"GITHUB_TOKEN": "ghp_a", "GH_TOKEN": "ghp_b"}, gh("ghp_c\n", nil), "ghp_a"},
		{"then GH_TOKEN", map[string]string{"GH_TOKEN": " ghp_b "}, gh("ghp_c\n", nil), "ghp_b"},
		{"then gh auth token", map[string]string{"GITHUB_TOKEN": "  "}, gh("gho_c\n", nil), "gho_c"},
	}
	for _, tt := range tests {
		got, err := lookupToken(context.Background(), func(k string) string { return tt.env[k] }, tt.gh)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// No token is an error that names the three ways to give one, and why gh
// gave none.
func TestLookupTokenNone(t *testing.T) {
	none := func(string) string { return "" }
	for _, tt := range []struct {
		gh  func(context.Context) (string, error)
		why string
	}{
		{func(context.Context) (string, error) { return "", errNoGH }, "not installed"},
		{func(context.Context) (string, error) { return "", errors.New("gh auth token: no oauth token found") }, "no oauth token found"},
		{func(context.Context) (string, error) { return "\n", nil }, "gh auth token printed none"},
	} {
		_, err := lookupToken(context.Background(), none, tt.gh)
		if err == nil {
			t.Fatalf("%s: a token was found", tt.why)
		}
		for _, want := range []string{"GITHUB_TOKEN", "GH_TOKEN", "gh auth token", tt.why} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q lacks %q", err, want)
			}
		}
	}
}
