package prune

import (
	"fmt"
	"strings"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// summaryLimit keeps the job summary under GitHub's 1 MiB limit, past which
// the summary of the step is dropped whole.
const summaryLimit = 900 << 10

// md is a summary being written; rows caps every table and list, and the
// plan file always has everything.
type md struct {
	strings.Builder
	rows int
}

// more ends a table that was cut short.
func (b *md) more(n int) {
	fmt.Fprintf(b, "\n… and %d more, listed in the plan file.\n", n)
}

// Markdown renders the job summary: a headline, then per package what goes,
// what stays and what is wrong with it.
func (r *Report) Markdown() string {
	var out string
	for _, rows := range []int{300, 50, 10, 0} {
		if out = r.markdown(rows); len(out) <= summaryLimit {
			break
		}
	}
	return out
}

func (r *Report) markdown(rows int) string {
	b := md{rows: rows}
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
		fmt.Fprintf(&b, "## ghcr-prune: dry run, %s would be deleted (frees %s)\n\n", retention.Plural(planned, "version"), FormatBytes(r.ReclaimedBytes()))
		b.WriteString("Nothing was deleted. Set `dry-run: false` to delete what is listed below.\n\n")
	} else {
		fmt.Fprintf(&b, "## ghcr-prune: %s deleted (freed %s)\n\n", retention.Plural(deleted, "version"), FormatBytes(r.ReclaimedBytes()))
	}
	if r.TokenKind != "" {
		fmt.Fprintf(&b, "Token: %s.\n\n", oneLine(r.TokenKind))
	}
	if r.Confined {
		b.WriteString("Confined to a reviewed plan (`apply-plan`): only versions it listed, and that nothing keeps now, are deleted.\n\n")
	}
	b.WriteString("| package | versions | kept | " + r.deleteVerb() + " | frees | left for next run | broken images | status |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range r.Packages {
		c := p.counts()
		status := "ok"
		if p.Err != nil {
			status = "**failed**"
		}
		frees := "–"
		if p.Plan != nil {
			frees = FormatBytes(p.Reclaimed())
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", cell(p.Package), p.Versions, c.kept, c.delete, frees, c.deferred, c.broken, status)
	}
	notesMarkdown(&b, r.Notes)
	comparisonMarkdown(&b, r.Comparison)
	for _, p := range r.Packages {
		b.WriteString("\n")
		r.packageMarkdown(&b, p)
	}
	if ids := r.DeletedIDs(); len(ids) > 0 {
		details(&b, fmt.Sprintf("Deleted version ids (GitHub can restore them for 30 days; see restore-from)"), false, func() {
			b.WriteString("```\n" + strings.Join(ids, ",") + "\n```\n")
		})
	}
	if r.Tool != "" {
		if !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n")
		}
		b.WriteString(ToolLine(r.Tool))
	}
	return b.String()
}

// ToolLine is a summary's last line: the build that wrote it.
func ToolLine(tool string) string {
	return "<sub>" + cell(tool) + "</sub>\n"
}

// DeletedIDs are the ids of every version this run deleted, in deletion
// order (restore-from restores them in reverse).
func (r *Report) DeletedIDs() []string {
	var ids []string
	for _, p := range r.Packages {
		if p.Result == nil {
			continue
		}
		for _, a := range p.Result.Deletions {
			if a.Outcome == Deleted {
				ids = append(ids, fmt.Sprint(a.ID))
			}
		}
	}
	return ids
}

func (r *Report) deleteVerb() string {
	if r.DryRun {
		return "to delete"
	}
	return "deleted"
}

// packageCounts are a package's cells in the headline table; "–" where the
// package could not be planned.
type packageCounts struct{ kept, delete, deferred, broken string }

func (p PackageReport) counts() packageCounts {
	if p.Plan == nil {
		return packageCounts{"–", "–", "–", "–"}
	}
	c := packageCounts{
		kept:     fmt.Sprint(len(p.Plan.Keep)),
		delete:   fmt.Sprint(len(p.Plan.Delete)),
		deferred: fmt.Sprint(len(p.Plan.Deferred)),
		broken:   fmt.Sprint(len(p.Plan.Broken)),
	}
	if p.Result != nil {
		c.delete = fmt.Sprintf("%d of %d", p.Result.Count(Deleted), len(p.Plan.Delete))
	}
	return c
}

