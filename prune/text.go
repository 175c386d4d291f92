package prune

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// textRows caps each list in the terminal text; the plan file has every
// entry.
const textRows = 100

// textIDs is the most deleted version ids the terminal lists; past it the
// plan file (which restore-from takes as well) has them.
const textIDs = 100

// WriteText writes the report as terminal text: the job summary's content
// (headline, deletions in order with reasons, versions left for the next
// run, tag removals, skipped entries of a reviewed plan, kept versions and
// what they protect, warnings, validation, deleted ids), laid out for a
// fixed-width terminal. color adds ANSI colours; the caller decides when a
// terminal wants them.
func (r *Report) WriteText(w io.Writer, color bool) error {
	t := &text{w: bufio.NewWriter(w), color: color}
	r.textHeadline(t)
	for _, p := range r.Packages {
		t.line("")
		r.packageText(t, p)
	}
	if ids := r.DeletedIDs(); len(ids) > 0 {
		t.line("")
		if len(ids) <= textIDs {
			t.styled(bold, "Deleted version ids (GitHub can restore them for 30 days; see restore-from):")
			t.line("  " + strings.Join(ids, ","))
		} else {
			t.styled(bold, fmt.Sprintf("Deleted %s; the plan file lists their ids, and restore-from takes it to restore them within 30 days.", retention.Plural(len(ids), "version")))
		}
	}
	if r.Tool != "" {
		t.line("")
		t.styled(dim, r.Tool)
	}
	return t.w.Flush()
}

func (r *Report) textHeadline(t *text) {
	planned, deleted := 0, 0
	for _, p := range r.Packages {
		if p.Plan != nil {
			planned += len(p.Plan.Delete)
		}
		if p.Result != nil {
			deleted += p.Result.Count(Deleted)
		}
	}
	if r.DryRun {
		t.styled(bold, "ghcr-prune: dry run, "+retention.Plural(planned, "version")+" would be deleted (frees "+FormatBytes(r.ReclaimedBytes())+")")
		t.line("Nothing was deleted.")
	} else {
		t.styled(bold, "ghcr-prune: "+retention.Plural(deleted, "version")+" deleted (freed "+FormatBytes(r.ReclaimedBytes())+")")
	}
	if r.TokenKind != "" {
		t.line("Token: " + r.TokenKind + ".")
	}
	if r.Confined {
		t.line("Confined to a reviewed plan (apply-plan): only versions it listed, and that nothing keeps now, are deleted.")
	}
	t.line("")
	head := table{columns: []column{{name: "package"}, {name: "versions", number: true}, {name: "kept", number: true},
		{name: r.deleteVerb(), number: true}, {name: "frees", number: true}, {name: "left for next run", number: true},
		{name: "broken images", number: true}, {name: "status"}}}
	head.rows = len(r.Packages)
	head.row = func(i int) []string {
		p := r.Packages[i]
		c := p.counts()
		status, frees := "ok", "–"
		if p.Err != nil {
			status = "failed"
		}
		if p.Plan != nil {
			frees = FormatBytes(p.Reclaimed())
		}
		return []string{p.Package, fmt.Sprint(p.Versions), c.kept, c.delete, frees, c.deferred, c.broken, status}
	}
	t.rows(head, "")
	for _, n := range r.Notes {
		t.line("- " + n)
	}
	if c := r.Comparison; c != nil {
		t.line(fmt.Sprintf("Compared with %s (compare-to): %s %s; the job summary (--summary) lists them.",
			c.Path, retention.Plural(c.Changed(), "version"), changeVerb(c.Changed())))
	}
}

func (r *Report) packageText(t *text, p PackageReport) {
	t.styled(bold, p.Package)
	if p.Err != nil {
		t.styled(red, "  error: "+p.Err.Error())
	}
	if p.Plan == nil {
		return
	}
	if len(p.Plan.Delete) == 0 {
		t.line("  " + nothingToDelete)
	}
	for _, tb := range r.packageTables(p) {
		t.styled(bold, "  "+tb.title+":")
		t.rows(tb, "    ")
		if tb.note != "" {
			t.line("    " + tb.note)
		}
	}
	if warnings := p.warnings(); len(warnings) > 0 {
		t.styled(yellow, "  Warnings:")
		for i, w := range warnings {
			if i == textRows {
				t.line(fmt.Sprintf("    … and %d more, listed in the plan file.", len(warnings)-i))
				break
			}
			t.styled(yellow, "    ! "+strings.ReplaceAll(w, "`", ""))
		}
	}
	if status, broken := p.validation(); status != "" {
		style := green
		if len(broken) > 0 || p.ValidateErr != nil {
			style = red
		}
		t.styled(style, "  Validation: "+status)
		for _, b := range broken {
			t.line("    - " + b)
		}
	}
}

// text is terminal text being written.
type text struct {
	w     *bufio.Writer
	color bool
}

// style is an ANSI SGR sequence.
type style string

const (
	bold   style = "\x1b[1m"
	dim    style = "\x1b[2m"
	red    style = "\x1b[31m"
	green  style = "\x1b[32m"
	yellow style = "\x1b[33m"
	reset        = "\x1b[0m"
)

// line writes s; outside text in it is made safe for a terminal first.
func (t *text) line(s string) {
	t.w.WriteString(printable(s) + "\n")
}

func (t *text) styled(st style, s string) {
	if !t.color {
		t.line(s)
		return
	}
	t.w.WriteString(string(st) + printable(s) + reset + "\n")
}

// rows writes a table's first textRows rows in aligned columns under a
// header, each line indented by indent.
func (t *text) rows(tb table, indent string) {
	n := min(tb.rows, textRows)
	cells := make([][]string, 0, n+1)
	header := make([]string, len(tb.columns))
	for i, c := range tb.columns {
		header[i] = c.name
	}
	cells = append(cells, header)
	for i := range n {
		row := tb.row(i)
		for j := range row {
			row[j] = printable(row[j])
		}
		cells = append(cells, row)
	}
	width := make([]int, len(tb.columns))
	for _, row := range cells {
		for j, c := range row {
			width[j] = max(width[j], utf8.RuneCountInString(c))
		}
	}
	for i, row := range cells {
		var b strings.Builder
		for j, c := range row {
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(c))
			switch {
			case tb.columns[j].number:
				b.WriteString(pad + c)
			case j < len(row)-1:
				b.WriteString(c + pad)
			default:
				b.WriteString(c) // no trailing blanks
			}
			if j < len(row)-1 {
				b.WriteString("  ")
			}
		}
		if i == 0 {
			t.styled(dim, indent+b.String())
		} else {
			t.line(indent + b.String())
		}
	}
	if tb.rows > n {
		t.line(fmt.Sprintf("%s… and %d more, listed in the plan file.", indent, tb.rows-n))
	}
}

// printable replaces what a terminal would act on rather than show (escape
// sequences, carriage returns, tabs, newlines in outside text such as
// GitHub's error messages) with spaces.
func printable(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }
