package retention

import (
	"fmt"
	"strings"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// decision is v's line in the plan.
func (m marker) decision(v Version, a Action, why string) Decision {
	return Decision{
		ID:        v.ID,
		Digest:    v.Digest,
		Tags:      append([]string{}, v.Tags...), // [] rather than null in the plan file
		Kind:      m.g.kind(v.Digest),
		Platform:  m.g.platform(v.Digest),
		CreatedAt: v.CreatedAt,
		UpdatedAt: v.UpdatedAt,
		Action:    a,
		Reason:    why,
	}
}

// keepReason names the root a kept version hangs from: "platform
// linux/arm64 of sha256:ab12… (tag prod)".
func (m marker) keepReason(digest string, kept map[string]manifest.Edge) (why, root string) {
	if why, ok := m.roots[digest]; ok {
		return why, ""
	}
	e := kept[digest]
	from := other(e, digest)
	root = from
	for range len(kept) {
		if _, ok := m.roots[root]; ok {
			break
		}
		root = other(kept[root], root)
	}
	return fmt.Sprintf("%s of %s (%s)", m.g.relation(digest, e), ShortDigest(from), m.roots[root]), root
}

// other is the end of e that is not digest: the version that kept it.
func other(e manifest.Edge, digest string) string {
	if e.From == digest {
		return e.To
	}
	return e.From
}

// deleteReason says why a version goes: the policy picked it, or everything
// that pointed at it goes too.
func (m marker) deleteReason(digest string, toDelete map[string]bool) string {
	if why, ok := m.candidates[digest]; ok {
		return why
	}
	for _, e := range m.g.In(digest) {
		if e.Kind == manifest.EdgeChild && toDelete[e.From] {
			return fmt.Sprintf("%s of deleted %s %s", m.g.relation(digest, e), m.g.kind(e.From), ShortDigest(e.From))
		}
	}
	for _, e := range m.g.Out(digest) {
		if e.Kind != manifest.EdgeChild && toDelete[e.To] {
			return fmt.Sprintf("%s of deleted %s %s", m.g.relation(digest, e), m.g.kind(e.To), ShortDigest(e.To))
		}
	}
	return "nothing kept refers to it"
}

// relation names what digest is to the other end of e.
func (g refGraph) relation(digest string, e manifest.Edge) string {
	if e.Kind != manifest.EdgeChild && e.To == digest {
		return "subject"
	}
	if e.Kind == manifest.EdgeChild {
		switch p := g.platform(digest); {
		case g.kind(digest) == manifest.KindAttestation && p != "":
			return "attestation for " + p
		case p != "":
			return "platform " + p
		default:
			return "child"
		}
	}
	return string(g.kind(digest))
}

// platform is what the first index listing digest says it is for; an
// attestation entry (unknown/unknown) is for the platform of the image it
// attests.
func (g refGraph) platform(digest string) string {
	for _, e := range g.In(digest) {
		if e.Kind != manifest.EdgeChild {
			continue
		}
		parent, _ := g.Node(e.From)
		var attests string
		platforms := map[string]string{}
		for _, c := range parent.Manifest.Children {
			platforms[c.Digest] = c.Platform
			if c.Digest == digest {
				attests = c.Attests
			}
		}
		if attests != "" {
			return platforms[attests]
		}
		if p := platforms[digest]; p != "unknown/unknown" {
			return p
		}
	}
	return ""
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
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(unit, "y"))
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