func (r *Report) packageMarkdown(b *md, p PackageReport) {
	fmt.Fprintf(b, "### %s\n\n", cell(p.Package))
	if p.Err != nil {
		fmt.Fprintf(b, "> [!CAUTION]\n> %s\n\n", oneLine(p.Err.Error()))
	}
	if p.Plan == nil {
		return
	}
	if len(p.Plan.Delete) == 0 {
		b.WriteString(nothingToDelete + "\n\n")
	}
	for _, t := range r.packageTables(p) {
		b.table(t)
	}
	warnings := p.warnings()
	if len(warnings) > 0 {
		b.WriteString("**Warnings**\n\n")
		for i, w := range warnings {
			if i == b.rows {
				b.more(len(warnings) - i)
				break
			}
			fmt.Fprintf(b, "- %s\n", cell(w))
		}
		b.WriteString("\n")
	}
	validationMarkdown(b, p)
}

const nothingToDelete = "Nothing to delete."

// table is one list in a package's report, as the job summary and the
// terminal text both show it. Rows are made on demand: a plan of 100,000
// versions shows a few hundred of them.
type table struct {
	title   string
	open    bool // expanded in the job summary
	columns []column
	rows    int
	row     func(i int) []string // the cells of row i, as plain text
	note    string               // a sentence under the rows
}

// column is a table's column: a number aligns right, a digest is code.
type column struct {
	name         string
	number, code bool
}

func columns(names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n, number: n == "version id" || n == "protects", code: n == "digest"}
	}
	return out
}

// packageTables are a package's lists in the order the summary and the
// terminal show them: deletions, versions left for the next run, tag
// removals, entries of a reviewed plan that were skipped, kept versions.
func (r *Report) packageTables(p PackageReport) []table {
	var out []table
	if len(p.Plan.Delete) > 0 {
		out = append(out, r.deletionsTable(p))
	}
	if t, ok := blockedTable(p.Plan); ok {
		out = append(out, t)
	}
	if len(p.Plan.Deferred) > 0 {
		out = append(out, deferredTable(p.Plan))
	}
	if len(p.Plan.Untag) > 0 {
		out = append(out, untagsTable(p))
	}
	if len(p.Withdrawn) > 0 {
		out = append(out, skippedTable(p))
	}
	return append(out, keptTable(p.Plan, r.Time))
}

// table writes t as a collapsible Markdown table.
func (b *md) table(t table) {
	details(b, t.title, t.open, func() {
		var head, rule strings.Builder
		for _, c := range t.columns {
			head.WriteString("| " + c.name + " ")
			rule.WriteString("|---")
			if c.number {
				rule.WriteString(":")
			}
		}
		b.WriteString(head.String() + "|\n" + rule.String() + "|\n")
		for i := range t.rows {
			if i == b.rows {
				b.more(t.rows - i)
				break
			}
			for j, v := range t.row(i) {
				if t.columns[j].code {
					v = "`" + v + "`"
				} else {
					v = cell(v)
				}
				b.WriteString("| " + v + " ")
			}
			b.WriteString("|\n")
		}
		if t.note != "" {
			b.WriteString("\n" + t.note + "\n")
		}
	})
}

func skippedTable(p PackageReport) table {
	return table{
		title:   fmt.Sprintf("Skipped %s of the reviewed plan", retention.Plural(len(p.Withdrawn), "entry")),
		open:    true,
		columns: columns("digest", "tag", "version id", "why skipped"),
		rows:    len(p.Withdrawn),
		row: func(i int) []string {
			s := p.Withdrawn[i]
			return []string{retention.ShortDigest(s.Digest), s.Tag, fmt.Sprint(s.ID), s.Reason}
		},
	}
}

