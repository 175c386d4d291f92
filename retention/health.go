package retention

import (
	"fmt"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Health is what is broken in a package: indexes that cannot be pulled and
// referrers that describe nothing.
type Health struct {
	Broken  []Broken `json:"broken"`
	Orphans []Orphan `json:"orphans"`
}

// Orphan is a signature, attestation or other referrer whose subject is not
// in the package.
type Orphan struct {
	ID      int64         `json:"id"`
	Digest  string        `json:"digest"`
	Tags    []string      `json:"tags"`
	Kind    manifest.Kind `json:"kind"`
	Subject string        `json:"subject"`
}

// Describe says what is orphaned, for the log and the summary.
func (o Orphan) Describe() string {
	return fmt.Sprintf("orphaned %s %s: its subject %s is not in the package", o.Kind, ShortDigest(o.Digest), ShortDigest(o.Subject))
}

// Inspect reports what is broken in s. It decides nothing: a policy that
// keeps everything is planned, and its broken images and orphans read off.
func Inspect(s Snapshot) (*Health, error) {
	keepAll := Policy{KeepNTagged: -1, KeepNUntagged: -1}
	plan, err := Compute(s, keepAll, time.Time{})
	if err != nil {
		return nil, err
	}
	h := &Health{Broken: plan.Broken, Orphans: []Orphan{}}
	ids := map[string]Version{}
	for _, v := range s.Versions {
		ids[v.Digest] = v
	}
	for id, m := range plan.graph.All() {
		present, missing := false, []string(nil)
		for _, e := range plan.graph.Out(id) {
			if e.Kind == manifest.EdgeChild || e.To == id {
				continue
			}
			if plan.graph.IsVersion(e.To) {
				present = true
			} else {
				missing = append(missing, plan.graph.Digest(e.To))
			}
		}
		if len(missing) > 0 && !present {
			v := ids[m.Digest]
			h.Orphans = append(h.Orphans, Orphan{ID: v.ID, Digest: m.Digest, Tags: append([]string{}, v.Tags...), Kind: m.Kind, Subject: missing[0]})
		}
	}
	if h.Broken == nil {
		h.Broken = []Broken{}
	}
	return h, nil
}

// Describe says what is broken, for the log and the summary.
func (b Broken) Describe() string {
	what := "partial image"
	if b.Ghost {
		what = "ghost image"
	}
	tags := "untagged"
	if len(b.Tags) > 0 {
		tags = TagsReason(b.Tags)
	}
	return fmt.Sprintf("%s %s (%s): %d of its %d children missing", what, ShortDigest(b.Digest), tags, len(b.Missing), b.Children)
}
