package retention_test

import (
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestDeletionOrderParentsFirst(t *testing.T) {
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day).Sig("sig", 9*retentiontest.Day, "idx")
	got := b.Deleted(t, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true }))
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for _, child := range []string{"idx/amd64", "idx/arm64", "attest:idx/amd64", "attest:idx/arm64"} {
		if pos["idx"] > pos[child] {
			t.Errorf("index deleted after its child %s: %v", child, got)
		}
	}
	if pos["sig"] > pos["idx"] {
		t.Errorf("signature deleted after its subject: %v", got)
	}
}
