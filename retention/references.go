package retention

import (
	"slices"
	"strings"
)

// References are where outside files name images of the owner's packages
// (keep-referenced-in): package -> tag or digest -> where it is named
// ("deploy/prod.yaml:12"). Package names are lower case.
type References map[string]map[string]string

// Of is what the files name in pkg.
func (r References) Of(pkg string) map[string]string {
	return r[strings.ToLower(pkg)]
}

// Reference is one tag or digest the files name.
type Reference struct {
	Target string `json:"target"` // a tag, or a sha256: digest
	Where  string `json:"where"`
}

// referencedBy says why a reference keeps v: its digest or one of its tags
// is named, the digest first.
func referencedBy(refs map[string]string, v Version) (string, bool) {
	if where, ok := refs[v.Digest]; ok {
		return "referenced in " + where, true
	}
	for _, t := range v.Tags {
		if where, ok := refs[t]; ok {
			return "referenced in " + where, true
		}
	}
	return "", false
}

// unresolved lists the references that name no version of the package, by
// target.
func unresolved(refs map[string]string, versions []listed) []Reference {
	if len(refs) == 0 {
		return nil
	}
	found := make(map[string]bool, len(refs))
	for _, v := range versions {
		found[v.Digest] = true
		for _, t := range v.Tags {
			found[t] = true
		}
	}
	var out []Reference
	for target, where := range refs {
		if !found[target] {
			out = append(out, Reference{Target: target, Where: where})
		}
	}
	slices.SortFunc(out, func(a, b Reference) int { return strings.Compare(a.Target, b.Target) })
	return out
}
