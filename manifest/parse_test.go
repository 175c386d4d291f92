package manifest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dg returns a fake but well-formed digest made of one repeated hex digit.
func dg(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

func digestOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// expand replaces {a}..{f} and {0}..{9} with fake digests so the fixtures
// stay readable.
func expand(s string) string {
	var pairs []string
	for _, c := range "0123456789abcdef" {
		pairs = append(pairs, "{"+string(c)+"}", dg(byte(c)))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

const emptyConfig = `{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}`

// fixtures are real-shaped manifests; FuzzParse seeds from them too.
var fixtures = []struct {
	name string
	raw  string
	want Manifest // Digest is filled in by the test
}{
	{
		name: "buildx index with attestations",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":1244,"platform":{"architecture":"amd64","os":"linux"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{b}","size":1244,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{c}","size":566,"platform":{"architecture":"unknown","os":"unknown"},
  "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{a}"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":566,"platform":{"architecture":"unknown","os":"unknown"},
  "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{b}"}}]}`,
		want: Manifest{Kind: KindIndex, Children: []Descriptor{
			{Digest: dg('a'), Platform: "linux/amd64"},
			{Digest: dg('b'), Platform: "linux/arm64/v8"},
			{Digest: dg('c'), Platform: "unknown/unknown", Attests: dg('a')},
			{Digest: dg('d'), Platform: "unknown/unknown", Attests: dg('b')},
		}},
	},
	{
		name: "legacy buildx attestation manifest",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{1}","size":167},
 "layers":[{"mediaType":"application/vnd.in-toto+json","digest":"{2}","size":1447,"annotations":{"in-toto.io/predicate-type":"https://slsa.dev/provenance/v0.2"}},
  {"mediaType":"application/vnd.in-toto+json","digest":"{3}","size":9876,"annotations":{"in-toto.io/predicate-type":"https://spdx.dev/Document"}}]}`,
		want: Manifest{Kind: KindAttestation},
	},
	{
		name: "oci-artifact buildx attestation",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "artifactType":"application/vnd.docker.attestation.manifest.v1+json","config":` + emptyConfig + `,
 "layers":[{"mediaType":"application/vnd.in-toto+json","digest":"{2}","size":1447,"annotations":{"in-toto.io/predicate-type":"https://slsa.dev/provenance/v1"}}],
 "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":1244}}`,
		want: Manifest{Kind: KindAttestation, Subject: dg('a')},
	},
	{
		name: "cosign .sig",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{1}","size":233},
 "layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"{2}","size":247,
  "annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ...","dev.sigstore.cosign/bundle":"{}"}}]}`,
		want: Manifest{Kind: KindSignature},
	},
	{
		name: "cosign .att",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{1}","size":233},
 "layers":[{"mediaType":"application/vnd.dsse.envelope.v1+json","digest":"{2}","size":4000,"annotations":{"predicateType":"https://cosign.sigstore.dev/attestation/v1"}}]}`,
		want: Manifest{Kind: KindAttestation},
	},
	{
		name: "sigstore bundle referrer",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
 "config":` + emptyConfig + `,
 "layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"{2}","size":4971}],
 "annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://slsa.dev/provenance/v1"},
 "subject":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{e}","size":1609}}`,
		want: Manifest{Kind: KindSignature, Subject: dg('e')},
	},
	{
		name: "SBOM referrer",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json",
 "config":` + emptyConfig + `,"layers":[{"mediaType":"application/spdx+json","digest":"{2}","size":100}],
 "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":1244}}`,
		want: Manifest{Kind: KindReferrer, Subject: dg('a')},
	},
	{
		name: "referrers fallback index",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{f}","size":779,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
  "annotations":{"dev.sigstore.bundle.content":"dsse-envelope"}}]}`,
		want: Manifest{Kind: KindIndex, Children: []Descriptor{
			{Digest: dg('f')},
		}},
	},
	{
		name: "index with subject",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","artifactType":"application/vnd.example.bundle",
 "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{b}","size":10}],
 "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":1244}}`,
		want: Manifest{Kind: KindIndex,
			Subject: dg('a'), Children: []Descriptor{{Digest: dg('b')}}},
	},
	{
		name: "helm chart",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{1}","size":117},
 "layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"{2}","size":3562},
  {"mediaType":"application/vnd.cncf.helm.chart.provenance.v1.prov","digest":"{3}","size":1200}],
 "annotations":{"org.opencontainers.image.title":"mychart","org.opencontainers.image.version":"1.2.3"}}`,
		want: Manifest{Kind: KindHelm},
	},
	{
		name: "docker v2 manifest list",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
 {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,"digest":"{a}","platform":{"architecture":"amd64","os":"linux"}},
 {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,"digest":"{b}","platform":{"architecture":"arm","os":"linux","variant":"v7"}},
 {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1161,"digest":"{c}","platform":{"architecture":"amd64","os":"windows","os.version":"10.0.17763.5206"}}]}`,
		want: Manifest{Kind: KindIndex, Children: []Descriptor{
			{Digest: dg('a'), Platform: "linux/amd64"},
			{Digest: dg('b'), Platform: "linux/arm/v7"},
			{Digest: dg('c'), Platform: "windows/amd64"},
		}},
	},
	{
		name: "docker v2 image",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"{1}"},
 "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":3370628,"digest":"{2}"}]}`,
		want: Manifest{Kind: KindImage},
	},
	{
		name: "oci image without mediaType",
		raw: `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{1}","size":1469},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{2}","size":100}]}`,
		want: Manifest{Kind: KindImage},
	},
	{
		name: "nested index without mediaType",
		raw: `{"schemaVersion":2,"manifests":[
 {"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{1}","size":900},
 {"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{2}","size":900}]}`,
		want: Manifest{Kind: KindIndex, Children: []Descriptor{
			{Digest: dg('1')},
			{Digest: dg('2')},
		}},
	},
	{
		name: "empty index",
		raw:  `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`,
		want: Manifest{Kind: KindIndex, Children: []Descriptor{}},
	},
	{
		name: "ORAS artifact",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.acme.rocket.config","digest":"{1}","size":2},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{2}","size":12,"annotations":{"org.opencontainers.image.title":"artifact.txt"}}]}`,
		want: Manifest{Kind: KindOther},
	},
	{
		name: "flux artifact with artifactType",
		raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.cncf.flux.content.v1.tar+gzip",
 "config":` + emptyConfig + `,"layers":[{"mediaType":"application/vnd.cncf.flux.content.v1.tar+gzip","digest":"{2}","size":12}]}`,
		want: Manifest{Kind: KindOther},
	},
}

