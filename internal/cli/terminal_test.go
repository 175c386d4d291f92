//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// A pipe, a file and the null device are not terminals: a question asked
// there would get no answer from a person.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, file := range map[string]*os.File{"pipe": r, "file": f, os.DevNull: null} {
		if IsTerminal(file) {
			t.Errorf("%s is taken for a terminal", name)
		}
	}
}
