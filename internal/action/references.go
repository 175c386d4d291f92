package action

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// maxReferenceFileSize is the largest file keep-referenced-in reads; a
// larger one (a bundle, a lock file, a binary) is skipped with a warning.
const maxReferenceFileSize = 10 << 20

// referenceScan is what keep-referenced-in found in the workspace.
type referenceScan struct {
	refs retention.References
	// warnings are for the log and the summary: globs that matched
	// nothing, files skipped.
	warnings []string
	// templated counts references skipped for template syntax.
	templated int
}

// notes are the scan's remarks for the summary.
func (s referenceScan) notes() []string {
	out := slices.Clone(s.warnings)
	if s.templated > 0 {
		out = append(out, fmt.Sprintf("keep-referenced-in: %s with template syntax (${{ }}, {{ }}, $VAR) skipped",
			retention.Plural(s.templated, "reference")))
	}
	return out
}

// readReferences reads the files globs match under workspace and collects
// their references to owner's packages on the registry host. A file that
// matches but cannot be read fails the scan: what it names might be in use,
// and a run that deletes it would break it. Everything is read through an
// os.Root, so a symbolic link that leads out of the workspace (a checkout
// may be a pull request's) is an error too, never a read.
func readReferences(workspace string, globs []string, host, owner string) (referenceScan, error) {
	scan := referenceScan{refs: retention.References{}}
	globs = slices.Clone(globs)
	for i, g := range globs {
		g = strings.TrimPrefix(g, "./")
		globs[i] = g
		if !doublestar.ValidatePattern(g) {
			return scan, fmt.Errorf("%q is not a valid glob", g)
		}
		if path.IsAbs(g) || slices.Contains(strings.Split(g, "/"), "..") {
			return scan, fmt.Errorf("%q: globs name files under the workspace, relative to it", g)
		}
	}
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return scan, fmt.Errorf("opening the workspace: %w", err)
	}
	defer root.Close()
	files, err := matchFiles(root.FS(), globs, &scan)
	if err != nil {
		return scan, err
	}
	for _, name := range files {
		data, err := readReferenceFile(root, name, &scan)
		if err != nil {
			return scan, err
		}
		found, templated := parseReferences(data, host, owner)
		scan.templated += templated
		for _, r := range found {
			if scan.refs[r.pkg] == nil {
				scan.refs[r.pkg] = map[string]string{}
			}
			if _, seen := scan.refs[r.pkg][r.target]; !seen {
				scan.refs[r.pkg][r.target] = fmt.Sprintf("%s:%d", name, r.line)
			}
		}
	}
	return scan, nil
}

// matchFiles lists the files the globs match, sorted, each once; a glob
// that matches none is a warning.
func matchFiles(fsys fs.FS, globs []string, scan *referenceScan) ([]string, error) {
	var files []string
	for _, g := range globs {
		matches, err := doublestar.Glob(fsys, g, doublestar.WithFilesOnly(), doublestar.WithFailOnIOErrors())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		if len(matches) == 0 {
			scan.warnings = append(scan.warnings, fmt.Sprintf("keep-referenced-in: %s matches no file", g))
		}
		files = append(files, matches...)
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// readReferenceFile reads one file, or skips it with a warning when it is
// too large or not a regular file (a pipe would never end).
func readReferenceFile(root *os.Root, name string, scan *referenceScan) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		scan.warnings = append(scan.warnings, fmt.Sprintf("keep-referenced-in: %s is not a regular file; skipped", name))
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxReferenceFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxReferenceFileSize {
		scan.warnings = append(scan.warnings, fmt.Sprintf("keep-referenced-in: %s is larger than %d MiB; skipped", name, maxReferenceFileSize>>20))
		return nil, nil
	}
	return data, nil
}

// splitGlobs splits keep-referenced-in at newlines and at commas outside
// braces, so that a glob's alternatives ({prod,staging}.yaml) stay whole.
func splitGlobs(v string) []string {
	var out []string
	depth, start := 0, 0
	flush := func(end int) {
		if g := strings.TrimSpace(v[start:end]); g != "" {
			out = append(out, g)
		}
		start = end + 1
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '\n', c == ',' && depth == 0:
			flush(i)
		}
	}
	flush(len(v))
	return out
}

// reference is one image reference found in a file.
type reference struct {
	pkg    string // lower case
	target string // a tag, or a sha256: digest
	line   int
}

