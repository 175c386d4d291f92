package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// versionRE is vMAJOR.MINOR.PATCH with an optional SemVer 2.0 pre-release
// (no build metadata, no leading zeros).
var versionRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
	`(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?$`)

// Version is a parsed release tag.
type Version struct {
	Major, Minor, Patch int
	Pre                 string
}

// ParseVersion parses vMAJOR.MINOR.PATCH[-pre].
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("invalid version %q: want vMAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH-PRERELEASE, e.g. v1.2.3 or v1.3.0-rc.1", s)
	}
	var v Version
	var err error
	for i, p := range []*int{&v.Major, &v.Minor, &v.Patch} {
		if *p, err = strconv.Atoi(m[i+1]); err != nil {
			return Version{}, fmt.Errorf("invalid version %q: %v", s, err)
		}
	}
	v.Pre = m[4]
	return v, nil
}

func (v Version) less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// Tags returns the tags a release of version moves: the version itself,
// then (for a release, not a pre-release) vMAJOR.MINOR and vMAJOR. existing
// is a whitespace separated list of the repository's tags; a floating tag is
// left alone when a newer release of its line already exists, so releasing
// v1.1.5 after v1.2.0 moves v1.1 but not v1. Entries of existing that are not
// releases (pre-releases, floating tags, anything else) are ignored.
func Tags(version, existing string) ([]string, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, err
	}
	tags := []string{version}
	if v.Pre != "" {
		return tags, nil
	}
	newerMinor, newerMajor := false, false
	for _, e := range strings.Fields(existing) {
		w, err := ParseVersion(e)
		if err != nil || w.Pre != "" || w.Major != v.Major || !v.less(w) {
			continue
		}
		newerMajor = true
		if w.Minor == v.Minor {
			newerMinor = true
		}
	}
	if !newerMinor {
		tags = append(tags, fmt.Sprintf("v%d.%d", v.Major, v.Minor))
	}
	if !newerMajor {
		tags = append(tags, fmt.Sprintf("v%d", v.Major))
	}
	return tags, nil
}
