package prune

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// FuzzAppendDecision holds the plan file's own encoding of a decision line
// to json.Marshal's, whatever the text in it.
func FuzzAppendDecision(f *testing.F) {
	f.Add(int64(105), "sha256:84fd", "v1", "", "linux/amd64", "untagged, 4 days old", "", "", "", int64(1700000000123456789), uint8(1), uint8(2), true)
	f.Add(int64(-1), "a\"b\\c\n\t<>&", "\u2028x\u2029", "\xff\xfe", "\x00\x1f\x7f", "é…✓", "sha256:kept", "deleted", "GET /v2: 500 (50% off)", int64(1), uint8(7), uint8(4), false)
	f.Fuzz(func(t *testing.T, id int64, digest, tag1, tag2, platform, reason, keptBy, outcome, detail string, at int64, kind, action uint8, withVersion bool) {
		dec := retention.Decision{Kind: manifest.Kind(kind % 8), Action: retention.Action(action % 5), Platform: platform, Reason: reason, KeptBy: keptBy}
		if withVersion {
			var tags []string
			if tag1 != "" {
				tags = append(tags, tag1, tag2)
			} else if tag2 != "" {
				tags = []string{}
			}
			dec.Version = &retention.Version{ID: id, Digest: digest, Tags: tags, CreatedAt: retention.TimeOf(time.Unix(0, at)), UpdatedAt: retention.Time(at)}
		}
		marshaled := dec
		if dec.Version != nil && dec.Version.Tags == nil {
			v := *dec.Version
			v.Tags = []string{} // the plan file's [] for no tags, where json says null
			marshaled.Version = &v
		}
		want, err := json.Marshal(Deletion{Decision: marshaled, Outcome: Outcome(outcome), Detail: detail})
		got, gerr := appendDecision(nil, dec, Outcome(outcome), detail)
		if (err != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal: %v, appendDecision: %v", err, gerr)
		}
		if string(got) != string(want) {
			t.Fatalf("appendDecision wrote\n%s\njson.Marshal\n%s", got, want)
		}
	})
}