// validation is what validate found: a sentence, and what is broken.
func (p PackageReport) validation() (status string, broken []string) {
	switch {
	case p.ValidateErr != nil:
		return "could not re-read the package: " + p.ValidateErr.Error(), nil
	case p.After == nil:
		return "", nil
	case len(p.After.Broken)+len(p.After.Orphans) == 0:
		return "re-read after the run, every image is whole and every referrer has its subject.", nil
	}
	for _, br := range p.After.Broken {
		broken = append(broken, br.Describe())
	}
	for _, o := range p.After.Orphans {
		broken = append(broken, o.Describe())
	}
	return "re-read after the run:", broken
}

func validationMarkdown(b *md, p PackageReport) {
	status, broken := p.validation()
	if status == "" {
		return
	}
	b.WriteString("**Validation:** " + cell(status) + "\n\n")
	for _, s := range broken {
		fmt.Fprintf(b, "- %s\n", cell(s))
	}
	if len(broken) > 0 {
		b.WriteString("\n")
	}
}

func (r *Report) deletionsTable(p PackageReport) table {
	t := table{
		title:   fmt.Sprintf("Would delete %s, in this order", retention.Plural(len(p.Plan.Delete), "version")),
		open:    len(p.Plan.Delete) <= 20,
		columns: columns("digest", "kind", "tags", "age", "reason", "version id"),
		rows:    len(p.Plan.Delete),
	}
	if p.Result != nil {
		t.title = fmt.Sprintf("Deleted %d of %s", p.Result.Count(Deleted), retention.Plural(len(p.Plan.Delete), "planned version"))
		if n := p.Result.Count(AlreadyGone); n > 0 {
			t.title += fmt.Sprintf(" (%d already gone)", n)
		}
		t.columns = append(t.columns, column{name: "outcome"})
	}
	t.row = func(i int) []string {
		d := p.Plan.Delete[i]
		cells := []string{retention.ShortDigest(d.Digest), kindCell(d), tagList(d.Tags), retention.FormatAge(r.Time.Sub(d.UpdatedAt.Time())), d.Reason, fmt.Sprint(d.ID)}
		if p.Result != nil {
			a := p.Result.Deletions[i]
			cells = append(cells, outcomeCell(a.Outcome, a.Detail))
		}
		return cells
	}
	return t
}

// outcomeCell is how an operation went, with GitHub's words when it said any.
func outcomeCell(o Outcome, detail string) string {
	if detail != "" {
		return string(o) + ": " + detail
	}
	return string(o)
}

func deferredTable(p *retention.Plan) table {
	return table{
		title:   fmt.Sprintf("Left %s for the next run", retention.Plural(len(p.Deferred), "version")),
		columns: columns("digest", "kind", "tags", "version id", "why"),
		rows:    len(p.Deferred),
		row: func(i int) []string {
			d := p.Deferred[i]
			return []string{retention.ShortDigest(d.Digest), kindCell(d), tagList(d.Tags), fmt.Sprint(d.ID), d.Reason}
		},
	}
}

func untagsTable(p PackageReport) table {
	// One row a tag; removals and their outcomes are in the same order.
	type removal struct {
		u   retention.Untag
		tag string
	}
	var rows []removal
	for _, u := range p.Plan.Untag {
		for _, tag := range u.Tags {
			rows = append(rows, removal{u, tag})
		}
	}
	t := table{
		title:   fmt.Sprintf("Would remove %s from images that stay", retention.Plural(len(rows), "tag")),
		open:    len(rows) <= 20,
		columns: columns("digest", "tags removed", "tags kept", "version id", "outcome"),
		rows:    len(rows),
		note:    "GHCR cannot delete a tag: each one is moved to a throwaway placeholder manifest, whose version is then deleted.",
	}
	if p.Result != nil {
		t.title = fmt.Sprintf("Removed %d of %s from images that stay", countUntagged(p.Result), retention.Plural(len(rows), "tag"))
	}
	t.row = func(i int) []string {
		out := "planned"
		if p.Result != nil && i < len(p.Result.Untags) {
			out = outcomeCell(p.Result.Untags[i].Outcome, p.Result.Untags[i].Detail)
		}
		r := rows[i]
		return []string{retention.ShortDigest(r.u.Digest), r.tag, tagList(r.u.Keep), fmt.Sprint(r.u.ID), out}
	}
	return t
}

