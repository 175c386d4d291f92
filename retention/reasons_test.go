package retention_test

import (
	"testing"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestReasons(t *testing.T) {
	b := retentiontest.New().MultiArch("prev", 4*retentiontest.Day, 25*retentiontest.Day).MultiArch("prod", 20*retentiontest.Day, 20*retentiontest.Day, "prod").Sig("sig", 20*retentiontest.Day, "prod")
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * retentiontest.Day }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range append(plan.Delete, plan.Keep...) {
		reasons[b.Names[d.Digest]] = string(d.Action) + ": " + d.Reason
	}
	want := map[string]string{
		"prev":              "delete: untagged, 4 days old",
		"prev/arm64":        "delete: platform linux/arm64 of deleted index " + retention.ShortDigest(retentiontest.Digest("prev")),
		"attest:prev/amd64": "delete: attestation for linux/amd64 of deleted index " + retention.ShortDigest(retentiontest.Digest("prev")),
		"prod":              "keep: tag prod",
		"prod/arm64":        "keep: platform linux/arm64 of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
		"attest:prod/arm64": "keep: attestation for linux/arm64 of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
		"sig":               "keep: signature of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
	}
	for n, w := range want {
		if reasons[n] != w {
			t.Errorf("%s: got %q, want %q", n, reasons[n], w)
		}
	}
}
