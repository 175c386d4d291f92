package retention_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/ghcr-prune/ghcr-prune"

// forbidden are the imports that would make the decision impure: with them
// a plan could depend on more than its snapshot, policy and clock, and
// could no longer be replayed in a test. A path is forbidden when it is one
// of these or below one.
var forbidden = []struct{ path, why string }{
	{"net", "the network belongs to prune"},
	{"os", "files, environment and processes belong to prune"},
	{"io/fs", "the file system belongs to prune"},
	{"syscall", "the operating system belongs to prune"},
	{"context", "a decision that cannot block has nothing to cancel"},
	{module + "/internal", "the action's plumbing must not reach the decision"},
	{module + "/prune", "prune carries plans out; retention must not know how"},
}

// allowedOwn is all of this module the decision may build on.
var allowedOwn = map[string]bool{module + "/manifest": true}

// listedPackage is what go list says of one package.
type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	Module     *struct{ Dir string }
	Error      *struct{ Err string }
}

// TestDependencies checks the imports of retention's non-test files and of
// every package outside the standard library they reach (manifest and what
// it builds on). The standard library itself is trusted: fmt imports os,
// but only for what a caller hands it.
func TestDependencies(t *testing.T) {
	pkgs := goListDeps(t)
	checked := map[string]bool{}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Standard {
			continue
		}
		checked[p.ImportPath] = true
		for _, f := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
			checkImports(t, p, f)
		}
	}
	for _, want := range []string{module + "/retention", module + "/manifest"} {
		if !checked[want] {
			t.Errorf("go list did not report %s; the check saw %v", want, checked)
		}
	}
}

func goListDeps(t *testing.T) []listedPackage {
	t.Helper()
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to list dependencies with: %v", err)
	}
	cmd := exec.Command(gotool, "list", "-deps", "-json=ImportPath,Dir,Standard,GoFiles,CgoFiles,Module,Error", ".")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// checkImports reports every import of file (a file of p) that the
// decision may not have, naming the file, the line and the import.
func checkImports(t *testing.T, p listedPackage, file string) {
	t.Helper()
	path := filepath.Join(p.Dir, file)
	name := p.ImportPath + "/" + file
	if p.Module != nil {
		if rel, err := filepath.Rel(p.Module.Dir, path); err == nil && strings.HasPrefix(p.ImportPath, module) {
			name = filepath.ToSlash(rel)
		}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for _, imp := range f.Imports {
		ipath, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			t.Errorf("%s:%d: import %s: %v", name, fset.Position(imp.Pos()).Line, imp.Path.Value, err)
			continue
		}
		if why, bad := importForbidden(ipath); bad {
			t.Errorf("%s:%d imports %q: %s (retention is the pure decision)", name, fset.Position(imp.Pos()).Line, ipath, why)
		}
	}
}

func importForbidden(path string) (string, bool) {
	for _, f := range forbidden {
		if path == f.path || strings.HasPrefix(path, f.path+"/") {
			return f.why, true
		}
	}
	if (path == module || strings.HasPrefix(path, module+"/")) && !allowedOwn[path] {
		return "of this module, the decision builds only on manifest", true
	}
	return "", false
}

func TestImportForbidden(t *testing.T) {
	for path, want := range map[string]bool{
		"net": true, "net/http": true, "net/netip": true, "os": true, "os/exec": true,
		"io/fs": true, "context": true, "syscall": true,
		module + "/internal/ghcr": true, module + "/prune": true, module + "/retention/retentiontest": true, module: true,
		module + "/manifest": false, "io": false, "fmt": false, "osext": false, "network": false,
		"github.com/google/go-containerregistry/pkg/v1": false,
	} {
		if _, got := importForbidden(path); got != want {
			t.Errorf("importForbidden(%q) = %v, want %v", path, got, want)
		}
	}
}
