// Package manifest reads OCI and Docker manifests and builds the reference
// graph of a GHCR package: which version points at which.
package manifest

import (
	"fmt"
	"strconv"
)

// Kind is what a manifest is; its String is the word the job summary
// and the plan file use. A byte rather than the word itself: a plan holds
// one a manifest and one a decision, 100,000 of each at scale.
type Kind uint8

const (
	KindIndex       Kind = iota + 1
	KindImage            // a runnable image
	KindAttestation      // buildx attestation manifest, cosign .att, in-toto layers
	KindSignature        // cosign simple signing or a sigstore bundle
	KindReferrer         // any other manifest with an OCI 1.1 subject (SBOMs, ...)
	KindHelm
	KindOther // an artifact we do not recognise: a leaf, protected by its tags
)

// kindNames are the words of the kinds, by kind; the zero Kind is "".
var kindNames = [...]string{"", "index", "image", "attestation", "signature", "referrer", "helm chart", "other"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's word, so that JSON says "index", not 1.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("no such kind: %d", k)
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText reads a kind's word, as MarshalText writes it.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if name == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown manifest kind %q", b)
}

// Descriptor is one entry of an index.
type Descriptor struct {
	Digest string
	// Platform is "os/arch" or "os/arch/variant" ("linux/arm64/v8"), "" when the
	// entry has none. buildx attestation entries say "unknown/unknown".
	Platform string
	// Attests is the digest a buildx attestation entry describes
	// (annotation vnd.docker.reference.digest), "" otherwise.
	Attests string
}

// Manifest is the part of a manifest the graph needs. Layers and configs are
// never fetched: everything here comes from the manifest body itself.
type Manifest struct {
	Digest   string
	Children []Descriptor // index entries in manifest order; nil for non-indexes
	Subject  string       // OCI 1.1 subject digest, "" when none
	// Size is the manifest body's length in bytes: what its version takes
	// in the registry besides its blobs.
	Size int64
	// Blobs are the config and layers an image manifest names (none for an
	// index), with the sizes the manifest gives them, so a plan can say
	// what deleting frees without fetching a blob.
	Blobs []Blob
	// Kind is all a decision needs of the media and artifact types, so
	// they are not kept. It sits next to Placeholder, the two in one word.
	Kind Kind
	// Placeholder marks a manifest ghcr-prune itself pushed to move a tag
	// away (see internal/ghcr's Untag): it is never anyone's image.
	Placeholder bool
}

// Blob is one config or layer a manifest names, as compactly as counting
// what a deletion frees allows: 16 bytes for each of the hundreds of
// thousands of blobs a large package names, where the digest's text alone
// takes 71. Key is the first 8 bytes of its sha256 digest (of the sha256 of
// its text for another algorithm): two blobs of one package sharing a key
// is about a one in thirty million chance at a million blobs, and would
// only make a count of freed bytes come out low.
type Blob struct {
	Key  uint64
	Size int64
}
