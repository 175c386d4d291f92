package action

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseReferences(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name      string
		text      string
		want      []string // "pkg target line"
		templated int
	}{
		{name: "tag", text: "image: ghcr.io/acme/app:1.2.3\n", want: []string{"app 1.2.3 1"}},
		{name: "digest", text: "x\n  image: \"ghcr.io/acme/app@sha256:" + hex + "\"", want: []string{"app sha256:" + hex + " 2"}},
		{name: "the digest wins over the tag", text: "ghcr.io/acme/app:1.2@sha256:" + hex, want: []string{"app sha256:" + hex + " 1"}},
		{name: "no tag names latest", text: "docker pull ghcr.io/acme/app", want: []string{"app latest 1"}},
		{name: "host and owner in any case, the package in lower case", text: "GHCR.io/ACME/App:v1", want: []string{"app v1 1"}},
		{name: "a package with a path", text: "ghcr.io/acme/team/web:prod, ghcr.io/acme/team/web/:x", want: []string{"team/web prod 1", "team/web latest 1"}},
		{name: "several on a line, several lines", text: "a ghcr.io/acme/a:1 b ghcr.io/acme/b:2\n\nc=ghcr.io/acme/c:3", want: []string{"a 1 1", "b 2 1", "c 3 3"}},
		{name: "a URL", text: "https://ghcr.io/acme/app:v2 docker://ghcr.io/acme/app:v3", want: []string{"app v2 1", "app v3 1"}},
		{name: "another owner", text: "ghcr.io/other/app:1 ghcr.io/acmeinc/app:2", want: nil},
		{name: "another host", text: "evilghcr.io/acme/app:1 docker.io/acme/app:2 ghcr.io.evil/acme/app:3", want: nil},
		{name: "templates", text: "ghcr.io/acme/app:${{ github.sha }}\nghcr.io/acme/app:{{ .Values.tag }}\nghcr.io/${OWNER}/app:1\nghcr.io/acme/$IMAGE:1\nghcr.io/acme/app:v1-$SUFFIX\nghcr.io/acme/app@${DIGEST}", templated: 6},
		{name: "a tag that is none", text: "ghcr.io/acme/app:.hidden ghcr.io/acme/app:" + strings.Repeat("a", 129), want: nil},
		{name: "a short digest keeps the tag", text: "ghcr.io/acme/app:1.0@sha256:abc", want: []string{"app 1.0 1"}},
		{name: "not UTF-8, and letters that change length in lower case", text: "İİİ\xff ghcr.io/acme/app:ok", want: []string{"app ok 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs, templated := parseReferences([]byte(tt.text), "ghcr.io", "acme")
			var got []string
			for _, r := range refs {
				got = append(got, fmt.Sprintf("%s %s %d", r.pkg, r.target, r.line))
			}
			if !slices.Equal(got, tt.want) || templated != tt.templated {
				t.Errorf("got %q and %d templated, want %q and %d", got, templated, tt.want, tt.templated)
			}
		})
	}
	if refs, _ := parseReferences([]byte("127.0.0.1:5000/acme/app:1"), "127.0.0.1:5000", "acme"); len(refs) != 1 {
		t.Errorf("a registry with a port: %v", refs)
	}
}

