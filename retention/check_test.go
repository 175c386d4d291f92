package retention_test

import (
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestCheckCatchesBrokenPlans(t *testing.T) {
	b := retentiontest.New().MultiArch("idx", 9*retentiontest.Day, 9*retentiontest.Day, "v1").Image("x", 9*retentiontest.Day)
	p := retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true })
	plan, err := retention.Compute(b.Snap, p, retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(p); err != nil {
		t.Fatalf("good plan fails Check: %v", err)
	}
	// Move a child of the kept index into the deletions, as a bug would.
	bad := *plan
	bad.Keep = nil
	for _, d := range plan.Keep {
		if b.Names[d.Digest] == "idx/amd64" {
			bad.Delete = append(bad.Delete, d)
		} else {
			bad.Keep = append(bad.Keep, d)
		}
	}
	if err := bad.Check(p); err == nil || !strings.Contains(err.Error(), "would lose its child") {
		t.Errorf("Check = %v, want a lost-child violation", err)
	}
	excl := p
	excl.ExcludeTags = retentiontest.Patterns(t, retentiontest.Digest("x"))
	if err := plan.Check(excl); err == nil || !strings.Contains(err.Error(), "exclude-tags") {
		t.Errorf("Check = %v, want an exclude-tags violation", err)
	}
}