func countUntagged(r *Result) int {
	n := 0
	for _, u := range r.Untags {
		if u.Outcome == Untagged {
			n++
		}
	}
	return n
}

// keptTable lists the versions kept for their own sake, with how many
// others each protects.
func keptTable(p *retention.Plan, now time.Time) table {
	protects := map[string]int{}
	for _, d := range p.Keep {
		if d.KeptBy != "" {
			protects[d.KeptBy]++
		}
	}
	var roots []retention.Decision
	for _, d := range p.Keep {
		if d.KeptBy == "" {
			roots = append(roots, d)
		}
	}
	return table{
		title:   fmt.Sprintf("Kept %s (%d kept for their own sake, the rest because those reach them)", retention.Plural(len(p.Keep), "version"), len(roots)),
		columns: columns("digest", "kind", "tags", "age", "why kept", "protects"),
		rows:    len(roots),
		row: func(i int) []string {
			d := roots[i]
			return []string{retention.ShortDigest(d.Digest), kindCell(d), tagList(d.Tags), retention.FormatAge(now.Sub(d.UpdatedAt.Time())), d.Reason, fmt.Sprint(protects[d.Digest])}
		},
	}
}

// warnings are the package's warnings as plain text, digests in backticks.
func (p PackageReport) warnings() []string {
	var out []string
	for _, u := range p.Plan.Unresolved {
		what := "tag " + u.Target
		if strings.HasPrefix(u.Target, "sha256:") {
			what = "digest `" + retention.ShortDigest(u.Target) + "`"
		}
		out = append(out, fmt.Sprintf("%s, referenced in %s (keep-referenced-in), is not in the package", what, u.Where))
	}
	for _, b := range p.Plan.Broken {
		w := b.Describe()
		if b.Deleted {
			w += "; deleted"
		} else {
			w += "; pulls of it fail with \"manifest unknown\""
		}
		out = append(out, w)
	}
	if p.Result != nil {
		for _, a := range p.Result.Deletions {
			if a.Outcome == Refused || a.Outcome == Failed {
				out = append(out, fmt.Sprintf("version %d (`%s`) %s: %s", a.ID, retention.ShortDigest(a.Digest), a.Outcome, a.Detail))
			}
		}
		for _, u := range p.Result.Untags {
			if u.Outcome == Failed {
				out = append(out, fmt.Sprintf("tag %s of `%s` not removed: %s", u.Tag, retention.ShortDigest(u.Digest), u.Detail))
			}
		}
		if n := p.Result.Count(Skipped) + p.Result.Count(NotAttempted); n > 0 {
			out = append(out, fmt.Sprintf("%s not deleted in this run (see the outcome column)", retention.Plural(n, "planned version")))
		}
	}
	return out
}

// blockedTable lists, open, what GitHub would refuse to delete: the plan
// keeps it, with all it reaches, and the reason says what to do instead.
func blockedTable(p *retention.Plan) (table, bool) {
	var blocked []retention.Decision
	for _, d := range p.Keep {
		if d.Action == retention.Blocked {
			blocked = append(blocked, d)
		}
	}
	return table{
		title:   fmt.Sprintf("Blocked %s GitHub would refuse to delete (kept, no DELETE sent)", retention.Plural(len(blocked), "version")),
		open:    true,
		columns: columns("digest", "kind", "tags", "version id", "why"),
		rows:    len(blocked),
		row: func(i int) []string {
			d := blocked[i]
			return []string{retention.ShortDigest(d.Digest), kindCell(d), tagList(d.Tags), fmt.Sprint(d.ID), d.Reason}
		},
	}, len(blocked) > 0
}

// notesMarkdown lists remarks on the whole run under the headline table.
func notesMarkdown(b *md, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("\n")
	for _, n := range notes {
		fmt.Fprintf(b, "- %s\n", cell(n))
	}
}

