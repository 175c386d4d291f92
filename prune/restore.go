package prune

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Restorer brings back a deleted package version (GitHub keeps them for 30
// days).
type Restorer interface {
	RestoreVersion(ctx context.Context, pkg string, id int64) error
}

// RestoreItem is one version to bring back and how it went.
type RestoreItem struct {
	Package string        `json:"package"`
	ID      int64         `json:"id"`
	Digest  string        `json:"digest,omitempty"`
	Tags    []string      `json:"tags,omitempty"`
	Kind    string        `json:"kind,omitempty"`
	Outcome RestoreResult `json:"outcome"`
	Detail  string        `json:"detail,omitempty"`
}

// RestoreResult is what happened to one RestoreItem.
type RestoreResult string

const (
	WouldRestore  RestoreResult = "would restore"
	Restored      RestoreResult = "restored"
	RestoreFailed RestoreResult = "failed"
)

// RestoreItems lists what an applied run of owner's packages deleted,
// children before parents (the reverse of deletion order) so every image
// comes back whole: an index is never restored before the manifests it
// lists. The file must be owner's, and every package it deleted from must
// be named (named reports whether the run's packages input names it): a
// plan file may come from anyone who can open a pull request, and restoring
// can bring back a version someone deleted on purpose, so it never reaches
// past what the run names.
func RestoreItems(f *PlanFile, owner string, named func(pkg string) bool) ([]RestoreItem, error) {
	if f.DryRun {
		return nil, fmt.Errorf("the plan file is from a dry run, which deleted nothing")
	}
	if f.Owner == "" {
		return nil, fmt.Errorf("the plan file names no owner (an applied run's plan file always does)")
	}
	if !strings.EqualFold(f.Owner, owner) {
		return nil, fmt.Errorf("the plan file is %s's, not %s's (set owner)", f.Owner, owner)
	}
	var items []RestoreItem
	var unnamed []string
	seen := map[string]bool{}
	for _, p := range f.Packages {
		for _, d := range slices.Backward(p.Delete) {
			if d.Outcome != Deleted {
				continue
			}
			if !named(p.Package) {
				if !slices.Contains(unnamed, p.Package) {
					unnamed = append(unnamed, p.Package)
				}
				continue
			}
			key := fmt.Sprintf("%s %d", p.Package, d.ID)
			if seen[key] {
				continue
			}
			seen[key] = true
			items = append(items, RestoreItem{Package: p.Package, ID: d.ID, Digest: d.Digest, Tags: d.Tags, Kind: d.Kind.String()})
		}
	}
	if len(unnamed) > 0 {
		return nil, fmt.Errorf("the plan file deleted versions of %s, which packages does not name; restore-from restores only packages named in packages (name them to restore them)", strings.Join(unnamed, ", "))
	}
	return items, nil
}

// Restore restores items in order and records each outcome. A failure does
// not stop the rest: every version that can come back should.
func Restore(ctx context.Context, r Restorer, items []RestoreItem, dryRun bool) []RestoreItem {
	out := slices.Clone(items)
	for i := range out {
		if dryRun {
			out[i].Outcome = WouldRestore
			continue
		}
		if err := r.RestoreVersion(ctx, out[i].Package, out[i].ID); err != nil {
			out[i].Outcome, out[i].Detail = RestoreFailed, err.Error()
			continue
		}
		out[i].Outcome = Restored
	}
	return out
}

// restoreRows caps the restore table well under GitHub's summary limit.
const restoreRows = 2000

// RestoreMarkdown is the job summary of a restore.
func RestoreMarkdown(items []RestoreItem, dryRun bool) string {
	var b strings.Builder
	n, failed := 0, 0
	for _, it := range items {
		switch it.Outcome {
		case Restored, WouldRestore:
			n++
		case RestoreFailed:
			failed++
		}
	}
	if dryRun {
		fmt.Fprintf(&b, "## ghcr-prune: dry run, %s would be restored\n\nNothing was restored. Set `dry-run: false` to restore.\n\n", retention.Plural(n, "version"))
	} else {
		fmt.Fprintf(&b, "## ghcr-prune: %s restored\n\n", retention.Plural(n, "version"))
	}
	if failed > 0 {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s could not be restored: GitHub restores a version only within 30 days of its deletion, and not when its package name was reused.\n\n", retention.Plural(failed, "version"))
	}
	b.WriteString("| package | digest | kind | tags | version id | outcome |\n|---|---|---|---|---:|---|\n")
	for i, it := range items {
		if i == restoreRows {
			fmt.Fprintf(&b, "\n… and %d more.\n", len(items)-restoreRows)
			break
		}
		out := string(it.Outcome)
		if it.Detail != "" {
			out += ": " + it.Detail
		}
		digest := ""
		if it.Digest != "" {
			digest = "`" + retention.ShortDigest(it.Digest) + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s |\n", cell(it.Package), digest, cell(it.Kind), tagsCell(it.Tags), it.ID, cell(out))
	}
	return b.String()
}
