package main

import (
	"testing"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
)

// The binary refuses to start on an action.yml that does not parse; this is
// where a broken one is caught first.
func TestEmbeddedActionYAML(t *testing.T) {
	m, err := action.ParseMetadata(actionYAML)
	if err != nil {
		t.Fatal(err)
	}
	if errs := m.Check(); len(errs) > 0 {
		t.Errorf("action.yml: %v", errs)
	}
}
