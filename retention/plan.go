// Package retention decides which versions of a GHCR package to delete. It
// is the decision only, and pure: a Snapshot and a Policy go in, a Plan comes
// out, and nothing here reads the network, the file system or the clock, so
// every decision can be replayed in a test. Loading snapshots and carrying
// out plans belong to the caller.
//
// The decision is mark and sweep over the package's reference graph. The
// policy picks roots and candidates among the versions (select.go); every
// version a root reaches is kept and the rest is deleted, parents before
// what they point at (mark.go), each with its reason (reasons.go). Check
// verifies the result, Limit cuts it down to a number of deletions, and
// Wave and Blocker pace its execution.
package retention

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghcr-prune/ghcr-prune/manifest"
)

// Version is one package version as the Packages API lists it. For a
// container package every manifest digest is its own version.
// Its json keys are those of a Decision's line in the plan file, which
// holds its version rather than a copy.
type Version struct {
	ID        int64    `json:"id"`
	Digest    string   `json:"digest"`
	Tags      []string `json:"tags"`
	CreatedAt Time     `json:"created_at"`
	UpdatedAt Time     `json:"updated_at"`
}

// Snapshot is everything the decision depends on: every version of one
// package and the parsed manifest of each.
type Snapshot struct {
	Package   string
	Versions  []Version
	Manifests map[string]*manifest.Manifest // by digest
}

// Action is what happens to a version; its String is the word the plan
// file and the log use. A byte, as manifest.Kind is, for the same reason.
type Action uint8

const (
	Keep Action = iota + 1
	Delete
	// Deferred would be deleted, but is left for a later run by
	// max-deletions or a rate budget that would not cover it.
	Deferred
	// Blocked would be deleted, but GitHub would refuse: it is the last
	// tagged version of the package, or its last version. It is kept, with
	// all it reaches, and listed among the kept versions.
	Blocked
)

// actionNames are the words of the actions, by action; the zero Action is "".
var actionNames = [...]string{"", "keep", "delete", "deferred", "blocked"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText writes the action's word, so that JSON says "keep", not 1.
func (a Action) MarshalText() ([]byte, error) {
	if int(a) >= len(actionNames) {
		return nil, fmt.Errorf("no such decision: %d", a)
	}
	return []byte(actionNames[a]), nil
}

// UnmarshalText reads an action's word, as MarshalText writes it.
func (a *Action) UnmarshalText(b []byte) error {
	for i, name := range actionNames {
		if name == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("unknown decision %q", b)
}

// Decision is the fate of one version and why.
//
// It points at its version, which it must not change, instead of copying
// it: 80 bytes less for each of a plan's 100,000 decisions.
type Decision struct {
	*Version
	Kind     manifest.Kind `json:"kind"`
	Action   Action        `json:"decision"` // beside Kind, the two in one word
	Platform string        `json:"platform,omitempty"`
	Reason   string        `json:"reason"`
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
	// Unresolved are the references keep-referenced-in found to this
	// package that name no version of it.
	Unresolved []Reference
	// Reclaimed is what the deletions free in bytes (see Frees).
	Reclaimed int64

	graph *manifest.Graph
	// candidates are the versions the policy picked, as opposed to what
	// goes with them; by id in graph.
	candidates []bool
}

// listed is a version of a snapshot with its id in the snapshot's graph.
type listed struct {
	*Version
	id int32
}

// Compute decides the fate of every version of s under p at time now.
func Compute(s Snapshot, p Policy, now time.Time) (*Plan, error) {
	g, versions, err := graphOf(s)
	if err != nil {
		return nil, err
	}
	sel := newSelector(g, p, now, s.Package).choose(versions)
	return marker{g: g, selection: sel, predictRefusals: true}.plan(s.Package, versions)
}

// graphOf builds the snapshot's graph and its versions newest first, so that
// keep-n ranks and every listing read naturally.
func graphOf(s Snapshot) (refGraph, []listed, error) {
	versions := make([]listed, len(s.Versions))
	for i := range s.Versions {
		versions[i].Version = &s.Versions[i]
	}
	newestFirst := func(a, b listed) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.ID, a.ID))
	}
	if !slices.IsSortedFunc(versions, newestFirst) {
		slices.SortStableFunc(versions, newestFirst)
	}
	nodes := make([]manifest.Node, 0, len(versions))
	for _, v := range versions {
		m := s.Manifests[v.Digest]
		if m == nil {
			return refGraph{}, nil, listingError(s, versions)
		}
		nodes = append(nodes, manifest.Node{Digest: v.Digest, Tags: v.Tags, Manifest: m})
	}
	g, err := manifest.NewGraph(nodes)
	if err != nil {
		if lerr := listingError(s, versions); lerr != nil {
			return refGraph{}, nil, lerr
		}
		return refGraph{}, nil, err
	}
	for i, id := range g.NodeIDs() {
		versions[i].id = id
	}
	return refGraph{g}, versions, nil
}

// listingError is the first version, newest first, that has no manifest
// or the digest of a newer one. It is looked for only once building the
// graph failed: a map of 100,000 digests is a lot to build to find nothing.
func listingError(s Snapshot, versions []listed) error {
	seen := make(map[string]int64, len(versions))
	for _, v := range versions {
		if id, dup := seen[v.Digest]; dup {
			return fmt.Errorf("versions %d and %d both have digest %s", id, v.ID, v.Digest)
		}
		seen[v.Digest] = v.ID
		if s.Manifests[v.Digest] == nil {
			return fmt.Errorf("version %d (%s) has no manifest", v.ID, v.Digest)
		}
	}
	return nil
}

// Sweep plans the rest of a run between deletion waves. The policy was
// applied once, when the plan was made; between waves the question is only
// which of the remaining deletions nothing reaches. Every other version is
// kept with all it reaches, and so is a remaining version that was re-pushed
// under a new id, gained a tag, or matches exclude.
func Sweep(s Snapshot, remaining map[string]Decision, exclude Patterns) (*Plan, error) {
	g, versions, err := graphOf(s)
	if err != nil {
		return nil, err
	}
	sel := newSelection()
	for _, v := range versions {
		r, planned := remaining[v.Digest]
		switch why, ok := excluded(exclude, *v.Version); {
		case ok:
			sel.roots[v.id] = why
		case !planned:
			// The plan kept it (or it is new): keep it and all it reaches.
			sel.roots[v.id] = "not planned for deletion"
			if tags := UserTags(v.Tags); len(tags) > 0 {
				sel.roots[v.id] = TagsReason(tags)
			}
		case r.ID != v.ID:
			sel.roots[v.id] = fmt.Sprintf("re-pushed as version %d", v.ID)
		case len(gained(r.Tags, v.Tags)) > 0:
			sel.roots[v.id] = "tagged since the plan was made: " + strings.Join(gained(r.Tags, v.Tags), ", ")
		default:
			sel.candidates[v.id] = r.Reason
		}
	}
	return marker{g: g, selection: sel}.plan(s.Package, versions)
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
