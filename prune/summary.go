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
		fmt.Fprintf(&b, "## ghcr-prune: dry run, %s would be deleted\n\n", retention.Plural(planned, "version"))
		b.WriteString("Nothing was deleted. Set `dry-run: false` to delete what is listed below.\n\n")
	} else {
		fmt.Fprintf(&b, "## ghcr-prune: %s deleted\n\n", retention.Plural(deleted, "version"))
	}
	if r.Confined {
		b.WriteString("Confined to a reviewed plan (`apply-plan`): only versions it listed, and that nothing keeps now, are deleted.\n\n")
	}
	b.WriteString("| package | versions | kept | " + r.deleteVerb() + " | left for next run | broken images | status |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|\n")
	for _, p := range r.Packages {
		kept, del, broken, deferred := "–", "–", "–", "–"
		if p.Plan != nil {
			deferred = fmt.Sprint(len(p.Plan.Deferred))
			kept = fmt.Sprint(len(p.Plan.Keep))
			del = fmt.Sprint(len(p.Plan.Delete))
			broken = fmt.Sprint(len(p.Plan.Broken))
			if p.Result != nil {
				del = fmt.Sprintf("%d of %d", p.Result.Count(Deleted), len(p.Plan.Delete))
			}
		}
		status := "ok"
		if p.Err != nil {
			status = "**failed**"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", cell(p.Package), p.Versions, kept, del, deferred, broken, status)
	}
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

func (r *Report) packageMarkdown(b *md, p PackageReport) {
	fmt.Fprintf(b, "### %s\n\n", cell(p.Package))
	if p.Err != nil {
		fmt.Fprintf(b, "> [!CAUTION]\n> %s\n\n", oneLine(p.Err.Error()))
	}
	if p.Plan == nil {
		return
	}
	r.deletionsMarkdown(b, p)
	deferredMarkdown(b, p.Plan)
	untagsMarkdown(b, p)
	skippedMarkdown(b, p)
	keptMarkdown(b, p.Plan, r.Time)
	warnings := p.warnings()
	if len(warnings) > 0 {
		b.WriteString("**Warnings**\n\n")
		for i, w := range warnings {
			if i == b.rows {
				b.more(len(warnings) - i)
				break
			}
			fmt.Fprintf(b, "- %s\n", w)
		}
		b.WriteString("\n")
	}
	validationMarkdown(b, p)
}

func skippedMarkdown(b *md, p PackageReport) {
	if len(p.Withdrawn) == 0 {
		return
	}
	details(b, fmt.Sprintf("Skipped %s of the reviewed plan", retention.Plural(len(p.Withdrawn), "entry")), true, func() {
		b.WriteString("| digest | tag | version id | why skipped |\n|---|---|---:|---|\n")
		for i, s := range p.Withdrawn {
			if i == b.rows {
				b.more(len(p.Withdrawn) - b.rows)
				break
			}
			fmt.Fprintf(b, "| `%s` | %s | %d | %s |\n", retention.ShortDigest(s.Digest), cell(s.Tag), s.ID, cell(s.Reason))
		}
	})
}

func validationMarkdown(b *md, p PackageReport) {
	switch {
	case p.ValidateErr != nil:
		fmt.Fprintf(b, "**Validation** could not re-read the package: %s\n\n", cell(p.ValidateErr.Error()))
		return
	case p.After == nil:
		return
	case len(p.After.Broken)+len(p.After.Orphans) == 0:
		b.WriteString("**Validation:** re-read after the run, every image is whole and every referrer has its subject.\n\n")
		return
	}
	b.WriteString("**Validation:** re-read after the run:\n\n")
	for _, br := range p.After.Broken {
		fmt.Fprintf(b, "- %s\n", cell(br.Describe()))
	}
	for _, o := range p.After.Orphans {
		fmt.Fprintf(b, "- %s\n", cell(o.Describe()))
	}
	b.WriteString("\n")
}

func (r *Report) deletionsMarkdown(b *md, p PackageReport) {
	if len(p.Plan.Delete) == 0 {
		b.WriteString("Nothing to delete.\n\n")
		return
	}
	title := fmt.Sprintf("Would delete %s, in this order", retention.Plural(len(p.Plan.Delete), "version"))
	header := "| digest | kind | tags | age | reason | version id |\n|---|---|---|---|---|---:|\n"
	if p.Result != nil {
		title = fmt.Sprintf("Deleted %d of %s", p.Result.Count(Deleted), retention.Plural(len(p.Plan.Delete), "planned version"))
		if n := p.Result.Count(AlreadyGone); n > 0 {
			title += fmt.Sprintf(" (%d already gone)", n)
		}
		header = "| digest | kind | tags | age | reason | version id | outcome |\n|---|---|---|---|---|---:|---|\n"
	}
	open := len(p.Plan.Delete) <= 20
	details(b, title, open, func() {
		b.WriteString(header)
		for i, d := range p.Plan.Delete {
			if i == b.rows {
				b.more(len(p.Plan.Delete) - b.rows)
				break
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %d |", retention.ShortDigest(d.Digest), kindCell(d), tagsCell(d.Tags), retention.FormatAge(r.Time.Sub(d.UpdatedAt)), cell(d.Reason), d.ID)
			if p.Result != nil {
				a := p.Result.Deletions[i]
				out := string(a.Outcome)
				if a.Detail != "" {
					out += ": " + a.Detail
				}
				fmt.Fprintf(b, " %s |", cell(out))
			}
			b.WriteString("\n")
		}
	})
}

func deferredMarkdown(b *md, p *retention.Plan) {
	if len(p.Deferred) == 0 {
		return
	}
	details(b, fmt.Sprintf("Left %s for the next run", retention.Plural(len(p.Deferred), "version")), false, func() {
		b.WriteString("| digest | kind | tags | version id | why |\n|---|---|---|---:|---|\n")
		for i, d := range p.Deferred {
			if i == b.rows {
				b.more(len(p.Deferred) - b.rows)
				break
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %d | %s |\n", retention.ShortDigest(d.Digest), kindCell(d), tagsCell(d.Tags), d.ID, cell(d.Reason))
		}
	})
}

func untagsMarkdown(b *md, p PackageReport) {
	if len(p.Plan.Untag) == 0 {
		return
	}
	n := 0
	for _, u := range p.Plan.Untag {
		n += len(u.Tags)
	}
	title := fmt.Sprintf("Would remove %s from images that stay", retention.Plural(n, "tag"))
	if p.Result != nil {
		title = fmt.Sprintf("Removed %d of %s from images that stay", countUntagged(p.Result), retention.Plural(n, "tag"))
	}
	details(b, title, n <= 20, func() {
		b.WriteString("| digest | tags removed | tags kept | version id | outcome |\n|---|---|---|---:|---|\n")
		i := 0
	rows:
		for _, u := range p.Plan.Untag {
			for _, t := range u.Tags {
				if i == b.rows {
					b.more(n - i)
					break rows
				}
				out := "planned"
				if p.Result != nil && i < len(p.Result.Untags) {
					out = string(p.Result.Untags[i].Outcome)
					if d := p.Result.Untags[i].Detail; d != "" {
						out += ": " + d
					}
				}
				i++
				fmt.Fprintf(b, "| `%s` | %s | %s | %d | %s |\n", retention.ShortDigest(u.Digest), cell(t), tagsCell(u.Keep), u.ID, cell(out))
			}
		}
		b.WriteString("\nGHCR cannot delete a tag: each one is moved to a throwaway placeholder manifest, whose version is then deleted.\n")
	})
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

// keptMarkdown lists the versions kept for their own sake, with how many
// others each protects; the rest are in a collapsed list.
func keptMarkdown(b *md, p *retention.Plan, now time.Time) {
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
	details(b, fmt.Sprintf("Kept %s (%d kept for their own sake, the rest because those reach them)", retention.Plural(len(p.Keep), "version"), len(roots)), false, func() {
		b.WriteString("| digest | kind | tags | age | why kept | protects |\n|---|---|---|---|---|---:|\n")
		for i, d := range roots {
			if i == b.rows {
				b.more(len(roots) - b.rows)
				break
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %d |\n", retention.ShortDigest(d.Digest), kindCell(d), tagsCell(d.Tags), retention.FormatAge(now.Sub(d.UpdatedAt)), cell(d.Reason), protects[d.Digest])
		}
	})
}

func (p PackageReport) warnings() []string {
	var out []string
	for _, b := range p.Plan.Broken {
		w := b.Describe()
		if b.Deleted {
			w += "; deleted"
		} else {
			w += "; pulls of it fail with \"manifest unknown\""
		}
		out = append(out, cell(w))
	}
	if p.Result != nil {
		for _, a := range p.Result.Deletions {
			if a.Outcome == Refused || a.Outcome == Failed {
				out = append(out, cell(fmt.Sprintf("version %d (`%s`) %s: %s", a.ID, retention.ShortDigest(a.Digest), a.Outcome, a.Detail)))
			}
		}
		for _, u := range p.Result.Untags {
			if u.Outcome == Failed {
				out = append(out, cell(fmt.Sprintf("tag %s of `%s` not removed: %s", u.Tag, retention.ShortDigest(u.Digest), u.Detail)))
			}
		}
		if n := p.Result.Count(Skipped) + p.Result.Count(NotAttempted); n > 0 {
			out = append(out, fmt.Sprintf("%s not deleted in this run (see the outcome column)", retention.Plural(n, "planned version")))
		}
	}
	return out
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
		return fmt.Sprintf("%s %s", d.Kind, d.Platform)
	}
	return string(d.Kind)
}

func tagsCell(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return cell(strings.Join(tags, ", "))
}

// cell keeps outside text (tags, error messages) from breaking a table row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