func TestParse(t *testing.T) {
	for _, tc := range fixtures {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(expand(tc.raw))
			d := digestOf(raw)
			got, err := Parse(d, raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tc.want
			want.Digest, want.Size = d, int64(len(raw))
			got.Blobs = nil // TestParseSizes checks them
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	image := func(config, layers string) string {
		return `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + config + `,"layers":` + layers + `}`
	}
	index := func(digest string) string {
		return `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest + `","size":1}]}`
	}
	okConfig := `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{1}","size":2}`
	tests := []struct {
		name, raw, wantErr string
	}{
		{"bad json", `{"schemaVersion":2,`, "invalid JSON"},
		{"not an object", `[1,2]`, "invalid JSON"},
		{"trailing data", `{"schemaVersion":2,"manifests":[]} {}`, "invalid JSON"},
		{"null", `null`, "schemaVersion is 0"},
		{"schema1 signed", `{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws","name":"x","tag":"latest","fsLayers":[],"signatures":[]}`, "schema 1 manifests are not supported"},
		{"schema1 bare", `{"schemaVersion":1,"name":"x","tag":"latest","architecture":"amd64","fsLayers":[{"blobSum":"{1}"}],"history":[]}`, "schema 1 manifests are not supported"},
		{"schemaVersion 3", `{"schemaVersion":3,"manifests":[]}`, "schemaVersion is 3"},
		{"unknown mediaType", `{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]}`, `unsupported mediaType "application/vnd.oci.artifact.manifest.v1+json"`},
		{"uninferable", `{"schemaVersion":2,"config":` + okConfig + `}`, "no mediaType"},
		{"ambiguous without mediaType", `{"schemaVersion":2,"manifests":[],"config":` + okConfig + `,"layers":[]}`, "no mediaType"},
		{"index with layers", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"layers":[]}`, "has config or layers"},
		{"image with manifests", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[],"config":` + okConfig + `,"layers":[]}`, "has manifests"},
		{"index without manifests", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}`, "has no manifests"},
		{"image without config", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`, "has no config"},
		{"child uppercase", index("sha256:" + strings.Repeat("A", 64)), `index entry 0: digest "sha256:AAAA`},
		{"child short", index("sha256:abc"), `digest "sha256:abc"`},
		{"child sha512", index("sha512:" + strings.Repeat("a", 128)), `unsupported digest algorithm "sha512"`},
		{"child empty", index(""), `index entry 0: digest ""`},
		{"bad attests", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"{c}","annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"nope"}}]}`, `attested digest "nope"`},
		{"bad subject", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + okConfig + `,"layers":[],"subject":{"digest":"sha256:zz"}}`, `subject digest "sha256:zz"`},
		{"bad config digest", image(`{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"md5:00"}`, `[]`), `config digest "md5:00"`},
		{"bad layer digest", image(okConfig, `[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:xyz"}]`), `layer 0: digest "sha256:xyz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(expand(tc.raw))
			_, err := Parse(digestOf(raw), raw)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseDigestChecks(t *testing.T) {
	raw := []byte(expand(fixtures[0].raw))
	d := digestOf(raw)
	tests := []struct {
		name, digest, wantErr string
		raw                   []byte
	}{
		{"mismatch", dg('0'), "content has digest " + d, raw},
		{"sha512", "sha512:" + strings.Repeat("0", 128), `unsupported digest algorithm "sha512"`, raw},
		{"uppercase", strings.ToUpper(d), "unsupported digest algorithm", raw},
		{"no algorithm", d[len("sha256:"):], "not a digest", raw},
		{"oversized", "", "exceeds the 4194304 byte limit", make([]byte, MaxManifestSize+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			digest := tc.digest
			if digest == "" {
				digest = digestOf(tc.raw)
			}
			_, err := Parse(digest, tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestPlatform(t *testing.T) {
	tests := []struct {
		p    *v1.Platform
		want string
	}{
		{nil, ""},
		{&v1.Platform{}, ""},
		{&v1.Platform{OS: "linux", Architecture: "amd64"}, "linux/amd64"},
		{&v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux/arm64/v8"},
		{&v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.5206"}, "windows/amd64"},
	}
	for _, tc := range tests {
		if got := Platform(tc.p); got != tc.want {
			t.Errorf("Platform(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestParseSizes(t *testing.T) {
	raw := []byte(expand(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{1}","size":1469},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{2}","size":3000000},
  {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha512:` + strings.Repeat("ab", 64) + `","size":-5}]}`))
	m, err := Parse(digestOf(raw), raw)
	if err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256([]byte("sha512:" + strings.Repeat("ab", 64)))
	want := []Blob{{Key: 0x1111111111111111, Size: 1469}, {Key: 0x2222222222222222, Size: 3000000}, {Key: binary.BigEndian.Uint64(other[:8]), Size: 0}}
	if m.Size != int64(len(raw)) || !reflect.DeepEqual(m.Blobs, want) {
		t.Errorf("size %d, blobs %v; want %d, %v", m.Size, m.Blobs, len(raw), want)
	}
	raw = []byte(expand(fixtures[0].raw))
	if m, err := Parse(digestOf(raw), raw); err != nil || m.Blobs != nil || m.Size != int64(len(raw)) {
		t.Errorf("an index: size %d, blobs %v, %v; want %d bytes and no blobs", m.Size, m.Blobs, err, len(raw))
	}
}

