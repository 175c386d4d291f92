package prune

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func writeText(t *testing.T, r *Report, color bool) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b, color); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The terminal text is the job summary's content: the golden files of both
// are made from the same reports.
func TestTextGolden(t *testing.T) {
	r := goldenReport(t)
	golden(t, "text-applied.golden.txt", []byte(writeText(t, r, false)))
	r.DryRun = true
	r.Packages = r.Packages[:1]
	r.Packages[0].Result = nil
	golden(t, "text-dry-run.golden.txt", []byte(writeText(t, r, false)))
}

// Everything the summary says about a package, the text says too.
func TestTextHasTheSummarysContent(t *testing.T) {
	r := goldenReport(t)
	r.TokenKind = "classic personal access token (ghp_)"
	text := writeText(t, r, false)
	for _, want := range []string{
		"ghcr-prune: 5 versions deleted",
		"Token: classic personal access token (ghp_).",
		"Deleted 5 of 6 planned versions:",
		"untagged, 4 days old",
		"in deleted index",
		"refused: Publicly visible package versions",
		"Removed 1 of 1 tag from images that stay:",
		"Kept 8 versions (3 kept for their own sake, the rest because those reach them):",
		"tag prod",
		"Warnings:",
		"ghost image",
		"error: reading the manifest of version 7",
		"105,103,101,102,104",
		"ghcr-prune v1.2.3, commit 0123456789ab",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b") {
		t.Error("colour without asking for it")
	}
	if colored := writeText(t, r, true); !strings.Contains(colored, "\x1b[1m") || !strings.Contains(colored, "\x1b[31m") {
		t.Errorf("no colour when asked for it:\n%q", colored)
	}
}

// Text from outside (GitHub's error bodies, tags) cannot move the cursor,
// clear the screen or retitle the terminal.
func TestTextNeutralizesControlCharacters(t *testing.T) {
	r := goldenReport(t)
	r.Packages[1].Err = errors.New("boom\x1b]0;owned\x07\x1b[2J\r\nnext")
	text := writeText(t, r, false)
	if strings.ContainsAny(text, "\x1b\x07\r") {
		t.Errorf("control characters reached the terminal: %q", text)
	}
	if !strings.Contains(text, "boom ]0;owned  [2J  next") {
		t.Errorf("the message is not shown with its controls blanked:\n%s", text)
	}
}

// A list longer than textRows is cut, and says where the rest is.
func TestTextCapsLongLists(t *testing.T) {
	b := retentiontest.New()
	// One more than shown and the 7 left out: GitHub keeps a package's last version.
	for i := range textRows + 8 {
		b.Image(fmt.Sprintf("img-%d", i), 9*retentiontest.Day)
	}
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{DryRun: true, Time: retentiontest.Now, Packages: []PackageReport{{Package: "app", Versions: textRows + 8, Plan: plan}}}
	text := writeText(t, r, false)
	if !strings.Contains(text, "… and 7 more, listed in the plan file.") {
		t.Errorf("a cut list does not say how many are left out:\n%s", text)
	}
	if n := strings.Count(text, "untagged, 9 days old  "); n != textRows {
		t.Errorf("%d deletion rows, want %d", n, textRows)
	}
}

// Columns line up, numbers to the right.
func TestTextAlignsColumns(t *testing.T) {
	var b strings.Builder
	tx := &text{w: bufio.NewWriter(&b)}
	tx.rows(table{columns: columns("digest", "version id", "reason"), rows: 2, row: func(i int) []string {
		return [][]string{{"sha256:a…", "7", "x"}, {"sha256:bbbb…", "12345", "yy"}}[i]
	}}, "  ")
	tx.w.Flush()
	want := "  digest        version id  reason\n" +
		"  sha256:a…              7  x\n" +
		"  sha256:bbbb…       12345  yy\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
