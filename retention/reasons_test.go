package retention_test

import (
	"testing"
	"unsafe"

	"github.com/ghcr-prune/ghcr-prune/retention"
	"github.com/ghcr-prune/ghcr-prune/retention/retentiontest"
)

func TestReasons(t *testing.T) {
	b := retentiontest.New().MultiArch("prev", 4*retentiontest.Day, 25*retentiontest.Day).MultiArch("prod", 20*retentiontest.Day, 20*retentiontest.Day, "prod").Sig("sig", 20*retentiontest.Day, "prod")
	plan, err := retention.Compute(b.Snap, retentiontest.Policy(func(p *retention.Policy) { p.DeleteUntagged = true; p.OlderThan = 3 * retentiontest.Day }), retentiontest.Now)
	if err != nil {
		t.Fatal(err)
	}
	reasons, kinds := map[string]string{}, map[string]string{}
	for _, d := range append(plan.Delete, plan.Keep...) {
		reasons[b.Names[d.Digest]] = d.Action.String() + ": " + d.Reason
		kinds[b.Names[d.Digest]] = d.Kind.String() + " " + d.Platform
	}
	want := map[string]string{
		"prev":              "delete: untagged, 4 days old",
		"prev/arm64":        "delete: in deleted index " + retention.ShortDigest(retentiontest.Digest("prev")),
		"attest:prev/amd64": "delete: in deleted index " + retention.ShortDigest(retentiontest.Digest("prev")),
		"prod":              "keep: tag prod",
		"prod/arm64":        "keep: in index " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
		"attest:prod/arm64": "keep: in index " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
		"sig":               "keep: signature of " + retention.ShortDigest(retentiontest.Digest("prod")) + " (tag prod)",
	}
	for n, w := range want {
		if reasons[n] != w {
			t.Errorf("%s: got %q, want %q", n, reasons[n], w)
		}
	}
	// The children of an index share its reason; what each of them is
	// stands beside it.
	for n, w := range map[string]string{"prev/arm64": "image linux/arm64", "attest:prev/amd64": "attestation linux/amd64", "sig": "signature "} {
		if kinds[n] != w {
			t.Errorf("%s: kind and platform %q, want %q", n, kinds[n], w)
		}
	}
	var children []string
	for _, d := range plan.Delete {
		if d.Reason == "in deleted index "+retention.ShortDigest(retentiontest.Digest("prev")) {
			children = append(children, d.Reason)
		}
	}
	if len(children) != 4 || unsafe.StringData(children[0]) != unsafe.StringData(children[3]) {
		t.Errorf("the 4 children of prev do not share one reason: %q", children)
	}
}