// The placeholder is built as internal/ghcr's Untag builds it.
func TestParsePlaceholder(t *testing.T) {
	placeholder := mutate.Annotations(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), map[string]string{
		PlaceholderDescriptionAnnotation: PlaceholderDescriptionPrefix + ": tag pr-1 was removed; this version is deleted right after it is pushed",
		PlaceholderNonceAnnotation:       "0123456789abcdef",
	}).(v1.Image)
	raw, err := placeholder.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(digestOf(raw), raw)
	if err != nil || !m.Placeholder || m.Kind != KindImage {
		t.Fatalf("placeholder parsed as %+v, %v", m, err)
	}
	for name, raw := range map[string]string{
		"no nonce":        `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + emptyConfig + `,"layers":[],"annotations":{"org.opencontainers.image.description":"ghcr-prune placeholder"}}`,
		"a layer":         `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + emptyConfig + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{2}","size":1}],"annotations":{"org.opencontainers.image.description":"ghcr-prune placeholder","dev.ghcr-prune.nonce":"00"}}`,
		"other purpose":   `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + emptyConfig + `,"layers":[],"annotations":{"org.opencontainers.image.description":"my app","dev.ghcr-prune.nonce":"00"}}`,
		"an ordinary one": fixtures[1].raw,
		"odd annotations": `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + emptyConfig + `,"layers":[],"annotations":{"n":1,"dev.ghcr-prune.nonce":7}}`,
		"not an object":   `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + emptyConfig + `,"layers":[],"annotations":"dev.ghcr-prune.nonce"}`,
	} {
		b := []byte(expand(raw))
		if m, err := Parse(digestOf(b), b); err != nil || m.Placeholder {
			t.Errorf("%s: placeholder %v, %v", name, m != nil && m.Placeholder, err)
		}
	}
}
