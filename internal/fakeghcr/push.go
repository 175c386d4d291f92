package fakeghcr

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types and annotations of the artifacts the Pusher produces.
const (
	InTotoLayer         types.MediaType = "application/vnd.in-toto+json"
	CosignSimpleSign    types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEEnvelope        types.MediaType = "application/vnd.dsse.envelope.v1+json"
	HelmConfig          types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	HelmChartLayer      types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	SigstoreBundle                      = "application/vnd.dev.sigstore.bundle.v0.3+json"
	AnnotationRefType                   = "vnd.docker.reference.type"
	AnnotationRefDigest                 = "vnd.docker.reference.digest"
)

// Pusher pushes realistic artifacts into one package of the fake with
// go-containerregistry, the way buildx, cosign and helm lay them out.
type Pusher struct {
	repo name.Repository
	opts []remote.Option
}

// Pusher returns a pusher for image "<Registry()>/<owner>/<pkg>". Its requests
// bypass latency, faults, the fault hook and the statistics.
func (s *Server) Pusher(owner, pkg string) *Pusher {
	repo, err := name.NewRepository(s.Registry()+"/"+strings.ToLower(owner+"/"+pkg), name.Insecure)
	if err != nil {
		panic("fakeghcr: bad repository: " + err.Error())
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	opts := []remote.Option{remote.WithTransport(SeedTransport(tr))}
	if s.cfg.token != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: "x", Password: s.cfg.token}))
	}
	return &Pusher{repo: repo, opts: opts}
}

// Repository is the image repository the pusher writes to.
func (p *Pusher) Repository() name.Repository { return p.repo }

// Ref is "<registry>/<owner>/<pkg>@<digest>".
func (p *Pusher) Ref(digest string) string { return p.repo.Name() + "@" + digest }

// ref is the tag, or the digest when tag is empty (push by digest only).
func (p *Pusher) ref(tag string, digest v1.Hash) name.Reference {
	if tag == "" {
		return p.repo.Digest(digest.String())
	}
	return p.repo.Tag(tag)
}

// Image pushes a small single-platform Docker v2 image.
func (p *Pusher) Image(tag string) (string, error) {
	img, err := random.Image(128, 1)
	if err != nil {
		return "", err
	}
	return p.writeImage(tag, img)
}

func (p *Pusher) writeImage(tag string, img v1.Image) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	if err := remote.Write(p.ref(tag, d), img, p.opts...); err != nil {
		return "", err
	}
	return d.String(), nil
}

// MultiArch pushes a buildx-style OCI index: one image per platform ("linux/amd64",
// "linux/arm64/v8") and, with attest, one provenance attestation manifest per
// platform. children lists every child digest in index order.
func (p *Pusher) MultiArch(tag string, platforms []string, attest bool) (index string, children []string, err error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var imgs, atts []mutate.IndexAddendum
	for _, ps := range platforms {
		plat, err := v1.ParsePlatform(ps)
		if err != nil {
			return "", nil, err
		}
		img, err := ociImage(*plat)
		if err != nil {
			return "", nil, err
		}
		imgs = append(imgs, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
		if !attest {
			continue
		}
		d, err := img.Digest()
		if err != nil {
			return "", nil, err
		}
		att, err := attestation(d)
		if err != nil {
			return "", nil, err
		}
		atts = append(atts, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{Architecture: "unknown", OS: "unknown"},
			Annotations: map[string]string{AnnotationRefType: "attestation-manifest", AnnotationRefDigest: d.String()},
		}})
	}
	idx = mutate.AppendManifests(idx, append(imgs, atts...)...)
	d, err := idx.Digest()
	if err != nil {
		return "", nil, err
	}
	if err := remote.WriteIndex(p.ref(tag, d), idx, p.opts...); err != nil {
		return "", nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return "", nil, err
	}
	for _, m := range im.Manifests {
		children = append(children, m.Digest.String())
	}
	return d.String(), children, nil
}

// ociImage is a tiny OCI image for one platform; the random layer keeps
// digests unique.
func ociImage(plat v1.Platform) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Variant = plat.Architecture, plat.OS, plat.Variant
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	layer, err := random.Layer(64, types.OCILayer)
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layer)
}

// attestation is BuildKit's legacy attestation manifest for subject.
func attestation(subject v1.Hash) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{Architecture: "unknown", OS: "unknown", RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		return nil, err
	}
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://slsa.dev/provenance/v0.2",
		"subject":       []map[string]any{{"name": "pkg:docker/app", "digest": map[string]string{"sha256": subject.Hex}}},
		"predicate":     map[string]any{"builder": map[string]string{"id": "fakeghcr"}},
	})
	return mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(stmt, InTotoLayer),
		Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
	})
}

