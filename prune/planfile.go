package prune

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

// PlanFormat names the plan file format in its "format" field.
const PlanFormat = "ghcr-prune-plan"

// PlanFormatVersion is bumped on any change a reader of the plan file must
// know about.
const PlanFormatVersion = 1

// PlanFile is the machine-readable record of a run, written as JSON.
type PlanFile struct {
	PlanHeader
	Packages []PackageFile `json:"packages"`
}

// PlanHeader is what a plan file says about the whole run.
type PlanHeader struct {
	Format  string            `json:"format"`
	Version int               `json:"version"`
	Time    time.Time         `json:"time"`
	DryRun  bool              `json:"dry_run"`
	Owner   string            `json:"owner,omitempty"`
	Inputs  map[string]string `json:"inputs,omitempty"`
}

// PackageFile is one package of a PlanFile.
type PackageFile struct {
	Package  string `json:"package"`
	Versions int    `json:"versions"`
	Error    string `json:"error,omitempty"`
	// ReclaimedBytes is what the deletions free: planned in a dry run,
	// done in an applied one (see PackageReport.Reclaimed).
	ReclaimedBytes int64                `json:"reclaimed_bytes"`
	Delete         []Deletion           `json:"delete"`
	Untag          []Untagging          `json:"untag"`
	Deferred       []retention.Decision `json:"deferred"`
	Keep           []retention.Decision `json:"keep"`
	Broken         []retention.Broken   `json:"broken"`
	// Unresolved are the references keep-referenced-in found that name no
	// version of the package.
	Unresolved []retention.Reference `json:"unresolved,omitempty"`
	// Withdrawn is what a reviewed plan listed that this run did not do.
	Withdrawn []Withdrawn `json:"skipped,omitempty"`
	// After is the package re-read after the run (validate).
	After *retention.Health `json:"after,omitempty"`
}

// Untagging is a planned tag removal and, in an applied run, how each tag
// went.
type Untagging struct {
	retention.Untag
	Outcomes []UntagResult `json:"outcomes,omitempty"`
}

// WriteJSON writes the plan file: one version per line, so a reviewer can
// read it and diff it, and streamed, so 100,000 versions never sit in memory
// twice. It reads as a PlanFile.
func (r *Report) WriteJSON(w io.Writer) error {
	jw := &jsonWriter{w: bufio.NewWriter(w)}
	head := PlanHeader{Format: PlanFormat, Version: PlanFormatVersion, Time: r.Time.UTC(), DryRun: r.DryRun, Owner: r.Owner, Inputs: r.Inputs}
	jw.object(head, "packages")
	for i, p := range r.Packages {
		jw.sep(i)
		r.writePackage(jw, p)
	}
	jw.raw("\n]}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

func (r *Report) writePackage(jw *jsonWriter, p PackageReport) {
	head := struct {
		Package        string `json:"package"`
		Versions       int    `json:"versions"`
		Error          string `json:"error,omitempty"`
		ReclaimedBytes int64  `json:"reclaimed_bytes"`
	}{Package: p.Package, Versions: p.Versions, ReclaimedBytes: p.Reclaimed()}
	if p.Err != nil {
		head.Error = p.Err.Error()
	}
	jw.object(head, "delete")
	plan := p.Plan
	if plan == nil {
		plan = &retention.Plan{}
	}
	for i, d := range plan.Delete {
		var outcome Outcome
		var detail string
		if p.Result != nil {
			outcome, detail = p.Result.Deletions[i].Outcome, p.Result.Deletions[i].Detail
		}
		jw.sep(i)
		jw.decision(d, outcome, detail)
	}
	jw.raw("\n],\"untag\":[")
	for i, u := range plan.Untag {
		fu := Untagging{Untag: u}
		if p.Result != nil {
			for _, r := range p.Result.Untags {
				if r.Digest == u.Digest {
					fu.Outcomes = append(fu.Outcomes, r)
				}
			}
		}
		jw.sep(i)
		jw.value(fu)
	}
	jw.array("deferred", plan.Deferred)
	jw.array("keep", plan.Keep)
	jw.raw("\n],\"broken\":")
	jw.value(orEmptySlice(plan.Broken))
	if len(plan.Unresolved) > 0 {
		jw.raw(",\"unresolved\":")
		jw.value(plan.Unresolved)
	}
	if len(p.Withdrawn) > 0 {
		jw.raw(",\"skipped\":")
		jw.value(p.Withdrawn)
	}
	if p.After != nil {
		jw.raw(",\"after\":")
		jw.value(p.After)
	}
	jw.raw("}")
}

func orEmptySlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// jsonWriter writes JSON piece by piece and keeps the first error.
type jsonWriter struct {
	w   *bufio.Writer
	buf []byte // a decision's line, reused
	err error
}

func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.w.WriteString(s)
	}
}

func (jw *jsonWriter) marshal(v any) []byte {
	if jw.err != nil {
		return nil
	}
	b, err := json.Marshal(v)
	jw.err = err
	return b
}

func (jw *jsonWriter) value(v any) {
	if b := jw.marshal(v); jw.err == nil {
		_, jw.err = jw.w.Write(b)
	}
}

// object writes v's fields and opens the array field that follows them.
func (jw *jsonWriter) object(v any, array string) {
	b := jw.marshal(v)
	if jw.err != nil {
		return
	}
	b = b[:len(b)-1] // reopen the object
	if len(b) > 1 {
		b = append(b, ',')
	}
	jw.raw(string(b) + `"` + array + `":[`)
}

// sep starts element i of an array on its own line.
func (jw *jsonWriter) sep(i int) {
	if i > 0 {
		jw.raw(",")
	}
	jw.raw("\n")
}

