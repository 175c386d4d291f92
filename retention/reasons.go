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

// keepReason names the root the kept version id, decided d so far, hangs
// from: "platform linux/arm64 of sha256:ab12… (tag prod)".
func (m marker) keepReason(id int32, d *Decision, kept *manifest.Reach) (why, root string) {
	if why, ok := m.roots[id]; ok {
		return why, ""
	}
	e, _ := kept.Via(id)
	from := other(e, id)
	at := from
	for range kept.Len() {
		if _, ok := m.roots[at]; ok {
			break
		}
		via, _ := kept.Via(at)
		at = other(via, at)
	}
	what, detail := relation(id, d, e)
	return what + detail + " of " + ShortDigest(m.g.Digest(from)) + " (" + m.roots[at] + ")", m.g.Digest(at)
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
func (m marker) deleteReason(id int32, d *Decision, toDelete []bool) string {
	if why, ok := m.candidates[id]; ok {
		return why
	}
	for _, e := range m.g.In(id) {
		if e.Kind == manifest.EdgeChild && toDelete[e.From] {
			return m.goesWith(id, d, e, e.From)
		}
	}
	for _, e := range m.g.Out(id) {
		if e.Kind != manifest.EdgeChild && toDelete[e.To] {
			return m.goesWith(id, d, e, e.To)
		}
	}
	return "nothing kept refers to it"
}

// goesWith says that id goes with the deleted version other, e joining
// them: "platform linux/amd64 of deleted index sha256:ab12…". Most
// deletions at scale say this, so it is said in one allocation.
func (m marker) goesWith(id int32, d *Decision, e manifest.Edge, other int32) string {
	what, detail := relation(id, d, e)
	return what + detail + " of deleted " + string(m.g.kind(other)) + " " + ShortDigest(m.g.Digest(other))
}

// relation names what id, whose decision d says its kind and platform, is
// to the other end of e, in two parts to be joined, so that a reason
// naming it is one allocation, not two.
func relation(id int32, d *Decision, e manifest.Edge) (what, detail string) {
	if e.Kind != manifest.EdgeChild && e.To == id {
		return "subject", ""
	}
	if e.Kind == manifest.EdgeChild {
		switch p := d.Platform; {
		case d.Kind == manifest.KindAttestation && p != "":
			return "attestation for ", p
		case p != "":
			return "platform ", p
		default:
			return "child", ""
		}
	}
	return string(d.Kind), ""
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