// comparisonMarkdown shows what this run's plans change against the
// earlier plan (compare-to): per package, what goes that stayed and what
// stays that went, each with this plan's reason and the earlier one's.
func comparisonMarkdown(b *md, c *Comparison) {
	if c == nil {
		return
	}
	fmt.Fprintf(b, "\n### Changes against the earlier plan\n\nCompared with `%s` (made %s): %s %s.\n\n",
		cell(c.Path), c.Time.UTC().Format("2006-01-02 15:04 MST"), retention.Plural(c.Changed(), "version"), changeVerb(c.Changed()))
	for _, p := range c.Packages {
		switch {
		case p.OnlyIn != "":
			fmt.Fprintf(b, "- **%s**: only in %s\n", cell(p.Package), p.OnlyIn)
		case p.Unread != "":
			fmt.Fprintf(b, "- **%s**: not compared, %s\n", cell(p.Package), p.Unread)
		default:
			fmt.Fprintf(b, "- **%s**: deletes %s the earlier plan kept, keeps %s it deleted", cell(p.Package),
				retention.Plural(len(p.Deleted), "version"), retention.Plural(len(p.Kept), "version"))
			if len(p.New) > 0 {
				fmt.Fprintf(b, "; deletes %s pushed since", retention.Plural(len(p.New), "version"))
			}
			if p.Gone > 0 {
				fmt.Fprintf(b, "; %s the earlier plan deleted %s gone", retention.Plural(p.Gone, "version"), isAre(p.Gone))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	for _, p := range c.Packages {
		name := cell(p.Package)
		changesTable(b, fmt.Sprintf("%s: deletes %s the earlier plan kept", name, retention.Plural(len(p.Deleted), "version")), "why deleted now", true, p.Deleted)
		changesTable(b, fmt.Sprintf("%s: keeps %s the earlier plan deleted", name, retention.Plural(len(p.Kept), "version")), "why kept now", true, p.Kept)
		changesTable(b, fmt.Sprintf("%s: deletes %s not in the earlier plan (pushed since)", name, retention.Plural(len(p.New), "version")), "why deleted", false, p.New)
	}
}

func changeVerb(n int) string {
	if n == 1 {
		return "changes"
	}
	return "change"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func changesTable(b *md, title, why string, open bool, changes []Change) {
	if len(changes) == 0 {
		return
	}
	b.table(table{
		title:   title,
		open:    open && len(changes) <= 20,
		columns: columns("digest", "kind", "tags", "version id", why, "the earlier plan's reason"),
		rows:    len(changes),
		row: func(i int) []string {
			c := changes[i]
			return []string{retention.ShortDigest(c.Digest), kindCell(c.Decision), tagList(c.Tags), fmt.Sprint(c.ID), c.Reason, c.Before}
		},
	})
}

// Reclaimed is what the package's deletions free in bytes: in a dry run
// what the plan would free, after an applied run what the versions it
// deleted freed.
func (p PackageReport) Reclaimed() int64 {
	switch {
	case p.Plan == nil:
		return 0
	case p.Result == nil:
		return p.Plan.Reclaimed
	}
	deleted := map[string]bool{}
	for _, a := range p.Result.Deletions {
		if a.Outcome == Deleted {
			deleted[a.Digest] = true
		}
	}
	return p.Plan.Frees(deleted)
}

// ReclaimedBytes is what the run's deletions free across packages (see
// PackageReport.Reclaimed): the reclaimed-bytes output.
func (r *Report) ReclaimedBytes() int64 {
	var n int64
	for _, p := range r.Packages {
		n += p.Reclaimed()
	}
	return n
}

// FormatBytes says a size in binary units, as docker does: "512 B",
// "3.4 MiB", "12.4 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func details(b *md, summary string, open bool, body func()) {
	attr := ""
	if open {
		attr = " open"
	}
	fmt.Fprintf(b, "<details%s><summary>%s</summary>\n\n", attr, summary)
	body()
	b.WriteString("\n</details>\n\n")
}

func kindCell(d retention.Decision) string {
	if d.Platform != "" {
		return d.Kind.String() + " " + d.Platform
	}
	return d.Kind.String()
}

func tagsCell(tags []string) string {
	return cell(tagList(tags))
}

func tagList(tags []string) string { return strings.Join(tags, ", ") }

// cell keeps outside text (tags, error messages) from breaking a table row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
