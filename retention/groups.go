package retention

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// TagGroups is a parsed group-tags input: an RE2 regex whose capture group
// named "group", else its first, says which group a tag is in.
type TagGroups struct {
	re    *regexp.Regexp
	group int // the index of the capture group
}

// ParseTagGroups parses group-tags. The regex is matched anywhere in a tag,
// as regexes are unless anchored: the README's examples anchor theirs.
func ParseTagGroups(expr string) (*TagGroups, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %v", expr, err)
	}
	group := re.SubexpIndex("group")
	if group < 0 {
		if re.NumSubexp() == 0 {
			return nil, errors.New("the regular expression has no capture group; put the part that names the group in parentheses, e.g. ^(.+)-[0-9a-f]{7,40}$")
		}
		group = 1
	}
	return &TagGroups{re: re, group: group}, nil
}

// String is the regex as given.
func (g *TagGroups) String() string { return g.re.String() }

// Of lists the groups tags fall in, each once, in the order of the tags
// that name them; a tag the regex does not match is in no group.
func (g *TagGroups) Of(tags []string) []string {
	var out []string
	for _, t := range tags {
		m := g.re.FindStringSubmatch(t)
		if m == nil || slices.Contains(out, m[g.group]) {
			continue
		}
		out = append(out, m[g.group])
	}
	return out
}

// ranking is keep-n-tagged going through the tagged candidates, newest
// first: overall, or per group with group-tags.
type ranking struct {
	n      int // keep-n-tagged; negative when not given
	groups *TagGroups
	ranked map[string]int // group -> images ranked so far
	all    int
	// newest is "the 3 newest tagged", said once rather than for each of
	// thousands of images.
	newest string
}

func newRanking(n int, groups *TagGroups) *ranking {
	return &ranking{n: n, groups: groups, ranked: map[string]int{}, newest: fmt.Sprintf("the %d newest tagged", n)}
}

// next ranks the next image by its user tags: whether keep-n-tagged keeps
// it, whether it ranks it at all (not without keep-n-tagged, nor with
// group-tags when no tag is in a group), and, with group-tags, the groups
// it is measured in (see among).
func (r *ranking) next(tags []string) (kept, ranked bool, groups []string) {
	if r.n < 0 {
		return false, false, nil
	}
	if r.groups == nil {
		r.all++
		return r.all <= r.n, true, nil
	}
	groups = r.groups.Of(tags)
	if len(groups) == 0 {
		return false, false, nil
	}
	var keeping []string
	for _, g := range groups {
		if r.ranked[g]++; r.ranked[g] <= r.n {
			keeping = append(keeping, g)
		}
	}
	if len(keeping) > 0 {
		return true, true, keeping
	}
	return false, true, groups
}

// among says which newest an image next ranked is measured among: "the 3
// newest tagged", "the 3 newest of group main". Only a reason shown needs
// it.
func (r *ranking) among(groups []string) string {
	if r.groups == nil {
		return r.newest
	}
	return fmt.Sprintf("the %d newest of %s", r.n, groupsReason(groups))
}

// groupsReason names groups in a reason: "group main", "groups main, dev";
// the empty group, which a capture group matching nothing makes, is `""`.
func groupsReason(groups []string) string {
	named := make([]string, len(groups))
	for i, g := range groups {
		named[i] = cmp.Or(g, `""`)
	}
	if len(named) == 1 {
		return "group " + named[0]
	}
	return "groups " + strings.Join(named, ", ")
}
