package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestHelpListsEveryInput(t *testing.T) {
	m := metadata(t)
	var b strings.Builder
	writeHelp(&b, m)
	help := b.String()
	for _, in := range m.Inputs {
		if in.Name == "token" {
			if strings.Contains(help, "--token") {
				t.Error("--help offers a token flag")
			}
			continue
		}
		if !strings.Contains(help, "\n  --"+in.Name+" ") && !strings.Contains(help, "\n  --"+in.Name+"[") {
			t.Errorf("--help does not list --%s", in.Name)
		}
		first := strings.Fields(in.Description)
		if !strings.Contains(strings.Join(strings.Fields(help), " "), strings.Join(first[:min(6, len(first))], " ")) {
			t.Errorf("--help lacks the description of %s", in.Name)
		}
	}
	for def, want := range map[string]string{"dry-run": `(default "true")`, "registry-url": `(default "https://ghcr.io")`, "owner": "(required)", "packages": "(required)"} {
		if !strings.Contains(help, "--"+def) || !strings.Contains(help, want) {
			t.Errorf("--help lacks %s for --%s", want, def)
		}
	}
	for _, f := range commandFlags {
		if !strings.Contains(help, "--"+f.name) {
			t.Errorf("--help does not list --%s", f.name)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("a help line wider than a terminal: %q", line)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("one two three four five", 9)
	if want := []string{"one two", "three", "four five"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
