package retention

import "time"

// Policy is what the user asked for, already parsed and validated. The zero
// value deletes nothing.
type Policy struct {
	// DeleteUntagged makes untagged top-level images candidates.
	DeleteUntagged bool
	// DeleteTags selects tagged top-level images whose every user tag matches
	// (or whose digest is listed).
	DeleteTags Patterns
	// ExcludeTags keeps matching versions, and all they reach, whatever else
	// the policy says.
	ExcludeTags Patterns
	// KeepNTagged keeps the N most recently updated images of the tagged
	// candidate set; a negative value means the input was not given.
	KeepNTagged int
	// KeepNUntagged keeps the N most recently updated untagged top-level
	// images; a negative value means the input was not given.
	KeepNUntagged int
	// OlderThan, when positive, spares every candidate updated more recently.
	OlderThan time.Duration
	// MinAge, when positive, keeps every version updated more recently,
	// with all it reaches, whatever the rules say: a push in flight lands
	// its platform manifests before the index that lists them. ghcr-prune's
	// own placeholders are the exception.
	MinAge time.Duration
	// GroupTags, when set, makes KeepNTagged count per group: the N newest
	// images of each group a tag falls in are kept, and tagged images in
	// no group are not ranked at all.
	GroupTags *TagGroups
	// Referenced keeps the versions outside files name, with all they
	// reach (keep-referenced-in).
	Referenced References

	DeleteGhost    bool // indexes none of whose children exist
	DeletePartial  bool // indexes some of whose children are missing
	DeleteOrphaned bool // referrers whose subject is absent from the package

	// Allow, when set, confines deletions and untags to those a reviewed
	// plan listed (apply-plan).
	Allow *Allowlist
}

// Allowlist is what a reviewed plan allows for one package.
type Allowlist struct {
	Delete map[string]int64    // digest -> version id
	Untag  map[string][]string // digest -> tags
}

func (p Policy) untaggedRule() bool { return p.DeleteUntagged || p.KeepNUntagged >= 0 }
func (p Policy) taggedRule() bool   { return !p.DeleteTags.Empty() || p.KeepNTagged >= 0 }
