package manifest

import (
	"strings"
	"testing"
)

func TestSubjectOfTag(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		tag  string
		want string // "" when not a derived tag
	}{
		{"sha256-" + hex, "sha256:" + hex},
		{"sha256-" + hex + ".sig", "sha256:" + hex},
		{"sha256-" + hex + ".att", "sha256:" + hex},
		{"sha256-" + hex + ".sbom", "sha256:" + hex},
		{"latest", ""},
		{"v1.2.3", ""},
		{"sha256-" + hex + ".sig2", ""},
		{"sha256-" + hex + ".", ""},
		{"sha256-" + hex + "0", ""},
		{"sha256-" + hex[:63], ""},
		{"sha256-" + strings.ToUpper(hex), ""},
		{"sha512-" + hex + hex, ""},
		{"sha256_" + hex, ""},
		{"SHA256-" + hex, ""},
		{"sha256-" + strings.Repeat("g", 64), ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := SubjectOfTag(tc.tag)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("SubjectOfTag(%q) = %q, %v; want %q", tc.tag, got, ok, tc.want)
		}
		if IsUserTag(tc.tag) != (tc.want == "") {
			t.Errorf("IsUserTag(%q) = %v", tc.tag, IsUserTag(tc.tag))
		}
	}
}
