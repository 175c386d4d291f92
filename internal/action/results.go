package action

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// outputNames are every output action.yml declares; tests check the two agree.
var outputNames = []string{"planned-count", "kept-count", "deleted-count", "deleted-ids", "plan-path", "broken-count", "restored-count", "deferred-count", "reclaimed-bytes", "changed-count", "packages-json"}

// writeResults writes the outputs, the plan file and the job summary. Each
// is written whatever became of the others (a failure, a panic in
// rendering): once a version is deleted, every record of it that can be
// written is what makes the run undoable.
func writeResults(log *Logger, r *prune.Report) error {
	var errs []error
	// Outputs first: whatever happens to the plan file, the ids of what
	// was deleted must reach the workflow.
	errs = append(errs, guard("the outputs", func() error {
		setOutputs(log, r)
		return nil
	}))
	errs = append(errs, guard("the plan file", func() error {
		path, shown := planFilePath(log.Action)
		if err := writePlanFile(path, r); err != nil {
			return fmt.Errorf("writing the plan file %s: %w", path, err)
		}
		log.SetOutput("plan-path", shown)
		return nil
	}))
	errs = append(errs, guard("the job summary", func() error {
		log.AddStepSummary(r.Markdown())
		return nil
	}))
	return errors.Join(errs...)
}

// guard runs write, turning a panic into an error naming what was being
// written.
func guard(what string, write func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("writing %s: %v", what, p)
		}
	}()
	return write()
}

func setOutputs(log *Logger, r *prune.Report) {
	planned, kept, deferred := 0, 0, 0
	for _, p := range r.Packages {
		if p.Plan != nil {
			planned += len(p.Plan.Delete)
			kept += len(p.Plan.Keep)
			deferred += len(p.Plan.Deferred)
		}
	}
	ids := r.DeletedIDs()
	log.SetOutput("deleted-ids", strings.Join(ids, ","))
	log.SetOutput("deleted-count", strconv.Itoa(len(ids)))
	log.SetOutput("planned-count", strconv.Itoa(planned))
	log.SetOutput("kept-count", strconv.Itoa(kept))
	log.SetOutput("broken-count", strconv.Itoa(r.BrokenAfter()))
	log.SetOutput("deferred-count", strconv.Itoa(deferred))
	log.SetOutput("reclaimed-bytes", strconv.FormatInt(r.ReclaimedBytes(), 10))
	if r.Comparison != nil {
		log.SetOutput("changed-count", strconv.Itoa(r.Comparison.Changed()))
	}
}

// planFilePath is where the plan file goes and the path later steps know it
// by. A Docker action sees the runner's workspace (mounted at
// GITHUB_WORKSPACE) but not its RUNNER_TEMP, so the file goes into the
// workspace and the output is relative to it, as upload-artifact expects.
func planFilePath(a *githubactions.Action) (path, shown string) {
	const name = "ghcr-prune-plan.json"
	if ws := a.Getenv("GITHUB_WORKSPACE"); ws != "" {
		return filepath.Join(ws, name), name
	}
	dir := a.Getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	path = filepath.Join(dir, name)
	return path, path
}

// writePlanFile writes the plan file without following a symbolic link. The
// workspace holds the checkout, which in a pull_request_target workflow is
// the pull request's, and the action runs as root: a ghcr-prune-plan.json
// there that links elsewhere would have the run overwrite whatever it names.
func writePlanFile(path string, r *prune.Report) error {
	dir, name := filepath.Split(path)
	root, err := os.OpenRoot(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer root.Close()
	return writeFileNoFollow(root, name, r.WriteJSON)
}

// writeFileNoFollow replaces name in root with what write writes. It
// refuses a name that is there and is not a regular file (a symbolic link,
// a directory), writes to a new temporary file (created exclusively, so a
// link planted under its name is not followed either) and renames it over
// name, which replaces whatever name is by then instead of writing through
// it.
func writeFileNoFollow(root *os.Root, name string, write func(io.Writer) error) error {
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is a %s, not a regular file; refusing to write through it", name, describeMode(fi.Mode()))
	}
	var random [6]byte
	rand.Read(random[:])
	tmp := "." + name + ".tmp-" + hex.EncodeToString(random[:])
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			root.Remove(tmp)
		}
	}()
	werr := write(f)
	if err := errors.Join(werr, f.Close()); err != nil {
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		return err
	}
	renamed = true
	return nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}
