package fakeghcr

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// BuildxImage is what `docker buildx build --platform
// linux/amd64,linux/arm64 --provenance=true --push` leaves in a package: an
// index over two platform images and their two attestation manifests, each
// a version of its own, about 0.5-1.5 KB a manifest.
type BuildxImage struct {
	Index    RawManifest
	Children []RawManifest // amd64, arm64, then their attestations
	Tags     []string
}

// RawManifest is a manifest as the registry stores it.
type RawManifest struct {
	Digest    string
	Raw       []byte
	MediaType string
}

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
	ociLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    map[string]string `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociDocument struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        *ociDescriptor    `json:"config,omitempty"`
	Layers        []ociDescriptor   `json:"layers,omitempty"`
	Manifests     []ociDescriptor   `json:"manifests,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func blobDigest(parts ...any) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprint(parts...))))
}

func marshalManifest(doc ociDocument) RawManifest {
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return RawManifest{Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(raw)), Raw: raw, MediaType: doc.MediaType}
}

// Buildx is image i of a series of images (0 the newest) built from
// commit i of source at created: tagged sha-<commit>, every 20th also with a
// release tag v1.N.0, image 0 also latest.
func Buildx(i, images int, source string, created time.Time) BuildxImage {
	commit := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i))))
	ann := map[string]string{
		"org.opencontainers.image.created":  created.Format(time.RFC3339),
		"org.opencontainers.image.revision": commit[:40],
		"org.opencontainers.image.source":   source,
	}
	var img BuildxImage
	var platforms, attests []ociDescriptor
	var attManifests []RawManifest
	for _, arch := range []string{"amd64", "arm64"} {
		layers := make([]ociDescriptor, 4)
		for l := range layers {
			layers[l] = ociDescriptor{MediaType: ociLayer, Digest: blobDigest("layer", i, arch, l), Size: int64(1000003 * (l + 1))}
		}
		plat := marshalManifest(ociDocument{
			SchemaVersion: 2, MediaType: ociManifest,
			Config: &ociDescriptor{MediaType: ociConfig, Digest: blobDigest("config", i, arch), Size: 2345},
			Layers: layers, Annotations: ann,
		})
		att := marshalManifest(ociDocument{
			SchemaVersion: 2, MediaType: ociManifest,
			Config: &ociDescriptor{MediaType: ociConfig, Digest: blobDigest("att-config", i, arch), Size: 241},
			Layers: []ociDescriptor{{
				MediaType: "application/vnd.in-toto+json", Digest: blobDigest("provenance", i, arch), Size: 4321,
				Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
			}},
		})
		img.Children = append(img.Children, plat)
		attests = append(attests, ociDescriptor{
			MediaType: ociManifest, Digest: att.Digest, Size: int64(len(att.Raw)),
			Platform:    map[string]string{"architecture": "unknown", "os": "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.digest": plat.Digest, "vnd.docker.reference.type": "attestation-manifest"},
		})
		platforms = append(platforms, ociDescriptor{
			MediaType: ociManifest, Digest: plat.Digest, Size: int64(len(plat.Raw)),
			Platform: map[string]string{"architecture": arch, "os": "linux"},
		})
		attManifests = append(attManifests, att)
	}
	img.Children = append(img.Children, attManifests...)
	img.Index = marshalManifest(ociDocument{SchemaVersion: 2, MediaType: ociIndex, Manifests: append(platforms, attests...), Annotations: ann})
	img.Tags = []string{"sha-" + commit[:7]}
	if i%20 == 0 {
		img.Tags = append(img.Tags, fmt.Sprintf("v1.%d.0", (images-i)/20))
	}
	if i == 0 {
		img.Tags = append(img.Tags, "latest")
	}
	return img
}

// SeedBuildx puts images buildx images into owner/pkg by PUTting their
// manifests directly (the fake checks that an index's children exist, never
// an image's config or layers, so no blob is uploaded), image i built every
// apart before now, its children as old as their index. It returns the
// number of versions the package then has.
func (s *Server) SeedBuildx(owner, pkg string, images int, now time.Time, every time.Duration) (int, error) {
	put := func(ref string, m RawManifest) error {
		_, status, err := s.PutManifest(owner, pkg, ref, m.MediaType, m.Raw)
		if err == nil && status != http.StatusCreated {
			err = fmt.Errorf("PUT manifest %s: HTTP %d", ref, status)
		}
		return err
	}
	type pushed struct {
		digests []string
		err     error
	}
	results := make([]pushed, images)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	source := "https://github.com/" + owner + "/" + pkg
	for i := range images {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			img := Buildx(i, images, source, now.Add(-time.Duration(i)*every))
			var ds []string
			for _, c := range img.Children {
				if err := put(c.Digest, c); err != nil {
					results[i].err = err
					return
				}
				ds = append(ds, c.Digest)
			}
			for _, tag := range img.Tags {
				if err := put(tag, img.Index); err != nil {
					results[i].err = err
					return
				}
			}
			results[i].digests = append(ds, img.Index.Digest)
		}()
	}
	wg.Wait()
	total := 0
	for i, r := range results {
		if r.err != nil {
			return 0, r.err
		}
		for _, d := range r.digests {
			s.SetUpdated(owner, pkg, d, now.Add(-time.Duration(i)*every))
			total++
		}
	}
	if got := len(s.Versions(owner, pkg)); got != total {
		return 0, fmt.Errorf("seeded %d manifests but the package has %d versions", total, got)
	}
	return total, nil
}
