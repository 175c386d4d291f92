package retention

import (
	"strconv"
	"strings"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// decision is v's line in the plan.
func (m marker) decision(v listed, a Action, why string) Decision {
	return Decision{
		Version:  v.Version,
		Kind:     m.g.kind(v.id),
		Platform: m.g.platform(v.id),
		Action:   a,
		Reason:   why,
	}
}

// inIndex holds, by the id of an index, the one reason all its children
// share: at 100,000 versions most decisions are children of an index, and
// a string each would be megabytes. A child's own kind and platform are in
// its decision, beside the reason.
type inIndex map[int32]string

// keepReason names the root the kept version id hangs from: "in index
// sha256:ab12… (tag prod)", or "signature of sha256:ab12… (tag prod)".
func (m marker) keepReason(id int32, d *Decision, kept *manifest.Reach, said inIndex) (why, root string) {
	if why, ok := m.roots[id]; ok {
		return why, ""
	}
	e, _ := kept.Via(id)
	from := other(e, id)
	at := m.rootOf(from, kept)
	if e.Kind != manifest.EdgeChild || e.From != from {
		return relation(id, d, e) + " of " + ShortDigest(m.g.Digest(from)) + " (" + m.roots[at] + ")", m.g.Digest(at)
	}
	why, ok := said[from]
	if !ok {
		why = "in " + m.g.kind(from).String() + " " + ShortDigest(m.g.Digest(from)) + " (" + m.roots[at] + ")"
		said[from] = why
	}
	return why, m.g.Digest(at)
}

// rootOf is the root the kept version id hangs from, id itself for a root.
func (m marker) rootOf(id int32, kept *manifest.Reach) int32 {
	at := id
	for range kept.Len() {
		if _, ok := m.roots[at]; ok {
			break
		}
		via, _ := kept.Via(at)
		at = other(via, at)
	}
	return at
}

// other is the end of e that is not id: the version that kept it.
func other(e manifest.Edge, id int32) int32 {
	if e.From == id {
		return e.To
	}
	return e.From
}

// deleteReason says why the version id, decided d so far, goes: the
// policy picked it, or everything that pointed at it goes too.
func (m marker) deleteReason(id int32, d *Decision, toDelete []bool, said inIndex) string {
	if why, ok := m.candidates[id]; ok {
		return why
	}
	for _, e := range m.g.In(id) {
		if e.Kind == manifest.EdgeChild && toDelete[e.From] {
			why, ok := said[e.From]
			if !ok {
				why = "in deleted " + m.g.kind(e.From).String() + " " + ShortDigest(m.g.Digest(e.From))
				said[e.From] = why
			}
			return why
		}
	}
	for _, e := range m.g.Out(id) {
		if e.Kind != manifest.EdgeChild && toDelete[e.To] {
			return relation(id, d, e) + " of deleted " + m.g.kind(e.To).String() + " " + ShortDigest(m.g.Digest(e.To))
		}
	}
	return "nothing kept refers to it"
}

// relation names what id, decided d so far, is to the other end of e, an
// edge that is no index's: its subject, or a referrer of its kind.
func relation(id int32, d *Decision, e manifest.Edge) string {
	if e.To == id {
		return "subject"
	}
	return d.Kind.String()
}

// platform is what the first index listing id says it is for; an
// attestation entry (unknown/unknown) is for the platform of the image it
// attests. An index listing one digest twice speaks through its last entry.
func (g refGraph) platform(id int32) string {
	digest := g.Digest(id)
	for _, e := range g.In(id) {
		if e.Kind != manifest.EdgeChild {
			continue
		}
		children := g.Manifest(e.From).Children
		entry := lastEntry(children, digest)
		if entry.Attests != "" {
			return lastEntry(children, entry.Attests).Platform
		}
		if entry.Platform != "unknown/unknown" {
			return entry.Platform
		}
	}
	return ""
}

// lastEntry is the last of children with digest, the zero Descriptor if
// none has it.
func lastEntry(children []manifest.Descriptor, digest string) manifest.Descriptor {
	for i := len(children) - 1; i >= 0; i-- {
		if children[i].Digest == digest {
			return children[i]
		}
	}
	return manifest.Descriptor{}
}

// distinctChildren counts an index's children once each: an index may list
// one digest twice, and a ghost image is one missing every child it has.
func distinctChildren(m *manifest.Manifest) int {
	set := map[string]bool{}
	for _, c := range m.Children {
		set[c.Digest] = true
	}
	return len(set)
}

// UserTags drops the tags tools derive from a digest (sha256-<hex>.sig and
// the like): reasons name the tags a person chose, and only those make an
// image "tagged".
func UserTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		if manifest.IsUserTag(t) {
			out = append(out, t)
		}
	}
	return out
}

// TagsReason names tags in a reason: "tag v1", "tags v1, latest".
func TagsReason(tags []string) string {
	if len(tags) == 1 {
		return "tag " + tags[0]
	}
	return "tags " + strings.Join(tags, ", ")
}

// matchVerb agrees with TagsReason: "tag v1 matches", "tags v1, v2 match".
func matchVerb(tags []string) string {
	if len(tags) == 1 {
		return "matches"
	}
	return "match"
}

// ShortDigest is the 12-hex form people recognise from docker output.
func ShortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12] + "…"
	}
	return d
}

// FormatAge rounds down to the largest unit that reads naturally.
func FormatAge(a time.Duration) string {
	switch {
	case a >= 48*time.Hour:
		return Plural(int(a/(24*time.Hour)), "day")
	case a >= 2*time.Hour:
		return Plural(int(a/time.Hour), "hour")
	case a >= 2*time.Minute:
		return Plural(int(a/time.Minute), "minute")
	default:
		return Plural(int(a/time.Second), "second")
	}
}

// FormatDuration says a rule's duration exactly, in the largest unit it is
// a whole number of: "1 hour", "14 days", "90 minutes".
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return Plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return Plural(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return Plural(int(d/time.Minute), "minute")
	default:
		return Plural(int(d/time.Second), "second")
	}
}

// Plural counts n of unit in words: "1 day", "3 days", "2 entries".
func Plural(n int, unit string) string {
	switch {
	case n == 1:
		return "1 " + unit
	case strings.HasSuffix(unit, "ry"): // entry, not day
		return strconv.Itoa(n) + " " + strings.TrimSuffix(unit, "y") + "ies"
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
