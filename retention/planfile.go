package retention

import (
	"encoding/json"
	"time"
)

// PlanFormatVersion is bumped on any change a reader of the plan file must
// know about.
const PlanFormatVersion = 1

// PlanFile is the machine-readable record of a run, written as JSON.
type PlanFile struct {
	Format   string            `json:"format"`
	Version  int               `json:"version"`
	Time     time.Time         `json:"time"`
	DryRun   bool              `json:"dry_run"`
	Inputs   map[string]string `json:"inputs,omitempty"`
	Packages []PackageFile     `json:"packages"`
}

// PackageFile is one package of a PlanFile.
type PackageFile struct {
	Package  string      `json:"package"`
	Versions int         `json:"versions"`
	Error    string      `json:"error,omitempty"`
	Delete   []FileEntry `json:"delete"`
	Keep     []Decision  `json:"keep"`
	Broken   []Broken    `json:"broken"`
}

// FileEntry is a planned deletion and, in an applied run, its outcome.
type FileEntry struct {
	Decision
	Outcome Outcome `json:"outcome,omitempty"`
	Detail  string  `json:"detail,omitempty"`
}

// File turns the report into its plan file.
func (r *Report) File() PlanFile {
	f := PlanFile{Format: "ghcr-prune-plan", Version: PlanFormatVersion, Time: r.Time.UTC(), DryRun: r.DryRun, Inputs: r.Inputs, Packages: []PackageFile{}}
	for _, p := range r.Packages {
		pf := PackageFile{Package: p.Package, Versions: p.Versions, Delete: []FileEntry{}, Keep: []Decision{}, Broken: []Broken{}}
		if p.Err != nil {
			pf.Error = p.Err.Error()
		}
		if p.Plan != nil {
			for i, d := range p.Plan.Delete {
				e := FileEntry{Decision: d}
				if p.Result != nil {
					e.Outcome, e.Detail = p.Result.Applied[i].Outcome, p.Result.Applied[i].Detail
				}
				pf.Delete = append(pf.Delete, e)
			}
			pf.Keep = append(pf.Keep, p.Plan.Keep...)
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
