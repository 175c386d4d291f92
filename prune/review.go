package prune

import (
	"fmt"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Skip is an entry of a reviewed plan that this run does not carry out.
type Withdrawn struct {
	ID     int64  `json:"id"`
	Digest string `json:"digest"`
	Tag    string `json:"tag,omitempty"` // for a skipped tag removal
	Reason string `json:"reason"`
}

// reviewSkipped lists what the reviewed plan would have done but this run
// will not, and why: the version is gone, or something now keeps it.
func reviewSkipped(f *PlanFile, plan *retention.Plan) []Withdrawn {
	deleting := map[string]bool{}
	for _, d := range plan.Delete {
		deleting[d.Digest] = true
	}
	kept := map[string]retention.Decision{}
	for _, d := range plan.Keep {
		kept[d.Digest] = d
	}
	for _, d := range plan.Deferred {
		d.Reason = strings.TrimPrefix(d.Reason, "kept: ")
		kept[d.Digest] = d
	}
	untagging := map[string]bool{}
	for _, u := range plan.Untag {
		for _, t := range u.Tags {
			untagging[u.Digest+" "+t] = true
		}
	}
	var out []Withdrawn
	for _, p := range f.Packages {
		if p.Package != plan.Package {
			continue
		}
		for _, d := range p.Delete {
			if deleting[d.Digest] {
				continue
			}
			s := Withdrawn{ID: d.ID, Digest: d.Digest, Reason: "gone: no longer a version of the package"}
			if k, ok := kept[d.Digest]; ok {
				s.Reason = "now kept: " + k.Reason
				if k.Action == retention.Deferred {
					s.Reason = k.Reason
				}
				if k.ID != d.ID {
					s.Reason = fmt.Sprintf("re-pushed as version %d", k.ID)
				}
			}
			out = append(out, s)
		}
		for _, u := range p.Untag {
			for _, t := range u.Tags {
				if !untagging[u.Digest+" "+t] {
					out = append(out, Withdrawn{ID: u.ID, Digest: u.Digest, Tag: t, Reason: "tag no longer on the image, or the image is now kept whole"})
				}
			}
		}
	}
	return out
}
