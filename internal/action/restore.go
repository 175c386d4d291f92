package action

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/sethvargo/go-githubactions"
)

// restore brings back what an earlier run deleted (restore-from).
func restore(ctx context.Context, a *githubactions.Action, client *ghcr.Client, cfg config, tool string) error {
	items := prune.Restore(ctx, client, cfg.restore, cfg.dryRun)
	a.AddStepSummary(prune.RestoreMarkdown(items, cfg.dryRun) + "\n" + prune.ToolLine(tool))
	restored, failed := 0, 0
	for _, it := range items {
		switch it.Outcome {
		case prune.Restored:
			restored++
			a.Infof("restored %s version %d %s", it.Package, it.ID, it.Digest)
		case prune.WouldRestore:
			a.Infof("would restore %s version %d %s", it.Package, it.ID, it.Digest)
		case prune.RestoreFailed:
			failed++
			a.Warningf("could not restore %s version %d: %s", it.Package, it.ID, it.Detail)
		}
	}
	a.SetOutput("restored-count", strconv.Itoa(restored))
	if failed > 0 {
		return fmt.Errorf("%d of %d versions could not be restored; see the job summary", failed, len(items))
	}
	return nil
}
