// Package retention decides which versions of a GHCR package to delete and
// carries the decision out. The decision (Compute) is pure: a Snapshot and a
// Policy go in, a Plan comes out. It is mark and sweep over the package's
// reference graph: the policy only picks candidates among top-level images;
// everything a kept version reaches is kept, and only the rest is deleted.
package retention

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Version is one package version as the Packages API lists it. For a
// container package every manifest digest is its own version.
type Version struct {
	ID        int64
	Digest    string
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Snapshot is everything the decision depends on: every version of one
// package and the parsed manifest of each.
type Snapshot struct {
	Package   string
	Versions  []Version
	Manifests map[string]*manifest.Manifest // by digest
}

// Action is what happens to a version.
type Action string

const (
	Keep   Action = "keep"
	Delete Action = "delete"
	// Deferred would be deleted, but is left for a later run by
	// max-deletions or a rate budget that would not cover it.
	Deferred Action = "deferred"
)

// Decision is the fate of one version and why.
type Decision struct {
	ID        int64         `json:"id"`
	Digest    string        `json:"digest"`
	Tags      []string      `json:"tags"`
	Kind      manifest.Kind `json:"kind"`
	Platform  string        `json:"platform,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	Action    Action        `json:"decision"`
	Reason    string        `json:"reason"`
	// KeptBy is the root a kept version hangs from, "" for roots themselves.
	KeptBy string `json:"kept_by,omitempty"`
}

// Untag removes tags from an image that stays. GHCR has no tag deletion:
// the tag is moved to a throwaway placeholder manifest, whose version is
// then deleted.
type Untag struct {
	ID     int64    `json:"id"`
	Digest string   `json:"digest"`
	Tags   []string `json:"tags"` // to remove
	Keep   []string `json:"keep"` // the tags the image keeps
	Reason string   `json:"reason"`
}

// Broken is an index some of whose children are not in the package: pulling
// it fails with "manifest unknown".
type Broken struct {
	Digest  string   `json:"digest"`
	Tags    []string `json:"tags"`
	Missing []string `json:"missing"`
	// Children is how many distinct children the index lists.
	Children int  `json:"children"`
	Ghost    bool `json:"ghost"` // no child exists at all
	Deleted  bool `json:"deleted"`
}

// Plan is the decision for one package.
type Plan struct {
	Package string
	// Delete is in deletion order: every version comes before anything it
	// points at, so stopping midway never leaves a kept index without a child.
	Delete []Decision
	Keep   []Decision // newest first
	Broken []Broken
	// Untag lists kept images that lose some of their tags.
	Untag []Untag
	// Deferred would be deleted but are left for a later run (see Limit).
	Deferred []Decision

	graph      *manifest.Graph
	candidates map[string]bool // the versions the policy picked, as opposed to what goes with them
}

// Compute decides the fate of every version of s under p at time now.
func Compute(s Snapshot, p Policy, now time.Time) (*Plan, error) {
	g, versions, err := graphOf(s)
	if err != nil {
		return nil, err
	}
	d := decider{g: g, p: p, now: now, roots: map[string]string{}, candidates: map[string]string{}, untags: map[string][]string{}}
	d.choose(versions)
	return d.plan(s.Package, versions)
}

// graphOf builds the snapshot's graph and its versions newest first, so that
// keep-n ranks and every listing read naturally.
func graphOf(s Snapshot) (*manifest.Graph, []Version, error) {
	versions := slices.Clone(s.Versions)
	sort.SliceStable(versions, func(i, j int) bool {
		if !versions[i].UpdatedAt.Equal(versions[j].UpdatedAt) {
			return versions[i].UpdatedAt.After(versions[j].UpdatedAt)
		}
		return versions[i].ID > versions[j].ID
	})
	nodes := make([]manifest.Node, 0, len(versions))
	seen := make(map[string]int64, len(versions))
	for _, v := range versions {
		if id, dup := seen[v.Digest]; dup {
			return nil, nil, fmt.Errorf("versions %d and %d both have digest %s", id, v.ID, v.Digest)
		}
		seen[v.Digest] = v.ID
		m := s.Manifests[v.Digest]
		if m == nil {
			return nil, nil, fmt.Errorf("version %d (%s) has no manifest", v.ID, v.Digest)
		}
		nodes = append(nodes, manifest.Node{Digest: v.Digest, Tags: v.Tags, Manifest: m})
	}
	g, err := manifest.NewGraph(nodes)
	if err != nil {
		return nil, nil, err
	}
	return g, versions, nil
}

// Sweep plans the rest of a run between deletion waves. The policy was
// applied once, when the plan was made; now the question is only which of
// the remaining deletions nothing reaches any more. Every other version is
// kept with all it reaches, and so is a remaining version that was re-pushed
// under a new id, gained a tag, or now matches exclude.
func Sweep(s Snapshot, remaining map[string]Decision, exclude Patterns) (*Plan, error) {
	g, versions, err := graphOf(s)
	if err != nil {
		return nil, err
	}
	d := decider{g: g, p: Policy{ExcludeTags: exclude, KeepNTagged: -1, KeepNUntagged: -1}, roots: map[string]string{}, candidates: map[string]string{}, untags: map[string][]string{}}
	for _, v := range versions {
		r, planned := remaining[v.Digest]
		switch why, excluded := d.excluded(v); {
		case excluded:
			d.roots[v.Digest] = why
		case !planned:
			// The plan kept it (or it is new): keep it and all it reaches.
			d.roots[v.Digest] = "not planned for deletion"
			if tags := UserTags(v.Tags); len(tags) > 0 {
				d.roots[v.Digest] = TagsReason(tags)
			}
		case r.ID != v.ID:
			d.roots[v.Digest] = fmt.Sprintf("re-pushed as version %d", v.ID)
		case len(gained(r.Tags, v.Tags)) > 0:
			d.roots[v.Digest] = "tagged since the plan was made: " + strings.Join(gained(r.Tags, v.Tags), ", ")
		default:
			d.candidates[v.Digest] = r.Reason
		}
	}
	return d.plan(s.Package, versions)
}

// gained is the user tags of now that were not in before.
func gained(before, now []string) []string {
	var out []string
	for _, t := range UserTags(now) {
		if !slices.Contains(before, t) {
			out = append(out, t)
		}
	}
	return out
}

type decider struct {
	g          *manifest.Graph
	p          Policy
	now        time.Time
	roots      map[string]string   // digest -> why it is kept
	candidates map[string]string   // digest -> why the policy deletes it
	untags     map[string][]string // digest -> tags to remove from a kept image
}

// choose sorts every version into a root (kept, with all it reaches), a
// candidate (deleted unless a root reaches it), or neither (it lives and dies
// with its parents or subject).
func (d *decider) choose(versions []Version) {
	var untagged, tagged []Version
	for _, v := range versions {
		tags := UserTags(v.Tags)
		if why, ok := d.excluded(v); ok {
			d.roots[v.Digest] = why
			continue
		}
		if d.hasParent(v.Digest) {
			if len(tags) > 0 {
				d.roots[v.Digest] = TagsReason(tags)
			}
			continue
		}
		if subjects := d.subjects(v.Digest); len(subjects) > 0 {
			d.selectReferrer(v, tags)
			continue
		}
		if d.selectBroken(v) {
			continue
		}
		if len(tags) == 0 {
			untagged = append(untagged, v)
		} else {
			tagged = append(tagged, v)
		}
	}
	d.selectUntagged(untagged)
	d.selectTagged(tagged)
	d.applyOlderThan(versions)
	d.applyAllowlist(versions)
}

// applyAllowlist confines the plan to a reviewed one: a candidate the review
// did not list is kept (with all it reaches), and so is every version the
// review did not list for deletion, so nothing is deleted that nobody saw.
func (d *decider) applyAllowlist(versions []Version) {
	if d.p.Allow == nil {
		return
	}
	for _, v := range versions {
		r, listed := d.p.Allow.Delete[v.Digest]
		if !listed || r != v.ID {
			if why, ok := d.candidates[v.Digest]; ok {
				delete(d.candidates, v.Digest)
				d.roots[v.Digest] = why + "; not in the reviewed plan"
			} else if _, ok := d.roots[v.Digest]; !ok {
				d.roots[v.Digest] = "not in the reviewed plan"
			}
		}
		if tags, ok := d.untags[v.Digest]; ok {
			var allowed []string
			for _, t := range tags {
				if slices.Contains(d.p.Allow.Untag[v.Digest], t) {
					allowed = append(allowed, t)
				}
			}
			if len(allowed) == 0 {
				delete(d.untags, v.Digest)
			} else {
				d.untags[v.Digest] = allowed
			}
		}
	}
}

func (d *decider) selectReferrer(v Version, tags []string) {
	if len(tags) > 0 {
		d.roots[v.Digest] = TagsReason(tags)
		return
	}
	for _, s := range d.subjects(v.Digest) {
		if _, ok := d.g.Node(s); ok {
			return // lives with its subject
		}
	}
	kind := d.kind(v.Digest)
	subject := ShortDigest(d.subjects(v.Digest)[0])
	if d.p.DeleteOrphaned {
		d.candidates[v.Digest] = fmt.Sprintf("orphaned %s: subject %s is not in the package", kind, subject)
	} else {
		d.roots[v.Digest] = fmt.Sprintf("orphaned %s (subject %s missing); delete-orphaned-images is off", kind, subject)
	}
}

// selectBroken makes ghost and partial indexes candidates when asked to.
func (d *decider) selectBroken(v Version) bool {
	missing := d.g.Missing(v.Digest)
	m, _ := d.g.Node(v.Digest)
	if len(missing) == 0 || m.Manifest.Kind != manifest.KindIndex {
		return false
	}
	children := distinctChildren(m.Manifest)
	switch {
	case len(missing) == children && d.p.DeleteGhost:
		d.candidates[v.Digest] = fmt.Sprintf("ghost image: none of its %d children exist", children)
		return true
	case len(missing) < children && d.p.DeletePartial:
		d.candidates[v.Digest] = fmt.Sprintf("partial image: %d of its %d children missing", len(missing), children)
		return true
	}
	return false
}

func (d *decider) selectUntagged(untagged []Version) {
	for i, v := range untagged {
		switch {
		case d.p.DeleteTags.MatchDigest(v.Digest):
			d.candidates[v.Digest] = "digest listed in delete-tags"
		case !d.p.untaggedRule():
			d.roots[v.Digest] = "untagged; no rule deletes untagged images"
		case d.p.KeepNUntagged >= 0 && i < d.p.KeepNUntagged:
			d.roots[v.Digest] = fmt.Sprintf("among the %d newest untagged", d.p.KeepNUntagged)
		default:
			d.candidates[v.Digest] = "untagged"
		}
	}
}

func (d *decider) selectTagged(tagged []Version) {
	var selected []Version
	for _, v := range tagged {
		tags := UserTags(v.Tags)
		if d.p.taggedRule() && d.deleteTagsSelect(v, tags) {
			selected = append(selected, v)
		} else {
			d.roots[v.Digest] = TagsReason(tags)
		}
	}
	// keep-n ranks images, not tags: an image kept by it keeps every tag.
	for i, v := range selected {
		tags := UserTags(v.Tags)
		if d.p.KeepNTagged >= 0 && i < d.p.KeepNTagged {
			d.roots[v.Digest] = fmt.Sprintf("%s, among the %d newest tagged", TagsReason(tags), d.p.KeepNTagged)
			continue
		}
		matched, rest := d.splitTags(tags)
		switch {
		case d.p.DeleteTags.Empty():
			d.candidates[v.Digest] = fmt.Sprintf("%s, beyond the %d newest tagged", TagsReason(tags), d.p.KeepNTagged)
		case d.p.DeleteTags.MatchDigest(v.Digest):
			d.candidates[v.Digest] = "digest listed in delete-tags"
		case len(rest) == 0:
			d.candidates[v.Digest] = TagsReason(tags) + " " + matchVerb(tags) + " delete-tags"
		default:
			// Some tags match: remove just those, keep the image.
			d.untags[v.Digest] = matched
			d.roots[v.Digest] = fmt.Sprintf("%s; %s %s delete-tags and will be removed", TagsReason(rest), TagsReason(matched), matchVerb(matched))
		}
	}
}

// deleteTagsSelect reports whether a tagged image is in the tagged candidate
// set: with delete-tags, at least one of its tags must match (or its digest
// be listed). It is deleted only when every tag matches; otherwise only the
// matching tags are removed.
func (d *decider) deleteTagsSelect(v Version, tags []string) bool {
	if d.p.DeleteTags.Empty() || d.p.DeleteTags.MatchDigest(v.Digest) {
		return true
	}
	matched, _ := d.splitTags(tags)
	return len(matched) > 0
}

func (d *decider) splitTags(tags []string) (matched, rest []string) {
	for _, t := range tags {
		if d.p.DeleteTags.MatchTag(t) {
			matched = append(matched, t)
		} else {
			rest = append(rest, t)
		}
	}
	return matched, rest
}

// applyOlderThan spares young candidates and says how old the others are.
func (d *decider) applyOlderThan(versions []Version) {
	for _, v := range versions {
		if _, ok := d.untags[v.Digest]; ok && d.p.OlderThan > 0 && d.now.Sub(v.UpdatedAt) < d.p.OlderThan {
			delete(d.untags, v.Digest)
			d.roots[v.Digest] = fmt.Sprintf("%s, only %s old (older-than %s)", TagsReason(UserTags(v.Tags)), FormatAge(d.now.Sub(v.UpdatedAt)), FormatAge(d.p.OlderThan))
		}
		why, ok := d.candidates[v.Digest]
		if !ok {
			continue
		}
		age := d.now.Sub(v.UpdatedAt)
		if d.p.OlderThan > 0 && age < d.p.OlderThan {
			delete(d.candidates, v.Digest)
			d.roots[v.Digest] = fmt.Sprintf("%s, but only %s old (older-than %s)", why, FormatAge(age), FormatAge(d.p.OlderThan))
			continue
		}
		d.candidates[v.Digest] = fmt.Sprintf("%s, %s old", why, FormatAge(age))
	}
}

func (d *decider) excluded(v Version) (string, bool) {
	if d.p.ExcludeTags.MatchDigest(v.Digest) {
		return "digest listed in exclude-tags", true
	}
	var matched []string
	for _, t := range v.Tags {
		if d.p.ExcludeTags.MatchTag(t) {
			matched = append(matched, t)
		}
	}
	if len(matched) == 0 {
		return "", false
	}
	return TagsReason(matched) + " " + matchVerb(matched) + " exclude-tags", true
}

func (d *decider) hasParent(digest string) bool {
	for _, e := range d.g.In(digest) {
		if e.Kind == manifest.EdgeChild {
			return true
		}
	}
	return false
}

// subjects are the digests a version refers to as a signature, attestation
// or other referrer, whether or not they exist.
func (d *decider) subjects(digest string) []string {
	var out []string
	for _, e := range d.g.Out(digest) {
		// A tag naming the version's own digest refers to nothing else.
		if e.Kind != manifest.EdgeChild && e.To != digest {
			out = append(out, e.To)
		}
	}
	return out
}

func (d *decider) kind(digest string) manifest.Kind {
	n, _ := d.g.Node(digest)
	if n.Manifest.Kind == manifest.KindIndex && len(d.subjects(digest)) > 0 {
		// The sha256-<hex> fallback index that lists a subject's referrers.
		return manifest.KindReferrer
	}
	return n.Manifest.Kind
}

func (d *decider) plan(pkg string, versions []Version) (*Plan, error) {
	roots := make([]string, 0, len(d.roots))
	for digest := range d.roots {
		roots = append(roots, digest)
	}
	kept := d.g.Reachable(roots)
	plan := &Plan{Package: pkg, graph: d.g, candidates: map[string]bool{}}
	for digest := range d.candidates {
		plan.candidates[digest] = true
	}
	toDelete := map[string]bool{}
	byDigest := map[string]Version{}
	for _, v := range versions {
		byDigest[v.Digest] = v
		if _, ok := kept[v.Digest]; !ok {
			toDelete[v.Digest] = true
		}
	}
	for _, v := range versions {
		if toDelete[v.Digest] {
			continue
		}
		dec := d.decision(v, Keep, "")
		dec.Reason, dec.KeptBy = d.keepReason(v.Digest, kept)
		plan.Keep = append(plan.Keep, dec)
	}
	order, err := d.g.DeletionOrder(toDelete)
	if err != nil {
		// Content-addressed manifests cannot form a cycle, but tags can
		// claim one; there is no safe order to delete in.
		return nil, fmt.Errorf("the package's references form a cycle, so there is no safe deletion order: %w", err)
	}
	for _, digest := range order {
		plan.Delete = append(plan.Delete, d.decision(byDigest[digest], Delete, d.deleteReason(digest, toDelete)))
	}
	for _, v := range versions {
		tags, ok := d.untags[v.Digest]
		if !ok || toDelete[v.Digest] {
			continue
		}
		keep := []string{}
		for _, t := range v.Tags {
			if !slices.Contains(tags, t) {
				keep = append(keep, t)
			}
		}
		plan.Untag = append(plan.Untag, Untag{ID: v.ID, Digest: v.Digest, Tags: tags, Keep: keep,
			Reason: fmt.Sprintf("%s %s delete-tags; %s does not", TagsReason(tags), matchVerb(tags), TagsReason(UserTags(keep)))})
	}
	for _, v := range versions {
		n, _ := d.g.Node(v.Digest)
		missing := d.g.Missing(v.Digest)
		if n.Manifest.Kind != manifest.KindIndex || len(missing) == 0 {
			continue
		}
		plan.Broken = append(plan.Broken, Broken{
			Digest:   v.Digest,
			Tags:     UserTags(v.Tags),
			Missing:  missing,
			Children: distinctChildren(n.Manifest),
			Ghost:    len(missing) == distinctChildren(n.Manifest),
			Deleted:  toDelete[v.Digest] && order != nil,
		})
	}
	return plan, nil
}

func (d *decider) decision(v Version, a Action, why string) Decision {
	return Decision{
		ID:        v.ID,
		Digest:    v.Digest,
		Tags:      append([]string{}, v.Tags...), // [] rather than null in the plan file
		Kind:      d.kind(v.Digest),
		Platform:  d.platform(v.Digest),
		CreatedAt: v.CreatedAt,
		UpdatedAt: v.UpdatedAt,
		Action:    a,
		Reason:    why,
	}
}

// keepReason names the root a kept version hangs from: "platform
// linux/arm64 of sha256:ab12… (tag prod)".
func (d *decider) keepReason(digest string, kept map[string]manifest.Edge) (why, root string) {
	if why, ok := d.roots[digest]; ok {
		return why, ""
	}
	e := kept[digest]
	from := other(e, digest)
	root = from
	for range len(kept) {
		if _, ok := d.roots[root]; ok {
			break
		}
		root = other(kept[root], root)
	}
	return fmt.Sprintf("%s of %s (%s)", d.relation(digest, e), ShortDigest(from), d.roots[root]), root
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
func (d *decider) deleteReason(digest string, toDelete map[string]bool) string {
	if why, ok := d.candidates[digest]; ok {
		return why
	}
	for _, e := range d.g.In(digest) {
		if e.Kind == manifest.EdgeChild && toDelete[e.From] {
			return fmt.Sprintf("%s of deleted %s %s", d.relation(digest, e), d.kind(e.From), ShortDigest(e.From))
		}
	}
	for _, e := range d.g.Out(digest) {
		if e.Kind != manifest.EdgeChild && toDelete[e.To] {
			return fmt.Sprintf("%s of deleted %s %s", d.relation(digest, e), d.kind(e.To), ShortDigest(e.To))
		}
	}
	return "nothing kept refers to it"
}

// relation names what digest is to the other end of e.
func (d *decider) relation(digest string, e manifest.Edge) string {
	if e.Kind != manifest.EdgeChild && e.To == digest {
		return "subject"
	}
	if e.Kind == manifest.EdgeChild {
		switch p := d.platform(digest); {
		case d.kind(digest) == manifest.KindAttestation && p != "":
			return "attestation for " + p
		case p != "":
			return "platform " + p
		default:
			return "child"
		}
	}
	return string(d.kind(digest))
}

// platform is what the first index listing digest says it is for; an
// attestation entry (unknown/unknown) is for the platform of the image it
// attests.
func (d *decider) platform(digest string) string {
	for _, e := range d.g.In(digest) {
		if e.Kind != manifest.EdgeChild {
			continue
		}
		parent, _ := d.g.Node(e.From)
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

func distinctChildren(m *manifest.Manifest) int {
	set := map[string]bool{}
	for _, c := range m.Children {
		set[c.Digest] = true
	}
	return len(set)
}

func UserTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		if manifest.IsUserTag(t) {
			out = append(out, t)
		}
	}
	return out
}

func TagsReason(tags []string) string {
	if len(tags) == 1 {
		return "tag " + tags[0]
	}
	return "tags " + strings.Join(tags, ", ")
}

func matchVerb(tags []string) string {
	if len(tags) == 1 {
		return "matches"
	}
	return "match"
}

// shortDigest is the 12-hex form people recognise from docker output.
func ShortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12] + "…"
	}
	return d
}

// formatAge rounds down to the largest unit that reads naturally.
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

func Plural(n int, unit string) string {
	switch {
	case n == 1:
		return "1 " + unit
	case strings.HasSuffix(unit, "ry"): // entry, not day
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(unit, "y"))
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
