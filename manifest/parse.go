package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unique"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// MaxManifestSize is the largest manifest body Parse accepts. The
// distribution spec lets registries refuse manifests over 4 MiB, so anything
// larger is not something a registry would have accepted from a client.
const MaxManifestSize = 4 << 20

// Media and artifact types that decide a manifest's Kind.
const (
	mediaTypeInToto          = "application/vnd.in-toto+json"
	mediaTypeDSSE            = "application/vnd.dsse.envelope.v1+json"
	artifactTypeBuildxAttest = "application/vnd.docker.attestation.manifest.v1+json"
	mediaTypeCosignSimpleSig = "application/vnd.dev.cosign.simplesigning.v1+json"
	mediaTypeSigstorePrefix  = "application/vnd.dev.sigstore.bundle"
	mediaTypeHelmConfig      = "application/vnd.cncf.helm.config.v1+json"
)

// Annotations BuildKit puts on the attestation entries of an index.
const (
	annotationRefType     = "vnd.docker.reference.type"
	annotationRefDigest   = "vnd.docker.reference.digest"
	refTypeAttestManifest = "attestation-manifest"
)

// rawManifest is the union of the index and image manifest shapes. Parsing
// both into one struct is what lets Parse infer a missing media type and
// reject bodies that claim to be both (CVE-2021-41190).
type rawManifest struct {
	SchemaVersion int64            `json:"schemaVersion"`
	MediaType     string           `json:"mediaType"`
	ArtifactType  string           `json:"artifactType"`
	Manifests     []rawEntry       `json:"manifests"`
	Config        *rawBlob         `json:"config"`
	Layers        []rawBlob        `json:"layers"`
	Subject       *rawBlob         `json:"subject"`
	Annotations   placeholderNotes `json:"annotations"`
}

// placeholderNotes are the only annotations of a manifest Parse reads.
// They are read only when the nonce's key is there at all, so that the
// annotations of the hundred thousand manifests that are no placeholder
// cost no allocation, and annotations of any shape never fail a parse: a
// package must not become unreadable over what no decision needs.
type placeholderNotes struct {
	Nonce       string `json:"dev.ghcr-prune.nonce"`
	Description string `json:"org.opencontainers.image.description"`
}

func (p *placeholderNotes) UnmarshalJSON(b []byte) error {
	if !bytes.Contains(b, []byte(PlaceholderNonceAnnotation)) {
		return nil
	}
	var notes struct {
		Nonce       string `json:"dev.ghcr-prune.nonce"`
		Description string `json:"org.opencontainers.image.description"`
	}
	if json.Unmarshal(b, &notes) == nil {
		*p = placeholderNotes(notes)
	}
	return nil
}

// rawEntry is an index entry, and rawBlob a config, layer or subject: each
// only with the fields Parse reads, so that decoding allocates nothing for
// the rest (a platform's features, a layer's annotations). Both keep the
// digest as a string, unlike v1.Descriptor, so that an invalid digest can
// be reported together with where it was found.
type rawEntry struct {
	Digest      string            `json:"digest"`
	Platform    *rawPlatform      `json:"platform"`
	Annotations map[string]string `json:"annotations"`
}

type rawPlatform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
}

type rawBlob struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// Parse checks that raw is the manifest named by digest and extracts what the
// reference graph needs. Only sha256 digests are accepted: GHCR names every
// package version by one.
func Parse(digest string, raw []byte) (*Manifest, error) {
	if len(raw) > MaxManifestSize {
		return nil, fmt.Errorf("manifest %s: %d bytes exceeds the %d byte limit", digest, len(raw), MaxManifestSize)
	}
	if err := validDigest(digest); err != nil {
		return nil, fmt.Errorf("manifest %q: %w", digest, err)
	}
	sum := sha256.Sum256(raw)
	var got [2 * sha256.Size]byte // on the stack: 100,000 reads make no garbage of it
	if hex.Encode(got[:], sum[:]); string(got[:]) != digest[len("sha256:"):] {
		return nil, fmt.Errorf("manifest %s: content has digest sha256:%s", digest, got)
	}
	m, err := parse(digest, raw)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", digest, err)
	}
	m.Size = int64(len(raw))
	return m, nil
}

