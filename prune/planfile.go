package prune

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	Package  string               `json:"package"`
	Versions int                  `json:"versions"`
	Error    string               `json:"error,omitempty"`
	Delete   []Deletion           `json:"delete"`
	Untag    []Untagging          `json:"untag"`
	Deferred []retention.Decision `json:"deferred"`
	Keep     []retention.Decision `json:"keep"`
	Broken   []retention.Broken   `json:"broken"`
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
		Package  string `json:"package"`
		Versions int    `json:"versions"`
		Error    string `json:"error,omitempty"`
	}{Package: p.Package, Versions: p.Versions}
	if p.Err != nil {
		head.Error = p.Err.Error()
	}
	jw.object(head, "delete")
	plan := p.Plan
	if plan == nil {
		plan = &retention.Plan{}
	}
	for i, d := range plan.Delete {
		e := Deletion{Decision: d}
		if p.Result != nil {
			e.Outcome, e.Detail = p.Result.Deletions[i].Outcome, p.Result.Deletions[i].Detail
		}
		jw.sep(i)
		jw.value(e)
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
		jw.value(d)
	}
}

// JSON is the plan file in memory, for tests and small reports.
func (r *Report) JSON() ([]byte, error) {
	var b bytes.Buffer
	err := r.WriteJSON(&b)
	return b.Bytes(), err
}

// ReadPlanFile parses a plan file, refusing formats it does not know.
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
	return &f, nil
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