func FuzzParseReferences(f *testing.F) {
	f.Add([]byte("image: ghcr.io/acme/app:1.2.3@sha256:"+strings.Repeat("0", 64)), "ghcr.io", "acme")
	f.Add([]byte("ghcr.io/acme/team/web\nghcr.io/acme/app:${{ x }}"), "GHCR.io", "Acme")
	f.Add([]byte("ghcr.io/ghcr.io/ghcr.io/acme/"), "ghcr.io", "ghcr.io")
	f.Fuzz(func(t *testing.T, data []byte, host, owner string) {
		refs, templated := parseReferences(data, host, owner)
		if templated < 0 || (host == "" && len(refs) > 0 && owner == "") {
			t.Fatalf("%d templated, %d refs", templated, len(refs))
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, r := range refs {
			if r.pkg == "" || r.pkg != strings.ToLower(r.pkg) || strings.HasPrefix(r.pkg, "/") || strings.HasSuffix(r.pkg, "/") {
				t.Fatalf("package %q", r.pkg)
			}
			if _, ok := digestAt([]byte(r.target)); !ok && !validTag(r.target) {
				t.Fatalf("target %q is neither a tag nor a digest", r.target)
			}
			if r.line < 1 || r.line > lines {
				t.Fatalf("line %d of %d", r.line, lines)
			}
		}
	})
}

func TestSplitGlobs(t *testing.T) {
	got := splitGlobs("deploy/*.yaml, k8s/**/{prod,staging}.yml\n\n charts/** ,")
	if want := []string{"deploy/*.yaml", "k8s/**/{prod,staging}.yml", "charts/**"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// writeFiles makes files under a new workspace: name -> content.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	ws := t.TempDir()
	for name, content := range files {
		p := filepath.Join(ws, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

func TestReadReferences(t *testing.T) {
	ws := writeFiles(t, map[string]string{
		"deploy/prod.yaml":          "kind: Deployment\n  image: ghcr.io/acme/app:1.4\n",
		"deploy/staging.yaml":       "image: ghcr.io/acme/app:1.4\nimage: ghcr.io/acme/app:${{ env.TAG }}\n",
		"k8s/base/nested/web.yml":   "ghcr.io/acme/web@sha256:" + strings.Repeat("1", 64),
		"big.yaml":                  strings.Repeat("#", maxReferenceFileSize) + "\nghcr.io/acme/app:hidden",
		"README.md":                 "ghcr.io/acme/app:docs",
		"deploy/not-a-match.txt":    "ghcr.io/acme/app:txt",
		"deploy/other-owner.yaml":   "ghcr.io/else/app:1",
		"compose/{prod,dev}.yaml.x": "",
	})
	scan, err := readReferences(ws, []string{"deploy/*.yaml", "./k8s/**/*.yml", "big.yaml", "charts/*.yaml"}, "ghcr.io", "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"app": {"1.4": "deploy/prod.yaml:2"},
		"web": {"sha256:" + strings.Repeat("1", 64): "k8s/base/nested/web.yml:1"},
	}
	if fmt.Sprint(scan.refs) != fmt.Sprint(want) {
		t.Errorf("references %v, want %v", scan.refs, want)
	}
	if scan.templated != 1 {
		t.Errorf("%d templated, want 1", scan.templated)
	}
	notes := strings.Join(scan.notes(), "\n")
	for _, w := range []string{"big.yaml is larger than 10 MiB; skipped", "charts/*.yaml matches no file", "1 reference with template syntax"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
}

func TestReadReferencesRefuses(t *testing.T) {
	outside := writeFiles(t, map[string]string{"secret.yaml": "ghcr.io/acme/app:leaked"})
	ws := writeFiles(t, map[string]string{"deploy/ok.yaml": "ghcr.io/acme/app:1"})
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(ws, "deploy", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ glob, want string }{
		{"deploy/*.yaml", "escapes"},
		{"../*.yaml", "relative to it"},
		{"/etc/*.yaml", "relative to it"},
		{"deploy/[.yaml", "not a valid glob"},
	} {
		_, err := readReferences(ws, []string{tt.glob}, "ghcr.io", "acme")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.glob, err, tt.want)
		}
	}
}

func TestWorkspace(t *testing.T) {
	if ws, err := workspace(func(string) string { return "/github/workspace" }); ws != "/github/workspace" || err != nil {
		t.Errorf("on a runner: %q, %v", ws, err)
	}
	wd, _ := os.Getwd()
	if ws, err := workspace(func(string) string { return "" }); ws != wd || err != nil {
		t.Errorf("in the CLI: %q, %v; want %q", ws, err, wd)
	}
}
