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
}

func newSelection() *selection {
	return &selection{roots: map[string]string{}, candidates: map[string]string{}, untags: map[string][]string{}}
}

// selector applies a policy to the versions of one package. The policy only
// ever picks among top-level images and referrers: a version an index lists
// is never a candidate of its own, so no rule can take a platform away from
// an image that stays.
type selector struct {
	g   refGraph
	p   Policy
	now time.Time
	*selection
}

func newSelector(g refGraph, p Policy, now time.Time) *selector {
	return &selector{g: g, p: p, now: now, selection: newSelection()}
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
	s.applyOlderThan(versions)
	s.applyAllowlist(versions)
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
	for i, v := range selected {
		tags := UserTags(v.Tags)
		if s.p.KeepNTagged >= 0 && i < s.p.KeepNTagged {
			s.roots[v.Digest] = fmt.Sprintf("%s, among the %d newest tagged", TagsReason(tags), s.p.KeepNTagged)
			continue
		}
		matched, rest := s.splitTags(tags)
		switch {
		case s.p.DeleteTags.Empty():
			s.candidates[v.Digest] = fmt.Sprintf("%s, beyond the %d newest tagged", TagsReason(tags), s.p.KeepNTagged)
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

// applyOlderThan spares young candidates and says how old the others are.
// It runs after keep-n, so that the two rules must both allow a deletion.
func (s *selector) applyOlderThan(versions []Version) {
	for _, v := range versions {
		if _, ok := s.untags[v.Digest]; ok && s.p.OlderThan > 0 && s.now.Sub(v.UpdatedAt) < s.p.OlderThan {
			delete(s.untags, v.Digest)
			s.roots[v.Digest] = fmt.Sprintf("%s, only %s old (older-than %s)", TagsReason(UserTags(v.Tags)), FormatAge(s.now.Sub(v.UpdatedAt)), FormatAge(s.p.OlderThan))
		}
		why, ok := s.candidates[v.Digest]
		if !ok {
			continue
		}
		age := s.now.Sub(v.UpdatedAt)
		if s.p.OlderThan > 0 && age < s.p.OlderThan {
			delete(s.candidates, v.Digest)
			s.roots[v.Digest] = fmt.Sprintf("%s, but only %s old (older-than %s)", why, FormatAge(age), FormatAge(s.p.OlderThan))
			continue
		}
		s.candidates[v.Digest] = fmt.Sprintf("%s, %s old", why, FormatAge(age))
	}
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
