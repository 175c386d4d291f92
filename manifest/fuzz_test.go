package manifest

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, fx := range fixtures {
		f.Add([]byte(expand(fx.raw)))
	}
	f.Add([]byte(`{"schemaVersion":1,"fsLayers":[]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:abc"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := digestOf(raw)
		m, err := Parse(d, raw)
		if err != nil {
			return
		}
		if m.Digest != d {
			t.Fatalf("Digest = %q, want %q", m.Digest, d)
		}
		for _, c := range m.Children {
			if err := validDigest(c.Digest); err != nil {
				t.Fatalf("child digest %q: %v", c.Digest, err)
			}
		}
		if m.Subject != "" {
			if err := validDigest(m.Subject); err != nil {
				t.Fatalf("subject %q: %v", m.Subject, err)
			}
		}
		if (m.Kind == KindIndex) != (m.Children != nil) {
			t.Fatalf("Kind %q with Children %v", m.Kind, m.Children)
		}
		if m.Size != int64(len(raw)) || (m.Kind == KindIndex) == (len(m.Blobs) > 0) {
			t.Fatalf("Kind %q of %d bytes with Size %d and %d blobs", m.Kind, len(raw), m.Size, len(m.Blobs))
		}
		for _, b := range m.Blobs {
			if b.Size < 0 {
				t.Fatalf("blob size %d", b.Size)
			}
		}
	})
}

func FuzzSubjectOfTag(f *testing.F) {
	hex := strings.Repeat("0123456789abcdef", 4)
	for _, s := range []string{"", "latest", "sha256-" + hex, "sha256-" + hex + ".sig", "sha256-" + hex + ".att", "sha256-" + hex + ".sbom", "sha256-" + hex + ".sigx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		d, ok := SubjectOfTag(tag)
		if IsUserTag(tag) == ok {
			t.Fatalf("IsUserTag(%q) = %v with ok = %v", tag, !ok, ok)
		}
		if !ok {
			if d != "" {
				t.Fatalf("SubjectOfTag(%q) = %q with ok = false", tag, d)
			}
			return
		}
		if err := validDigest(d); err != nil {
			t.Fatalf("SubjectOfTag(%q) = %q: %v", tag, d, err)
		}
		rest := strings.TrimPrefix(tag, "sha256-"+strings.TrimPrefix(d, "sha256:"))
		switch rest {
		case "", ".sig", ".att", ".sbom":
		default:
			t.Fatalf("SubjectOfTag(%q) accepted suffix %q", tag, rest)
		}
	})
}