// parse is Parse once the bytes are known to be the digest's. It is longer
// than most functions on purpose: its checks read top to bottom in the order
// they must run (schema version before media type, media type before the
// shape that type allows), and split up they would hide that order.
func parse(digest string, raw []byte) (*Manifest, error) {
	var r rawManifest
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	mt := types.MediaType(r.MediaType)
	// Schema 1 is checked before schemaVersion so its error says what it is.
	if mt.IsSchema1() || r.SchemaVersion == 1 {
		return nil, errors.New("schema 1 manifests are not supported")
	}
	if r.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion is %d, want 2", r.SchemaVersion)
	}

	isIndex := r.Manifests != nil
	isImage := r.Config != nil || r.Layers != nil
	if mt == "" {
		switch {
		case isIndex && !isImage:
			mt = types.OCIImageIndex
		case isImage && !isIndex && r.Config != nil && r.Layers != nil:
			mt = types.OCIManifestSchema1
		default:
			return nil, errors.New("no mediaType and the body is neither an index nor an image manifest")
		}
	}

	m := &Manifest{Digest: digest}
	if r.Subject != nil {
		if err := validDigest(r.Subject.Digest); err != nil {
			return nil, fmt.Errorf("subject digest %q: %w", r.Subject.Digest, err)
		}
		m.Subject = r.Subject.Digest
	}

	switch {
	case mt.IsIndex():
		if isImage {
			return nil, fmt.Errorf("%s has config or layers", mt)
		}
		if r.Manifests == nil {
			return nil, fmt.Errorf("%s has no manifests", mt)
		}
		m.Kind = KindIndex
		children, err := indexChildren(r.Manifests)
		if err != nil {
			return nil, err
		}
		m.Children = children
	case mt.IsImage():
		if isIndex {
			return nil, fmt.Errorf("%s has manifests", mt)
		}
		if r.Config == nil {
			return nil, fmt.Errorf("%s has no config", mt)
		}
		if err := validBlobs(r.Config, r.Layers); err != nil {
			return nil, err
		}
		m.Kind = classify(m, r.ArtifactType, r.Config.MediaType, r.Layers)
		m.Blobs = blobsOf(r.Config, r.Layers)
		m.Placeholder = isPlaceholder(r)
	default:
		return nil, fmt.Errorf("unsupported mediaType %q", mt)
	}
	return m, nil
}

// intern shares the few media types and platforms a package repeats
// 100,000 times between all the manifests that name them.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

func indexChildren(entries []rawEntry) ([]Descriptor, error) {
	children := make([]Descriptor, 0, len(entries))
	for i, e := range entries {
		if err := validDigest(e.Digest); err != nil {
			return nil, fmt.Errorf("index entry %d: digest %q: %w", i, e.Digest, err)
		}
		d := Descriptor{Digest: e.Digest, Platform: intern(e.Platform.String())}
		if e.Annotations[annotationRefType] == refTypeAttestManifest {
			d.Attests = e.Annotations[annotationRefDigest]
			if err := validDigest(d.Attests); err != nil {
				return nil, fmt.Errorf("index entry %d (%s): attested digest %q: %w", i, e.Digest, d.Attests, err)
			}
		}
		children = append(children, d)
	}
	return children, nil
}

// validBlobs rejects malformed config and layer digests. They are never
// fetched, so sha512 is fine here; a bad one means a corrupt manifest.
func validBlobs(config *rawBlob, layers []rawBlob) error {
	if _, err := v1.NewHash(config.Digest); err != nil {
		return fmt.Errorf("config digest %q: %w", config.Digest, err)
	}
	for i, l := range layers {
		if _, err := v1.NewHash(l.Digest); err != nil {
			return fmt.Errorf("layer %d: digest %q: %w", i, l.Digest, err)
		}
	}
	return nil
}