// parseReferences finds the references to owner's packages on host in
// data: host/owner/package:tag, host/owner/package@sha256:<hex> and
// host/owner/package:tag@sha256:<hex> (the digest wins), and
// host/owner/package alone, which names latest as docker reads it. Host
// and owner compare case-insensitively, and a package name is taken in
// lower case. A reference that runs into template syntax (${{ … }},
// {{ … }}, $VAR) names nothing that can be known here: it is counted in
// templated and skipped.
func parseReferences(data []byte, host, owner string) (refs []reference, templated int) {
	prefix := asciiLower([]byte(host + "/"))
	lower := asciiLower(data)
	line, lineStart := 1, 0
	for i := 0; ; {
		j := bytes.Index(lower[i:], prefix)
		if j < 0 {
			return refs, templated
		}
		at := i + j
		for ; lineStart < at; lineStart++ {
			if data[lineStart] == '\n' {
				line++
			}
		}
		i = at + len(prefix)
		if at > 0 && isHostByte(data[at-1]) {
			continue // another host that ends in this one: evilghcr.io
		}
		r, ok, tmpl := parseReference(data[i:], owner)
		switch {
		case tmpl:
			templated++
		case ok:
			r.line = line
			refs = append(refs, r)
		}
	}
}

// asciiLower lowers A-Z only: unlike bytes.ToLower it keeps every byte
// where it was, so what is found in the copy is found in the original.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// parseReference parses what follows "host/" in a reference.
func parseReference(rest []byte, owner string) (r reference, ok, templated bool) {
	n := 0
	for n < len(rest) && isNameByte(rest[n]) {
		n++
	}
	if startsTemplate(rest[n:]) {
		return r, false, true
	}
	if n >= len(rest) || rest[n] != '/' || !strings.EqualFold(string(rest[:n]), owner) {
		return r, false, false
	}
	rest = rest[n+1:]
	pkg, n := packageName(rest)
	rest = rest[n:]
	if pkg == "" || startsTemplate(rest) {
		return r, false, startsTemplate(rest)
	}
	r.pkg, r.target = pkg, "latest"
	if len(rest) > 0 && rest[0] == ':' {
		n = 1
		for n < len(rest) && isTagByte(rest[n]) {
			n++
		}
		tag := string(rest[1:n])
		rest = rest[n:]
		if startsTemplate(rest) {
			return r, false, true
		}
		if !validTag(tag) {
			return r, false, false
		}
		r.target = tag
	}
	if len(rest) > 0 && rest[0] == '@' {
		if startsTemplate(rest[1:]) {
			return r, false, true
		}
		if d, ok := digestAt(rest[1:]); ok {
			r.target = d
		}
	}
	return r, true, false
}

// packageName reads a package name: path components of name characters
// joined by "/", in lower case; n is how many bytes it took.
func packageName(rest []byte) (pkg string, n int) {
	for {
		start := n
		for n < len(rest) && isNameByte(rest[n]) {
			n++
		}
		if n == start {
			if start > 0 {
				n-- // a trailing "/" is not part of the name
			}
			break
		}
		if n >= len(rest) || rest[n] != '/' {
			break
		}
		n++
	}
	return strings.ToLower(string(rest[:n])), n
}

// digestAt reads "sha256:<64 hex>" that is not followed by more hex.
func digestAt(b []byte) (string, bool) {
	const alg = "sha256:"
	if len(b) < len(alg)+64 || string(b[:len(alg)]) != alg {
		return "", false
	}
	hex := b[len(alg) : len(alg)+64]
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	if rest := b[len(alg)+64:]; len(rest) > 0 && isTagByte(rest[0]) {
		return "", false
	}
	return alg + string(hex), true
}

// startsTemplate reports whether b begins template syntax: GitHub's ${{ }},
// Helm's and Go's {{ }}, a shell's $VAR or ${VAR}.
func startsTemplate(b []byte) bool {
	return len(b) > 0 && (b[0] == '$' || b[0] == '{')
}

// validTag is the registry's tag grammar: a word character, then up to
// 127 word characters, dots and dashes.
func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isTagByte(t[i]) {
			return false
		}
	}
	return true
}

func isTagByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// isNameByte is what an owner or a package path component is made of.
func isNameByte(c byte) bool { return isTagByte(c) }

// isHostByte is what a host name is made of: a match preceded by one is
// the end of a longer host name.
func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

// workspace is where keep-referenced-in's globs start: the runner's
// workspace, or in the CLI the current directory.
func workspace(getenv func(string) string) (string, error) {
	if ws := getenv("GITHUB_WORKSPACE"); ws != "" {
		return ws, nil
	}
	return os.Getwd()
}

// readKeepReferenced reads keep-referenced-in's files into the policy; it
// returns input errors.
func readKeepReferenced(a *githubactions.Action, in map[string]string, cfg *config) []string {
	globs := splitGlobs(in["keep-referenced-in"])
	if len(globs) == 0 {
		return nil
	}
	host, _, err := ghcr.ParseRegistryURL(in["registry-url"])
	if err != nil || cfg.owner == "" {
		return nil // registry-url and owner say what is wrong
	}
	ws, err := workspace(a.Getenv)
	if err == nil {
		cfg.references, err = readReferences(ws, globs, host, cfg.owner)
	}
	if err != nil {
		return []string{"keep-referenced-in: " + err.Error()}
	}
	cfg.policy.Referenced = cfg.references.refs
	return nil
}
