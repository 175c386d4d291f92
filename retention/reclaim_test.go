package retention_test

import (
	"testing"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestReclaimed(t *testing.T) {
	base, shared, own1, own2, cfg1, cfg2, cfg3 := manifest.Blob{Key: 1, Size: 30_000_000}, manifest.Blob{Key: 2, Size: 5_000_000},
		manifest.Blob{Key: 3, Size: 700}, manifest.Blob{Key: 4, Size: 900}, manifest.Blob{Key: 5, Size: 11}, manifest.Blob{Key: 6, Size: 13}, manifest.Blob{Key: 7, Size: 17}
	d := retentiontest.Day
	b := retentiontest.New().
		Image("kept", 1*d, "v2").Sized("kept", 1000, cfg1, base).
		Image("old1", 9*d).Sized("old1", 1100, cfg2, base, shared, own1).
		Image("old2", 8*d).Sized("old2", 1200, cfg3, shared, own2, own2).
		Index("idx", 8*d, []string{"old2"}).Sized("idx", 400)
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	// The manifests, and every blob only deleted ones name, once: base
	// stays with kept; shared and own2 are named twice but freed once.
	want := int64(1100+1200+400) + cfg2.Size + cfg3.Size + shared.Size + own1.Size + own2.Size
	if plan.Reclaimed != want {
		t.Errorf("reclaimed %d, want %d", plan.Reclaimed, want)
	}
	// A plan cut short frees only what it still deletes: old1, the oldest
	// image, without shared, which stays with the deferred old2.
	limited := plan.Limit(1, "max-deletions 1")
	if want := int64(1100) + cfg2.Size + own1.Size; limited.Reclaimed != want {
		t.Errorf("limited: reclaimed %d, want %d", limited.Reclaimed, want)
	}
	if got := plan.Frees(map[string]bool{retentiontest.Digest("old1"): true, retentiontest.Digest("kept"): true}); got != 1100+1000+cfg1.Size+cfg2.Size+base.Size+own1.Size {
		t.Errorf("Frees(old1, kept) = %d", got)
	}
	if got := plan.Frees(nil); got != 0 {
		t.Errorf("Frees(nothing) = %d", got)
	}
}