// blobsOf lists the config and layers with their sizes. A negative size
// is nonsense a registry would not accept; it counts as nothing rather than
// making the package unreadable, since sizes decide no deletion.
func blobsOf(config *rawBlob, layers []rawBlob) []Blob {
	blobs := make([]Blob, 1, 1+len(layers))
	blobs[0] = Blob{Key: blobKey(config.Digest), Size: max(config.Size, 0)}
	for _, d := range layers {
		blobs = append(blobs, Blob{Key: blobKey(d.Digest), Size: max(d.Size, 0)})
	}
	return blobs
}

// blobKey is the key a blob is counted once by (see Blob).
func blobKey(digest string) uint64 {
	var sum [32]byte
	if hexPart, ok := strings.CutPrefix(digest, "sha256:"); ok && isLowerHex(hexPart, 64) {
		hex.Decode(sum[:8], []byte(hexPart[:16]))
	} else {
		sum = sha256.Sum256([]byte(digest))
	}
	return binary.BigEndian.Uint64(sum[:8])
}

// Annotations on the placeholder manifests ghcr-prune pushes to move a tag
// away (internal/ghcr's Untag writes them; placeholderNotes reads them).
const (
	PlaceholderNonceAnnotation       = "dev.ghcr-prune.nonce"
	PlaceholderDescriptionAnnotation = "org.opencontainers.image.description"
	PlaceholderDescriptionPrefix     = "ghcr-prune placeholder"
)

// isPlaceholder recognises ghcr-prune's own placeholder: an image with no
// layers, a nonce, and the description that says what it is.
func isPlaceholder(r rawManifest) bool {
	return len(r.Layers) == 0 && r.Annotations.Nonce != "" && strings.HasPrefix(r.Annotations.Description, PlaceholderDescriptionPrefix)
}

// classify decides what an image manifest is. The order matters: attestations
// and signatures often carry a subject or an image config too, and must not be
// mistaken for a generic referrer or a runnable image. artifactType is the
// manifest's own, which a config's media type stands in for when it is absent.
func classify(m *Manifest, artifactType, configType string, layers []rawBlob) Kind {
	if artifactType == "" {
		artifactType = configType
	}
	hasLayer := func(match func(string) bool) bool {
		for _, l := range layers {
			if match(l.MediaType) {
				return true
			}
		}
		return false
	}
	isSigstore := func(t string) bool { return strings.HasPrefix(t, mediaTypeSigstorePrefix) }
	switch {
	case artifactType == artifactTypeBuildxAttest,
		hasLayer(func(t string) bool { return t == mediaTypeInToto || t == mediaTypeDSSE }):
		return KindAttestation
	case isSigstore(artifactType), hasLayer(isSigstore),
		hasLayer(func(t string) bool { return t == mediaTypeCosignSimpleSig }):
		return KindSignature
	case configType == mediaTypeHelmConfig:
		return KindHelm
	case m.Subject != "":
		return KindReferrer
	case isImageConfig(configType):
		return KindImage
	default:
		return KindOther
	}
}

func isImageConfig(mediaType string) bool {
	switch types.MediaType(mediaType) {
	case types.OCIConfigJSON, types.DockerConfigJSON:
		return true
	}
	return false
}

// Platform formats p as "os/arch" or "os/arch/variant", the form users write
// in docker --platform. The OS version is left out: it only matters for
// Windows images and would make the summary noisy.
func Platform(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	return (&rawPlatform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}).String()
}

// String is Platform of the platform p is.
func (p *rawPlatform) String() string {
	if p == nil || (p.OS == "" && p.Architecture == "") {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// validDigest accepts only "sha256:" followed by 64 lowercase hex digits: the
// graph compares digests as strings, so there must be one spelling for each.
func validDigest(d string) error {
	alg, hexPart, ok := strings.Cut(d, ":")
	if !ok {
		return errors.New("not a digest")
	}
	if alg != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", alg)
	}
	if !isLowerHex(hexPart, sha256.Size*2) {
		return errors.New("want 64 lowercase hex digits")
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
