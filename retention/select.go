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
	// roots are kept, and so is everything they reach: id -> why.
	roots map[int32]string
	// candidates are deleted unless a root reaches them: id -> why.
	candidates map[int32]string
	// untags are the tags to remove from images that stay: id -> tags.
	untags map[int32][]string
	// young are the versions min-age keeps unless a root keeps them
	// already: id -> why. The mark keeps them after the roots, so that
	// a platform of a kept index still hangs from its index.
	young map[int32]string
	// blocked are the versions kept because GitHub would refuse to delete
	// them (see marker.blockRefusals).
	blocked map[int32]bool
	// unresolved are the references that name no version.
	unresolved []Reference
}

func newSelection() *selection {
	return &selection{roots: map[int32]string{}, candidates: map[int32]string{}, untags: map[int32][]string{},
		young: map[int32]string{}, blocked: map[int32]bool{}}
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
func (s *selector) choose(versions []listed) *selection {
	var untagged []listed
	var tagged []taggedImage
	for _, v := range versions {
		tags := UserTags(v.Tags)
		if why, ok := excluded(s.p.ExcludeTags, *v.Version); ok {
			s.roots[v.id] = why
			continue
		}
		if why, ok := referencedBy(s.refs, *v.Version); ok {
			s.roots[v.id] = why
			continue
		}
		if s.g.hasParent(v.id) {
			if len(tags) > 0 {
				s.roots[v.id] = TagsReason(tags)
			}
			continue
		}
		if s.g.hasSubject(v.id) {
			s.selectReferrer(v, tags)
			continue
		}
		if s.selectBroken(v) {
			continue
		}
		if len(tags) == 0 {
			untagged = append(untagged, v)
		} else {
			tagged = append(tagged, taggedImage{v, tags})
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
func (s *selector) applyAllowlist(versions []listed) {
	if s.p.Allow == nil {
		return
	}
	for _, v := range versions {
		r, listed := s.p.Allow.Delete[v.Digest]
		if !listed || r != v.ID {
			if why, ok := s.candidates[v.id]; ok {
				delete(s.candidates, v.id)
				s.roots[v.id] = why + "; not in the reviewed plan"
			} else if _, ok := s.roots[v.id]; !ok {
				s.roots[v.id] = "not in the reviewed plan"
			}
		}
		if tags, ok := s.untags[v.id]; ok {
			var allowed []string
			for _, t := range tags {
				if slices.Contains(s.p.Allow.Untag[v.Digest], t) {
					allowed = append(allowed, t)
				}
			}
			if len(allowed) == 0 {
				delete(s.untags, v.id)
			} else {
				s.untags[v.id] = allowed
			}
		}
	}
}

// selectReferrer keeps a tagged referrer for its tags. An untagged one lives
// with its subject, and is decided on its own only when its subject is not
// in the package.
func (s *selector) selectReferrer(v listed, tags []string) {
	if len(tags) > 0 {
		s.roots[v.id] = TagsReason(tags)
		return
	}
	subjects := s.g.subjects(v.id)
	for _, subject := range subjects {
		if s.g.IsVersion(subject) {
			return // lives with its subject
		}
	}
	kind := s.g.kind(v.id)
	subject := ShortDigest(s.g.Digest(subjects[0]))
	if s.p.DeleteOrphaned {
		s.candidates[v.id] = fmt.Sprintf("orphaned %s: subject %s is not in the package", kind, subject)
	} else {
		s.roots[v.id] = fmt.Sprintf("orphaned %s (subject %s missing); delete-orphaned-images is off", kind, subject)
	}
}

// selectBroken makes ghost and partial indexes candidates when asked to.
func (s *selector) selectBroken(v listed) bool {
	m := s.g.Manifest(v.id)
	if m.Kind != manifest.KindIndex {
		return false
	}
	missing := s.g.Missing(v.id)
	if len(missing) == 0 {
		return false
	}
	children := distinctChildren(m)
	switch {
	case len(missing) == children && s.p.DeleteGhost:
		s.candidates[v.id] = fmt.Sprintf("ghost image: none of its %d children exist", children)
		return true
	case len(missing) < children && s.p.DeletePartial:
		s.candidates[v.id] = fmt.Sprintf("partial image: %d of its %d children missing", len(missing), children)
		return true
	}
	return false
}

// selectUntagged decides the untagged top-level images; they come newest
// first, so keep-n-untagged keeps the newest.
func (s *selector) selectUntagged(untagged []listed) {
	for i, v := range untagged {
		switch {
		case s.p.DeleteTags.MatchDigest(v.Digest):
			s.candidates[v.id] = "digest listed in delete-tags"
		case !s.p.untaggedRule():
			s.roots[v.id] = "untagged; no rule deletes untagged images"
		case s.p.KeepNUntagged >= 0 && i < s.p.KeepNUntagged:
			s.roots[v.id] = fmt.Sprintf("among the %d newest untagged", s.p.KeepNUntagged)
		default:
			s.candidates[v.id] = "untagged"
		}
	}
}

// taggedImage is a tagged top-level image with its user tags.
type taggedImage struct {
	listed
	tags []string
}

// selectTagged decides the tagged top-level images; they come newest first,
// so keep-n-tagged keeps the newest of those delete-tags selects.
func (s *selector) selectTagged(tagged []taggedImage) {
	var selected []taggedImage
	for _, v := range tagged {
		if s.p.taggedRule() && s.deleteTagsSelect(v.listed, v.tags) {
			selected = append(selected, v)
		} else {
			s.roots[v.id] = TagsReason(v.tags)
		}
	}
	// keep-n ranks images, not tags: an image kept by it keeps every tag.
	rank := newRanking(s.p.KeepNTagged, s.p.GroupTags)
	for _, v := range selected {
		tags := v.tags
		kept, ranked, groups := rank.next(tags)
		if kept {
			s.roots[v.id] = TagsReason(tags) + ", among " + rank.among(groups)
			continue
		}
		switch {
		case s.p.DeleteTags.Empty() && !ranked:
			// Only keep-n-tagged selects it, and it ranks groups.
			s.roots[v.id] = TagsReason(tags) + ", in no group of group-tags"
		case s.p.DeleteTags.Empty():
			s.candidates[v.id] = TagsReason(tags) + ", beyond " + rank.among(groups)
		case s.p.DeleteTags.MatchDigest(v.Digest):
			s.candidates[v.id] = "digest listed in delete-tags"
		case !slices.ContainsFunc(tags, s.deleteTagsSpare):
			s.candidates[v.id] = TagsReason(tags) + " " + matchVerb(tags) + " delete-tags"
		default:
			// Some tags match: remove just those, keep the image.
			matched, rest := s.splitTags(tags)
			s.untags[v.id] = matched
			s.roots[v.id] = fmt.Sprintf("%s; %s %s delete-tags and will be removed", TagsReason(rest), TagsReason(matched), matchVerb(matched))
		}
	}
}

// deleteTagsSelect reports whether a tagged image is in the tagged candidate
// set: with delete-tags, at least one of its tags must match (or its digest
// be listed). It is deleted only when every tag matches; otherwise only the
// matching tags are removed.
func (s *selector) deleteTagsSelect(v listed, tags []string) bool {
	if s.p.DeleteTags.Empty() || s.p.DeleteTags.MatchDigest(v.Digest) {
		return true
	}
	return slices.ContainsFunc(tags, s.p.DeleteTags.MatchTag)
}

// deleteTagsSpare reports whether delete-tags leaves tag alone.
func (s *selector) deleteTagsSpare(tag string) bool { return !s.p.DeleteTags.MatchTag(tag) }

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
func (s *selector) applyAge(versions []listed) {
	for _, v := range versions {
		rule, cutoff, tooYoung := s.spare(v)
		if _, ok := s.untags[v.id]; ok && tooYoung {
			delete(s.untags, v.id)
			s.roots[v.id] = TagsReason(UserTags(v.Tags)) + ", only " + s.ageAgainst(v, rule, cutoff)
		}
		why, candidate := s.candidates[v.id]
		switch {
		case candidate && tooYoung:
			delete(s.candidates, v.id)
			s.roots[v.id] = why + ", but only " + s.ageAgainst(v, rule, cutoff)
		case candidate:
			s.candidates[v.id] = why + ", " + FormatAge(s.now.Sub(v.UpdatedAt.Time())) + " old"
		case !s.isRoot(v.id) && s.minAge(v) > 0 && s.now.Sub(v.UpdatedAt.Time()) < s.minAge(v):
			s.young[v.id] = "only " + s.ageAgainst(v, "min-age", s.minAge(v))
		}
	}
}

// spare says whether v is too young for the rules to delete or untag it,
// and by which rule and cut-off: the later of older-than and min-age
// decides. Only a candidate or a tag removal spared says so in words.
func (s *selector) spare(v listed) (rule string, cutoff time.Duration, young bool) {
	age, minAge := s.now.Sub(v.UpdatedAt.Time()), s.minAge(v)
	switch {
	case s.p.OlderThan > 0 && age < s.p.OlderThan && s.p.OlderThan >= minAge:
		return "older-than", s.p.OlderThan, true
	case minAge > 0 && age < minAge:
		return "min-age", minAge, true
	}
	return "", 0, false
}

// minAge is min-age for v: ghcr-prune's own placeholder, left behind by a
// tag removal that could not delete it, is no push in flight.
func (s *selector) minAge(v listed) time.Duration {
	if s.g.Manifest(v.id).Placeholder {
		return 0
	}
	return s.p.MinAge
}

// ageAgainst says v's age and the rule it is measured by: "12 minutes old
// (min-age 1 hour)".
func (s *selector) ageAgainst(v listed, rule string, cutoff time.Duration) string {
	return fmt.Sprintf("%s old (%s %s)", FormatAge(s.now.Sub(v.UpdatedAt.Time())), rule, FormatDuration(cutoff))
}

func (s *selector) isRoot(id int32) bool {
	_, ok := s.roots[id]
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
