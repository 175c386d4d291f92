package retention

import (
	"fmt"
	"slices"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// selection is what the policy makes of the versions, before the mark
// decides what goes. A version that is neither a root nor a candidate lives
// and dies with the indexes that list it or the subject it describes.
type selection struct {
	// roots are kept, and so is everything they reach: digest -> why.
	roots map[string]string
	// candidates are deleted unless a root reaches them: digest -> why.
	candidates map[string]string
	// untags are the tags to remove from images that stay: digest -> tags.
	untags map[string][]string
	// young are the versions min-age keeps unless a root keeps them
	// already: digest -> why. The mark keeps them after the roots, so that
	// a platform of a kept index still hangs from its index.
	young map[string]string
	// blocked are the versions kept because GitHub would refuse to delete
	// them (see marker.blockRefusals).
	blocked map[string]bool
	// unresolved are the references that name no version.
	unresolved []Reference
}

func newSelection() *selection {
	return &selection{roots: map[string]string{}, candidates: map[string]string{}, untags: map[string][]string{},
		young: map[string]string{}, blocked: map[string]bool{}}
}

// selector applies a policy to the versions of one package. The policy only
// ever picks among top-level images and referrers: a version an index lists
// is never a candidate of its own, so no rule can take a platform away from
// an image that stays.
type selector struct {
	g    refGraph
	p    Policy
	now  time.Time
	refs map[string]string // what keep-referenced-in names in this package
	*selection
}

func newSelector(g refGraph, p Policy, now time.Time, pkg string) *selector {
	return &selector{g: g, p: p, now: now, refs: p.Referenced.Of(pkg), selection: newSelection()}
}

// choose sorts every version into a root, a candidate or neither.
func (s *selector) choose(versions []Version) *selection {
	var untagged, tagged []Version
	for _, v := range versions {
		tags := UserTags(v.Tags)
		if why, ok := excluded(s.p.ExcludeTags, v); ok {
			s.roots[v.Digest] = why
			continue
		}
		if why, ok := referencedBy(s.refs, v); ok {
			s.roots[v.Digest] = why
			continue
		}
		if s.g.hasParent(v.Digest) {
			if len(tags) > 0 {
				s.roots[v.Digest] = TagsReason(tags)
			}
			continue
		}
		if subjects := s.g.subjects(v.Digest); len(subjects) > 0 {
			s.selectReferrer(v, tags)
			continue
		}
		if s.selectBroken(v) {
			continue
		}
		if len(tags) == 0 {
			untagged = append(untagged, v)
		} else {
			tagged = append(tagged, v)
		}
	}
	s.selectUntagged(untagged)
	s.selectTagged(tagged)
	s.applyAge(versions)
	s.applyAllowlist(versions)
	s.unresolved = unresolved(s.refs, versions)
	return s.selection
}

// applyAllowlist confines the plan to a reviewed one: a candidate the review
// did not list is kept (with all it reaches), and so is every version the
// review did not list for deletion, so nothing is deleted that nobody saw.
func (s *selector) applyAllowlist(versions []Version) {
	if s.p.Allow == nil {
		return
	}
	for _, v := range versions {
		r, listed := s.p.Allow.Delete[v.Digest]
		if !listed || r != v.ID {
			if why, ok := s.candidates[v.Digest]; ok {
				delete(s.candidates, v.Digest)
				s.roots[v.Digest] = why + "; not in the reviewed plan"
			} else if _, ok := s.roots[v.Digest]; !ok {
				s.roots[v.Digest] = "not in the reviewed plan"
			}
		}
		if tags, ok := s.untags[v.Digest]; ok {
			var allowed []string
			for _, t := range tags {
				if slices.Contains(s.p.Allow.Untag[v.Digest], t) {
					allowed = append(allowed, t)
				}
			}
			if len(allowed) == 0 {
				delete(s.untags, v.Digest)
			} else {
				s.untags[v.Digest] = allowed
			}
		}
	}
}

// selectReferrer keeps a tagged referrer for its tags. An untagged one lives
// with its subject, and is decided on its own only when its subject is not
// in the package.
func (s *selector) selectReferrer(v Version, tags []string) {
	if len(tags) > 0 {
		s.roots[v.Digest] = TagsReason(tags)
		return
	}
	for _, subject := range s.g.subjects(v.Digest) {
		if _, ok := s.g.Node(subject); ok {
			return // lives with its subject
		}
	}
	kind := s.g.kind(v.Digest)
	subject := ShortDigest(s.g.subjects(v.Digest)[0])
	if s.p.DeleteOrphaned {
		s.candidates[v.Digest] = fmt.Sprintf("orphaned %s: subject %s is not in the package", kind, subject)
	} else {
		s.roots[v.Digest] = fmt.Sprintf("orphaned %s (subject %s missing); delete-orphaned-images is off", kind, subject)
	}
}

// selectBroken makes ghost and partial indexes candidates when asked to.
func (s *selector) selectBroken(v Version) bool {
	missing := s.g.Missing(v.Digest)
	m, _ := s.g.Node(v.Digest)
	if len(missing) == 0 || m.Manifest.Kind != manifest.KindIndex {
		return false
	}
	children := distinctChildren(m.Manifest)
	switch {
	case len(missing) == children && s.p.DeleteGhost:
		s.candidates[v.Digest] = fmt.Sprintf("ghost image: none of its %d children exist", children)
		return true
	case len(missing) < children && s.p.DeletePartial:
		s.candidates[v.Digest] = fmt.Sprintf("partial image: %d of its %d children missing", len(missing), children)
		return true
	}
	return false
}

// selectUntagged decides the untagged top-level images; they come newest
// first, so keep-n-untagged keeps the newest.
func (s *selector) selectUntagged(untagged []Version) {
	for i, v := range untagged {
		switch {
		case s.p.DeleteTags.MatchDigest(v.Digest):
			s.candidates[v.Digest] = "digest listed in delete-tags"
		case !s.p.untaggedRule():
			s.roots[v.Digest] = "untagged; no rule deletes untagged images"
		case s.p.KeepNUntagged >= 0 && i < s.p.KeepNUntagged:
			s.roots[v.Digest] = fmt.Sprintf("among the %d newest untagged", s.p.KeepNUntagged)
		default:
			s.candidates[v.Digest] = "untagged"
		}
	}
}

// selectTagged decides the tagged top-level images; they come newest first,
// so keep-n-tagged keeps the newest of those delete-tags selects.
func (s *selector) selectTagged(tagged []Version) {
	var selected []Version
	for _, v := range tagged {
		tags := UserTags(v.Tags)
		if s.p.taggedRule() && s.deleteTagsSelect(v, tags) {
			selected = append(selected, v)
		} else {
			s.roots[v.Digest] = TagsReason(tags)
		}
	}
	// keep-n ranks images, not tags: an image kept by it keeps every tag.
	rank := newRanking(s.p.KeepNTagged, s.p.GroupTags)
	for _, v := range selected {
		tags := UserTags(v.Tags)
		kept, ranked, among := rank.next(tags)
		if kept {
			s.roots[v.Digest] = fmt.Sprintf("%s, among %s", TagsReason(tags), among)
			continue
		}
		matched, rest := s.splitTags(tags)
		switch {
		case s.p.DeleteTags.Empty() && !ranked:
			// Only keep-n-tagged selects it, and it ranks groups.
			s.roots[v.Digest] = fmt.Sprintf("%s, in no group of group-tags", TagsReason(tags))
		case s.p.DeleteTags.Empty():
			s.candidates[v.Digest] = fmt.Sprintf("%s, beyond %s", TagsReason(tags), among)
		case s.p.DeleteTags.MatchDigest(v.Digest):
			s.candidates[v.Digest] = "digest listed in delete-tags"
		case len(rest) == 0:
			s.candidates[v.Digest] = TagsReason(tags) + " " + matchVerb(tags) + " delete-tags"
		default:
			// Some tags match: remove just those, keep the image.
			s.untags[v.Digest] = matched
			s.roots[v.Digest] = fmt.Sprintf("%s; %s %s delete-tags and will be removed", TagsReason(rest), TagsReason(matched), matchVerb(matched))
		}
	}
}

// deleteTagsSelect reports whether a tagged image is in the tagged candidate
// set: with delete-tags, at least one of its tags must match (or its digest
// be listed). It is deleted only when every tag matches; otherwise only the
// matching tags are removed.
func (s *selector) deleteTagsSelect(v Version, tags []string) bool {
	if s.p.DeleteTags.Empty() || s.p.DeleteTags.MatchDigest(v.Digest) {
		return true
	}
	matched, _ := s.splitTags(tags)
	return len(matched) > 0
}

// splitTags divides tags into those delete-tags matches and the rest.
func (s *selector) splitTags(tags []string) (matched, rest []string) {
	for _, t := range tags {
		if s.p.DeleteTags.MatchTag(t) {
			matched = append(matched, t)
		} else {
			rest = append(rest, t)
		}
	}
	return matched, rest
}

// applyAge spares young candidates and tag removals and says how old the
// others are; it runs after keep-n, so that the rules and the age must both
// allow a deletion. What min-age spares besides (the versions that would go
// with a candidate) it notes as young, for the mark.
func (s *selector) applyAge(versions []Version) {
	for _, v := range versions {
		spared, tooYoung := s.spare(v)
		if _, ok := s.untags[v.Digest]; ok && tooYoung {
			delete(s.untags, v.Digest)
			s.roots[v.Digest] = fmt.Sprintf("%s, %s", TagsReason(UserTags(v.Tags)), spared)
		}
		why, candidate := s.candidates[v.Digest]
		switch {
		case candidate && tooYoung:
			delete(s.candidates, v.Digest)
			s.roots[v.Digest] = fmt.Sprintf("%s, but %s", why, spared)
		case candidate:
			s.candidates[v.Digest] = fmt.Sprintf("%s, %s old", why, FormatAge(s.now.Sub(v.UpdatedAt)))
		case !s.isRoot(v.Digest) && s.minAge(v) > 0 && s.now.Sub(v.UpdatedAt) < s.minAge(v):
			s.young[v.Digest] = "only " + s.ageAgainst(v, "min-age", s.minAge(v))
		}
	}
}

// spare says whether v is too young for the rules to delete or untag it,
// and why: the later of the older-than and min-age cut-offs decides.
func (s *selector) spare(v Version) (string, bool) {
	age, minAge := s.now.Sub(v.UpdatedAt), s.minAge(v)
	switch {
	case s.p.OlderThan > 0 && age < s.p.OlderThan && s.p.OlderThan >= minAge:
		return "only " + s.ageAgainst(v, "older-than", s.p.OlderThan), true
	case minAge > 0 && age < minAge:
		return "only " + s.ageAgainst(v, "min-age", minAge), true
	}
	return "", false
}

// minAge is min-age for v: ghcr-prune's own placeholder, left behind by a
// tag removal that could not delete it, is no push in flight.
func (s *selector) minAge(v Version) time.Duration {
	if n, ok := s.g.Node(v.Digest); ok && n.Manifest.Placeholder {
		return 0
	}
	return s.p.MinAge
}

// ageAgainst says v's age and the rule it is measured by: "12 minutes old
// (min-age 1 hour)".
func (s *selector) ageAgainst(v Version, rule string, cutoff time.Duration) string {
	return fmt.Sprintf("%s old (%s %s)", FormatAge(s.now.Sub(v.UpdatedAt)), rule, FormatDuration(cutoff))
}

func (s *selector) isRoot(digest string) bool {
	_, ok := s.roots[digest]
	return ok
}

// excluded says why exclude keeps v, if it does. It looks at all of v's
// tags, not only user tags, so a pattern can name a signature by its
// sha256- tag.
func excluded(exclude Patterns, v Version) (string, bool) {
	if exclude.MatchDigest(v.Digest) {
		return "digest listed in exclude-tags", true
	}
	var matched []string
	for _, t := range v.Tags {
		if exclude.MatchTag(t) {
			matched = append(matched, t)
		}
	}
	if len(matched) == 0 {
		return "", false
	}
	return TagsReason(matched) + " " + matchVerb(matched) + " exclude-tags", true
}
