package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// imageRefRE is what the release pins: an image on ghcr.io named by digest.
// Owner and path components are lowercase (GHCR lowercases them; a
// reference with capitals is refused by the registry), the digest is
// sha256 with 64 lowercase hex digits. Go's $ matches only at the end of the
// text, so a trailing newline is rejected too.
var imageRefRE = regexp.MustCompile(`^ghcr\.io/[a-z0-9](?:[a-z0-9-]*[a-z0-9])?` +
	`(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+@sha256:[0-9a-f]{64}$`)

// ValidateImageRef checks that ref is ghcr.io/<owner>/<name>@sha256:<hex>.
func ValidateImageRef(ref string) error {
	if !imageRefRE.MatchString(ref) {
		return fmt.Errorf("invalid image %q: want ghcr.io/<owner>/<name>@sha256:<64 lowercase hex digits>", ref)
	}
	return nil
}

// PinFile rewrites runs.image of the action metadata file to docker://ref.
func PinFile(path, ref string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := Pin(src, ref)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pin-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Pin returns src (an action.yml) with runs.image set to docker://ref. Only
// the bytes of the image value change: comments, quoting of other values,
// line endings and everything else stay byte for byte. The current value
// must be Dockerfile or a docker:// reference (so a release can be re-run).
func Pin(src []byte, ref string) ([]byte, error) {
	if err := ValidateImageRef(ref); err != nil {
		return nil, err
	}
	want := "docker://" + ref
	val, err := imageNode(src)
	if err != nil {
		return nil, err
	}
	if err := checkImageValue(val); err != nil {
		return nil, err
	}
	out, err := replaceScalar(src, val, want)
	if err != nil {
		return nil, err
	}
	if err := checkPinned(out, want); err != nil {
		return nil, err
	}
	return out, nil
}

// checkImageValue accepts only what Pin knows how to rewrite in place.
func checkImageValue(val *yaml.Node) error {
	if val.Kind != yaml.ScalarNode || val.Tag != "!!str" && val.Tag != "" {
		return fmt.Errorf("line %d: runs.image is not a string", val.Line)
	}
	if val.Value != "Dockerfile" && !strings.HasPrefix(val.Value, "docker://") {
		return fmt.Errorf("line %d: runs.image is %q; want Dockerfile or a docker:// reference", val.Line, val.Value)
	}
	if val.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return fmt.Errorf("line %d: runs.image is a block scalar; write it on one line", val.Line)
	}
	return nil
}

// replaceScalar writes want over val's bytes on its line, and leaves every
// other byte of src as it was.
func replaceScalar(src []byte, val *yaml.Node, want string) ([]byte, error) {
	lines := bytes.SplitAfter(src, []byte("\n"))
	if val.Line < 1 || val.Line > len(lines) {
		return nil, fmt.Errorf("runs.image: line %d out of range", val.Line)
	}
	line := lines[val.Line-1]
	start := byteOffset(line, val.Column-1)
	if start < 0 {
		return nil, fmt.Errorf("line %d: runs.image: column %d out of range", val.Line, val.Column)
	}
	end, err := scalarEnd(line, start, val.Style)
	if err != nil {
		return nil, fmt.Errorf("line %d: runs.image: %v", val.Line, err)
	}
	if val.Style == 0 && string(line[start:end]) != val.Value {
		return nil, fmt.Errorf("line %d: runs.image continues on the next line; write it on one line", val.Line)
	}
	var out bytes.Buffer
	for i, l := range lines {
		if i != val.Line-1 {
			out.Write(l)
			continue
		}
		out.Write(line[:start])
		out.WriteString(want) // a plain scalar: starts with a letter, no ": " or " #"
		out.Write(line[end:])
	}
	return out.Bytes(), nil
}

// checkPinned reads the result as a YAML reader does.
func checkPinned(out []byte, want string) error {
	var meta struct {
		Runs struct {
			Using string `yaml:"using"`
			Image string `yaml:"image"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(out, &meta); err != nil {
		return fmt.Errorf("pinned file does not parse: %v", err)
	}
	if meta.Runs.Using != "docker" {
		return fmt.Errorf("runs.using is %q; want docker", meta.Runs.Using)
	}
	if meta.Runs.Image != want {
		return fmt.Errorf("pinned runs.image reads back as %q; want %q", meta.Runs.Image, want)
	}
	return nil
}

// imageNode parses src (exactly one YAML document) and returns the value
// node of runs.image.
func imageNode(src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("parse: %v", err)
		}
		return nil, errors.New("more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	runs, err := lookup(doc.Content[0], "runs")
	if err != nil {
		return nil, err
	}
	if runs == nil {
		return nil, errors.New("no runs")
	}
	if runs.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: runs is not a mapping", runs.Line)
	}
	if runs.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("line %d: runs is a flow mapping; write it as a block mapping", runs.Line)
	}
	img, err := lookup(runs, "image")
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, fmt.Errorf("line %d: runs has no image", runs.Line)
	}
	if img.Kind == yaml.AliasNode || img.Anchor != "" {
		return nil, fmt.Errorf("line %d: runs.image uses an anchor or alias", img.Line)
	}
	return img, nil
}

// lookup returns the value of key in mapping m, nil if absent, an error if
// the key is there twice (a YAML reader would take one of them silently).
func lookup(m *yaml.Node, key string) (*yaml.Node, error) {
	var found *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == key {
			if found != nil {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, key)
			}
			found = m.Content[i+1]
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" {
			return nil, fmt.Errorf("line %d: merge keys are not supported", k.Line)
		}
	}
	return found, nil
}

// byteOffset converts a 0-based rune column to a byte offset in line.
func byteOffset(line []byte, col int) int {
	off := 0
	for i := 0; i < col; i++ {
		if off >= len(line) {
			return -1
		}
		_, n := utf8.DecodeRune(line[off:])
		off += n
	}
	if off >= len(line) {
		return -1
	}
	return off
}

// scalarEnd returns the end offset of the one-line scalar starting at
// line[start].
func scalarEnd(line []byte, start int, style yaml.Style) (int, error) {
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
		}
		return 0, errors.New("quoted value spans lines")
	case style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			}
		}
		return 0, errors.New("quoted value spans lines")
	default:
		end := len(line)
		if i := bytes.Index(line[start:], []byte(" #")); i >= 0 {
			end = start + i
		}
		if i := bytes.Index(line[start:], []byte("\t#")); i >= 0 && start+i < end {
			end = start + i
		}
		return start + len(bytes.TrimRight(line[start:end], " \t\r\n")), nil
	}
}
