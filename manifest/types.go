// Package manifest reads OCI and Docker manifests and builds the reference
// graph of a GHCR package: which version points at which.
package manifest

// Kind is what a manifest is, in the words the job summary uses.
type Kind string

const (
	KindIndex       Kind = "index"
	KindImage       Kind = "image"
	KindAttestation Kind = "attestation" // buildx attestation manifest, cosign .att, in-toto layers
	KindSignature   Kind = "signature"   // cosign simple signing or a sigstore bundle
	KindReferrer    Kind = "referrer"    // any other manifest with an OCI 1.1 subject (SBOMs, ...)
	KindHelm        Kind = "helm chart"
	KindOther       Kind = "other" // an artifact we do not recognise: a leaf, protected by its tags
)

// Descriptor is one entry of an index.
type Descriptor struct {
	Digest    string
	MediaType string
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
	Digest       string
	MediaType    string
	ArtifactType string // manifest artifactType, else config media type for non-image configs
	Kind         Kind
	Children     []Descriptor // index entries in manifest order; nil for non-indexes
	Subject      string       // OCI 1.1 subject digest, "" when none
}
