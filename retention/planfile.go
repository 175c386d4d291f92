package retention

import (
	"encoding/json"
	"fmt"
	"time"
)

// PlanFormat names the plan file format in its "format" field.
const PlanFormat = "ghcr-prune-plan"

// PlanFormatVersion is bumped on any change a reader of the plan file must
// know about.
const PlanFormatVersion = 1

// PlanFile is the machine-readable record of a run, written as JSON.
type PlanFile struct {
	Format   string            `json:"format"`
	Version  int               `json:"version"`
	Time     time.Time         `json:"time"`
	DryRun   bool              `json:"dry_run"`
	Owner    string            `json:"owner,omitempty"`
	Inputs   map[string]string `json:"inputs,omitempty"`
	Packages []PackageFile     `json:"packages"`
}

// PackageFile is one package of a PlanFile.
type PackageFile struct {
	Package  string      `json:"package"`
	Versions int         `json:"versions"`
	Error    string      `json:"error,omitempty"`
	Delete   []FileEntry `json:"delete"`
	Untag    []FileUntag `json:"untag"`
	Deferred []Decision  `json:"deferred"`
	Keep     []Decision  `json:"keep"`
	Broken   []Broken    `json:"broken"`
	// Skipped is what a reviewed plan listed that this run did not do.
	Skipped []Skip `json:"skipped,omitempty"`
	// After is the package re-read after the run (validate).
	After *Health `json:"after,omitempty"`
}

// FileUntag is a planned tag removal and, in an applied run, its outcome.
type FileUntag struct {
	Untag
	Outcomes []TagRemoval `json:"outcomes,omitempty"`
}

// FileEntry is a planned deletion and, in an applied run, its outcome.
type FileEntry struct {
	Decision
	Outcome Outcome `json:"outcome,omitempty"`
	Detail  string  `json:"detail,omitempty"`
}

// File turns the report into its plan file.
func (r *Report) File() PlanFile {
	f := PlanFile{Format: PlanFormat, Version: PlanFormatVersion, Time: r.Time.UTC(), DryRun: r.DryRun, Owner: r.Owner, Inputs: r.Inputs, Packages: []PackageFile{}}
	for _, p := range r.Packages {
		pf := PackageFile{Package: p.Package, Versions: p.Versions, Delete: []FileEntry{}, Untag: []FileUntag{}, Deferred: []Decision{}, Keep: []Decision{}, Broken: []Broken{}}
		if p.Err != nil {
			pf.Error = p.Err.Error()
		}
		pf.Skipped, pf.After = p.ReviewSkipped, p.After
		if p.Plan != nil {
			for i, d := range p.Plan.Delete {
				e := FileEntry{Decision: d}
				if p.Result != nil {
					e.Outcome, e.Detail = p.Result.Applied[i].Outcome, p.Result.Applied[i].Detail
				}
				pf.Delete = append(pf.Delete, e)
			}
			for _, u := range p.Plan.Untag {
				fu := FileUntag{Untag: u}
				if p.Result != nil {
					for _, r := range p.Result.Untags {
						if r.Digest == u.Digest {
							fu.Outcomes = append(fu.Outcomes, r)
						}
					}
				}
				pf.Untag = append(pf.Untag, fu)
			}
			pf.Keep = append(pf.Keep, p.Plan.Keep...)
			pf.Deferred = append(pf.Deferred, p.Plan.Deferred...)
			pf.Broken = append(pf.Broken, p.Plan.Broken...)
		}
		f.Packages = append(f.Packages, pf)
	}
	return f
}

// JSON is the plan file, indented for people reviewing it in a PR.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r.File(), "", "  ")
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

// Reviewed is what the plan file allows for pkg: its planned deletions and
// tag removals. A package the file does not cover allows nothing.
func (f *PlanFile) Reviewed(pkg string) *Reviewed {
	r := &Reviewed{Delete: map[string]int64{}, Untag: map[string][]string{}}
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