// array closes the open array and writes name: decisions, one per line.
func (jw *jsonWriter) array(name string, ds []retention.Decision) {
	jw.raw("\n],\"" + name + "\":[")
	for i, d := range ds {
		jw.sep(i)
		jw.decision(d, "", "")
	}
}

// decision writes one decision, a deletion's outcome and detail with it.
func (jw *jsonWriter) decision(d retention.Decision, outcome Outcome, detail string) {
	if jw.err != nil {
		return
	}
	jw.buf, jw.err = appendDecision(jw.buf[:0], d, outcome, detail)
	if jw.err == nil {
		_, jw.err = jw.w.Write(jw.buf)
	}
}

// JSON is the plan file in memory, for tests and small reports.
func (r *Report) JSON() ([]byte, error) {
	var b bytes.Buffer
	err := r.WriteJSON(&b)
	return b.Bytes(), err
}

// ReadPlanFile parses a plan file, refusing formats it does not know and
// entries no run could have written. A plan file is an artifact anyone who
// can open a pull request may have produced, and the names, digests and ids
// it holds reach requests, the log and the summary; so every entry a reader
// acts on (the packages, their deletions and tag removals) must be what
// GitHub could have listed.
func ReadPlanFile(data []byte) (*PlanFile, error) {
	var f PlanFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a ghcr-prune plan file: %w", err)
	}
	if f.Format != PlanFormat {
		return nil, fmt.Errorf("not a ghcr-prune plan file (format %q)", f.Format)
	}
	if f.Version != PlanFormatVersion {
		return nil, fmt.Errorf("plan file version %d is not supported (this ghcr-prune reads version %d)", f.Version, PlanFormatVersion)
	}
	f.giveVersions()
	if err := f.check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// giveVersions gives a decision whose line has none of its version's keys
// a version of zero values, which json leaves nil, so that readers and
// check find an id of 0 and no digest rather than a nil version.
func (f *PlanFile) giveVersions() {
	give := func(d *retention.Decision) {
		if d.Version == nil {
			d.Version = &retention.Version{}
		}
	}
	for _, p := range f.Packages {
		for i := range p.Delete {
			give(&p.Delete[i].Decision)
		}
		for _, ds := range [][]retention.Decision{p.Deferred, p.Keep} {
			for i := range ds {
				give(&ds[i])
			}
		}
	}
}

// check validates what readers of the plan file act on; each error names
// the entry.
func (f *PlanFile) check() error {
	if f.Owner != "" && !validOwner(f.Owner) {
		return fmt.Errorf("owner %q is not a GitHub account name", f.Owner)
	}
	for i, p := range f.Packages {
		if !ValidPackageName(p.Package) {
			return fmt.Errorf("packages[%d]: %q is not a package name", i, p.Package)
		}
		for j, d := range p.Delete {
			if err := checkEntry(d.ID, d.Digest, d.Tags); err != nil {
				return fmt.Errorf("package %s, delete[%d]: %w", p.Package, j, err)
			}
		}
		for j, u := range p.Untag {
			if err := checkEntry(u.ID, u.Digest, u.Tags); err != nil {
				return fmt.Errorf("package %s, untag[%d]: %w", p.Package, j, err)
			}
		}
	}
	return nil
}

func checkEntry(id int64, digest string, tags []string) error {
	if id <= 0 {
		return fmt.Errorf("version id %d is not positive", id)
	}
	if !ValidDigest(digest) {
		return fmt.Errorf("digest %q is not sha256: and 64 lowercase hex digits", digest)
	}
	for _, t := range tags {
		if !validTag(t) {
			return fmt.Errorf("version %d: %q is not a tag", id, t)
		}
	}
	return nil
}

// ValidDigest accepts the one spelling GitHub lists a container version
// under: "sha256:" and 64 lowercase hex digits.
func ValidDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidPackageName accepts container package names: path components of
// letters, digits and separators (".", "_", "-"), each starting with a
// letter or digit, joined by "/". GHCR's own names are lowercase; the
// packages input may spell them otherwise, and so may the plan file it made.
func ValidPackageName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if c == "" || !isAlnum(c[0]) {
			return false
		}
		for i := 1; i < len(c); i++ {
			if !isAlnum(c[i]) && c[i] != '.' && c[i] != '_' && c[i] != '-' {
				return false
			}
		}
	}
	return true
}

// validOwner accepts GitHub user and organization names: up to 39 letters,
// digits and hyphens, not starting with a hyphen.
func validOwner(owner string) bool {
	if owner == "" || len(owner) > 39 || owner[0] == '-' {
		return false
	}
	for i := 0; i < len(owner); i++ {
		if !isAlnum(owner[i]) && owner[i] != '-' {
			return false
		}
	}
	return true
}

// validTag is the registry's tag grammar.
func validTag(t string) bool {
	if t == "" || len(t) > 128 || !isAlnum(t[0]) && t[0] != '_' {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isAlnum(t[i]) && t[i] != '.' && t[i] != '_' && t[i] != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Allowlist is what the plan file allows for pkg: its planned deletions and
// tag removals. A package the file does not cover allows nothing.
func (f *PlanFile) Allowlist(pkg string) *retention.Allowlist {
	r := &retention.Allowlist{Delete: map[string]int64{}, Untag: map[string][]string{}}
	for _, p := range f.Packages {
		if p.Package != pkg {
			continue
		}
		for _, d := range p.Delete {
			r.Delete[d.Digest] = d.ID
		}
		for _, u := range p.Untag {
			r.Untag[u.Digest] = append(r.Untag[u.Digest], u.Tags...)
		}
	}
	return r
}
