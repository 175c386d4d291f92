package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

func TestReadCompareTo(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, r *prune.Report) string {
		data, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mine := write("acme.json", &prune.Report{Owner: "Acme", Packages: []prune.PackageReport{{Package: "app"}}})
	if f, err := readCompareTo(mine, "acme"); err != nil || len(f.Packages) != 1 {
		t.Errorf("the owner's own plan: %v, %v", f, err)
	}
	theirs := write("other.json", &prune.Report{Owner: "other"})
	if _, err := readCompareTo(theirs, "acme"); err == nil || !strings.Contains(err.Error(), "not acme's") {
		t.Errorf("another owner's plan: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.json"), []byte(`{"format":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readCompareTo(filepath.Join(dir, "junk.json"), "acme"); err == nil {
		t.Error("a file that is no plan was read")
	}
}
