package action

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// restore brings back what an earlier run deleted (restore-from).
func restore(ctx context.Context, log *Logger, client *ghcr.Client, cfg config, tool string) error {
	items := prune.Restore(ctx, client, cfg.restore, cfg.dryRun)
	restored, failed := 0, 0
	for _, it := range items {
		switch it.Outcome {
		case prune.Restored:
			restored++
			log.Infof("restored %s version %d %s", it.Package, it.ID, it.Digest)
		case prune.WouldRestore:
			log.Infof("would restore %s version %d %s", it.Package, it.ID, it.Digest)
		case prune.RestoreFailed:
			failed++
			log.Warningf("could not restore %s version %d: %s", it.Package, it.ID, it.Detail)
		}
	}
	log.SetOutput("restored-count", strconv.Itoa(restored))
	log.AddStepSummary(prune.RestoreMarkdown(items, cfg.dryRun) + "\n" + prune.ToolLine(tool))
	if failed > 0 {
		return fmt.Errorf("%d of %d versions could not be restored; see the job summary", failed, len(items))
	}
	return nil
}