// Index pushes an OCI index over digests already in the package; children may
// be images or indexes, so shared children and nested indexes can be built.
func (p *Pusher) Index(tag string, children []string) (string, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, c := range children {
		desc, err := remote.Get(p.repo.Digest(c), p.opts...)
		if err != nil {
			return "", err
		}
		add := mutate.IndexAddendum{Descriptor: v1.Descriptor{}}
		if desc.MediaType.IsIndex() {
			if add.Add, err = desc.ImageIndex(); err != nil {
				return "", err
			}
		} else {
			img, err := desc.Image()
			if err != nil {
				return "", err
			}
			if cf, err := img.ConfigFile(); err == nil && cf.OS != "" {
				add.Platform = cf.Platform()
			}
			add.Add = img
		}
		idx = mutate.AppendManifests(idx, add)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	// The children exist already; only the index manifest is new.
	if err := remote.Put(p.ref(tag, d), idx, p.opts...); err != nil {
		return "", err
	}
	return d.String(), nil
}

// CosignSignature pushes a legacy cosign signature for subject under the tag
// "sha256-<hex>.sig".
func (p *Pusher) CosignSignature(subject string) (string, error) {
	payload, _ := json.Marshal(map[string]any{
		"critical": map[string]any{
			"identity": map[string]string{"docker-reference": p.repo.Name()},
			"image":    map[string]string{"docker-manifest-digest": subject},
			"type":     "cosign container image signature",
		},
		"optional": nil,
	})
	return p.cosign(subject, "sig", payload, CosignSimpleSign, map[string]string{
		"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(randomBytes(64)),
	})
}

// CosignAttestation pushes a legacy cosign attestation for subject under the
// tag "sha256-<hex>.att".
func (p *Pusher) CosignAttestation(subject string) (string, error) {
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v0.1", "subject": subject, "nonce": randomBytes(8)})
	env, _ := json.Marshal(map[string]any{
		"payloadType": "application/vnd.in-toto+json",
		"payload":     base64.StdEncoding.EncodeToString(stmt),
		"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString(randomBytes(64))}},
	})
	return p.cosign(subject, "att", env, DSSEEnvelope, map[string]string{"predicateType": "https://slsa.dev/provenance/v0.2"})
}

func (p *Pusher) cosign(subject, suffix string, payload []byte, mt types.MediaType, ann map[string]string) (string, error) {
	h, err := v1.NewHash(subject)
	if err != nil {
		return "", err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(payload, mt), Annotations: ann})
	if err != nil {
		return "", err
	}
	return p.writeImage(fmt.Sprintf("%s-%s.%s", h.Algorithm, h.Hex, suffix), img)
}

// Referrer pushes an OCI 1.1 artifact whose subject is the given digest. GHCR
// has no referrers API, so go-containerregistry also pushes the fallback index
// tagged "sha256-<hex>" (a new version each time a referrer is added).
func (p *Pusher) Referrer(subject, artifactType string) (string, error) {
	sub, err := remote.Head(p.repo.Digest(subject), p.opts...)
	if err != nil {
		return "", err
	}
	content, _ := json.Marshal(map[string]any{"mediaType": artifactType, "nonce": randomBytes(8)})
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Annotations:   map[string]string{"org.opencontainers.image.created": "2024-03-08T18:18:20Z"},
		Subject:       &v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size},
	}
	return p.putArtifact("", m, []byte("{}"), types.OCIEmptyJSON, content, types.MediaType(artifactType))
}

// Helm pushes a Helm chart (tag = chart version; "" pushes by digest).
func (p *Pusher) Helm(tag string) (string, error) {
	version := tag
	if version == "" {
		version = "0.0.0"
	}
	cfg, _ := json.Marshal(map[string]string{"apiVersion": "v2", "name": "chart", "version": version})
	m := &v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	return p.putArtifact(tag, m, cfg, HelmConfig, randomBytes(96), HelmChartLayer)
}

// putArtifact uploads config and one layer blob, then PUTs m; remote.Put
// maintains the referrers fallback tag when m has a subject.
func (p *Pusher) putArtifact(tag string, m *v1.Manifest, cfg []byte, cfgType types.MediaType, layer []byte, layerType types.MediaType) (string, error) {
	for _, b := range []struct {
		data []byte
		mt   types.MediaType
	}{{cfg, cfgType}, {layer, layerType}} {
		if err := remote.WriteLayer(p.repo, static.NewLayer(b.data, b.mt), p.opts...); err != nil {
			return "", err
		}
	}
	m.Config = descriptorOf(cfg, cfgType)
	m.Layers = []v1.Descriptor{descriptorOf(layer, layerType)}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	if err := remote.Put(p.ref(tag, d), rawManifest{raw, m.MediaType}, p.opts...); err != nil {
		return "", err
	}
	return d.String(), nil
}

func descriptorOf(b []byte, mt types.MediaType) v1.Descriptor {
	h, n, _ := v1.SHA256(bytes.NewReader(b))
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}
}

// rawManifest is a remote.Taggable for manifests built by hand, which
// go-containerregistry's image types cannot express (artifactType, foreign
// config blobs).
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// Tag points tag at an existing digest of the package.
func (p *Pusher) Tag(digest, tag string) error {
	desc, err := remote.Get(p.repo.Digest(digest), p.opts...)
	if err != nil {
		return err
	}
	return remote.Tag(p.repo.Tag(tag), desc, p.opts...)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
