package manifest

import (
	"slices"
	"strings"
)

// cosignSuffixes are the tag suffixes cosign uses for signatures,
// attestations and SBOMs stored next to the image they describe.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// SubjectOfTag reports which manifest a tag refers to when the tag is one that
// tools derive from a digest rather than one a user chose: cosign's
// "sha256-<hex>.sig|.att|.sbom" and the referrers fallback tag "sha256-<hex>"
// of the distribution spec. These tags are the only link from such artifacts
// to their subject, so the graph treats them as edges.
func SubjectOfTag(tag string) (digest string, ok bool) {
	rest, found := strings.CutPrefix(tag, "sha256-")
	if !found || len(rest) < 64 {
		return "", false
	}
	hexPart, suffix := rest[:64], rest[64:]
	if !isLowerHex(hexPart, 64) {
		return "", false
	}
	if suffix != "" && !slices.Contains(cosignSuffixes, suffix) {
		return "", false
	}
	return "sha256:" + hexPart, true
}

// IsUserTag reports whether tag was chosen by a person (or a release
// pipeline) rather than derived from a digest by a tool.
func IsUserTag(tag string) bool {
	_, ok := SubjectOfTag(tag)
	return !ok
}
