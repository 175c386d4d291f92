package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestTags(t *testing.T) {
	for _, tc := range []struct {
		version, existing string
		want              string // space separated; "" means an error
	}{
		{"v1.2.3", "", "v1.2.3 v1.2 v1"},
		{"v0.1.0", "", "v0.1.0 v0.1 v0"},
		{"v10.20.30", "", "v10.20.30 v10.20 v10"},
		{"v1.3.0-rc.1", "", "v1.3.0-rc.1"},
		{"v1.3.0-alpha", "", "v1.3.0-alpha"},
		{"v1.3.0-0.3.7", "", "v1.3.0-0.3.7"},
		{"v1.3.0-x.7.z.92", "", "v1.3.0-x.7.z.92"},
		// Patching an old line never moves the newer line's floating tags.
		{"v1.1.5", "v1.0.0 v1.1.4 v1.2.0 v1 v1.2 v1.1", "v1.1.5 v1.1"},
		{"v1.1.5", "v1.1.6", "v1.1.5"},
		{"v1.2.4", "v1.2.3 v1.3.0-rc.1 v2.0.0 junk v1.2 v1", "v1.2.4 v1.2 v1"},
		{"v1.2.3", "v1.2.3", "v1.2.3 v1.2 v1"}, // a re-run moves them again
		{"v1.2.3", "\n v1.2.2\tv1.1.0\n", "v1.2.3 v1.2 v1"},

		{"v1.2", "", ""},
		{"v1", "", ""},
		{"1.2.3", "", ""},
		{"V1.2.3", "", ""},
		{"v1.2.3.4", "", ""},
		{"v01.2.3", "", ""},
		{"v1.02.3", "", ""},
		{"v1.2.03", "", ""},
		{"v1.2.3-", "", ""},
		{"v1.2.3-rc..1", "", ""},
		{"v1.2.3-rc.01", "", ""},
		{"v1.2.3+build.5", "", ""},
		{"v1.2.3\n", "", ""},
		{"v1.2.3 v1", "", ""},
		{"v1.2.3;rm -rf /", "", ""},
		{" v1.2.3", "", ""},
		{"", "", ""},
		{"v1.2.x", "", ""},
		{"v99999999999999999999.0.0", "", ""},
	} {
		got, err := Tags(tc.version, tc.existing)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Tags(%q) = %q, want an error", tc.version, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("Tags(%q, %q): %v", tc.version, tc.existing, err)
			continue
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("Tags(%q, %q) = %q, want %q", tc.version, tc.existing, s, tc.want)
		}
	}
}

func TestRunTags(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"tags", "v1.2.3"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "v1.2.3 v1.2 v1\n" {
		t.Errorf("tags v1.2.3 printed %q", out.String())
	}
	out.Reset()
	if err := run([]string{"tags", "-existing", "v2.0.0 v1.10.0", "v1.9.1"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "v1.9.1 v1.9\n" {
		t.Errorf("tags -existing 'v2.0.0 v1.10.0' v1.9.1 printed %q", out.String())
	}
	for _, args := range [][]string{{"tags"}, {"tags", "v1.2"}, {"tags", "v1.2.3", "v1.2.4"}, {"nope"}, {}} {
		out.Reset()
		if err := run(args, &out); err == nil {
			t.Errorf("run(%q) succeeded, printed %q", args, out.String())
		}
	}
}

// action is action.yml's shape, with the comments and quoting a real file
// has, so Pin must keep them.
const action = `name: ghcr-prune # the name
description: >-
  Token: needs ` + "`packages: write`" + `.
inputs:
  image:
    description: not runs.image
    default: 'Dockerfile'
runs:
  # comment above
  using: docker
  image: Dockerfile   # built on the runner until a release pins it
  args: []
`

func TestPin(t *testing.T) {
	ref := "ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64
	pinnedLine := "  image: docker://" + ref + "   # built on the runner until a release pins it\n"
	want := strings.Replace(action, "  image: Dockerfile   # built on the runner until a release pins it\n", pinnedLine, 1)

	for _, tc := range []struct {
		name, src, want string
	}{
		{"plain", action, want},
		{"re-pin", want, want},
		// the quotes go with the old value
		{"single quoted", strings.Replace(action, "image: Dockerfile", "image: 'Dockerfile'", 1), want},
		{"double quoted", strings.Replace(action, "image: Dockerfile", `image: "Dockerfile"`, 1), want},
		{"quoted key", strings.Replace(action, "  image: Dockerfile", `  "image": Dockerfile`, 1),
			strings.Replace(want, "  image: docker", `  "image": docker`, 1)},
		{"crlf", strings.ReplaceAll(action, "\n", "\r\n"), strings.ReplaceAll(want, "\n", "\r\n")},
		{"no comment, no newline at end", "runs:\n  using: docker\n  image: Dockerfile",
			"runs:\n  using: docker\n  image: docker://" + ref},
		{"value on next line", "runs:\n  using: 'docker'\n  image:\n    Dockerfile\n",
			"runs:\n  using: 'docker'\n  image:\n    docker://" + ref + "\n"},
		{"tab comment", "runs:\n  using: docker\n  image: Dockerfile\t# c\n",
			"runs:\n  using: docker\n  image: docker://" + ref + "\t# c\n"},
		{"unicode elsewhere", "name: ünïcödé ✓\nruns:\n  using: docker\n  image: Dockerfile # ✓\n",
			"name: ünïcödé ✓\nruns:\n  using: docker\n  image: docker://" + ref + " # ✓\n"},
		{"from other digest", "runs:\n  using: docker\n  image: docker://ghcr.io/x/y@sha256:" + strings.Repeat("f", 64) + "\n",
			"runs:\n  using: docker\n  image: docker://" + ref + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Pin([]byte(tc.src), ref)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Pin succeeded:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestPinRefusesRefs(t *testing.T) {
	for _, ref := range []string{
		"",
		"ghcr.io/ghcr-prune/ghcr-prune:v1.2.3", // tag, not digest
		"ghcr.io/ghcr-prune/ghcr-prune:v1.2.3@sha256:" + hex64,               // tag and digest
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + strings.ToUpper(hex64),     // uppercase hex
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64[:63],                 // short
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64 + "0",                // long
		"ghcr.io/ghcr-prune/ghcr-prune@sha512:" + hex64 + hex64,              // other algorithm
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64 + "\n",               // trailing newline
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64 + "\nimage: evil",    // injected line
		"ghcr.io/ghcr-prune/ghcr-prune\n@sha256:" + hex64,                    // newline inside
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64 + " # x",             // comment
		"ghcr.io/GHCR-Prune/ghcr-prune@sha256:" + hex64,                      // uppercase owner
		"docker://ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64,             // scheme twice
		"docker.io/ghcr-prune/ghcr-prune@sha256:" + hex64,                    // other registry
		"ghcr.io.evil.com/ghcr-prune/ghcr-prune@sha256:" + hex64,             // lookalike host
		"ghcr.io/ghcr-prune@sha256:" + hex64,                                 // no name
		"ghcr.io//ghcr-prune@sha256:" + hex64,                                // empty owner
		"ghcr.io/-x/ghcr-prune@sha256:" + hex64,                              // bad owner
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64[:60] + "xyz!",        // not hex
		" ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64,                     // leading space
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64 + "'",                // quote
		"ghcr.io/ghcr-prune/ghcr-prune@@sha256:" + hex64,                     // double @
		"ghcr.io/ghcr-prune/../ghcr-prune@sha256:" + hex64,                   // path games
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64 + "@sha256:" + hex64, // two digests
	} {
		if out, err := Pin([]byte(action), ref); err == nil {
			t.Errorf("Pin(%q) succeeded:\n%s", ref, out)
		}
	}
	for _, ref := range []string{
		"ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64,
		"ghcr.io/a/b@sha256:" + hex64,
		"ghcr.io/my-org/team/app@sha256:" + hex64,
		"ghcr.io/my-org/app.v2_x@sha256:" + hex64,
	} {
		if _, err := Pin([]byte(action), ref); err != nil {
			t.Errorf("Pin(%q): %v", ref, err)
		}
	}
}

func TestPinRefusesFiles(t *testing.T) {
	ref := "ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64
	for name, src := range map[string]string{
		"empty":            "",
		"not a mapping":    "- a\n- b\n",
		"invalid yaml":     "description: needs `packages: write`\nruns:\n  using: docker\n  image: Dockerfile\n",
		"no runs":          "name: x\n",
		"no runs.image":    "runs:\n  using: docker\n",
		"node action":      "runs:\n  using: node20\n  main: index.js\n",
		"image elsewhere":  "runs:\n  using: docker\n  image: ./build/Dockerfile\n",
		"other registry":   "runs:\n  using: docker\n  image: alpine:3\n",
		"not docker":       "runs:\n  using: composite\n  image: Dockerfile\n",
		"using missing":    "runs:\n  image: Dockerfile\n",
		"flow runs":        "runs: {using: docker, image: Dockerfile}\n",
		"runs scalar":      "runs: docker\n",
		"duplicate image":  "runs:\n  using: docker\n  image: Dockerfile\n  image: Dockerfile\n",
		"duplicate runs":   "runs:\n  using: docker\n  image: Dockerfile\nruns:\n  using: docker\n  image: Dockerfile\n",
		"block scalar":     "runs:\n  using: docker\n  image: |\n    Dockerfile\n",
		"image list":       "runs:\n  using: docker\n  image: [Dockerfile]\n",
		"alias":            "x: &d Dockerfile\nruns:\n  using: docker\n  image: *d\n",
		"anchor":           "runs:\n  using: docker\n  image: &d Dockerfile\n",
		"merge key":        "base: &b {using: docker, image: Dockerfile}\nruns:\n  <<: *b\n",
		"two documents":    "runs:\n  using: docker\n  image: Dockerfile\n---\nruns:\n  using: docker\n  image: Dockerfile\n",
		"multi-line plain": "runs:\n  using: docker\n  image: docker://a\n    b\n",
		"tagged int":       "runs:\n  using: docker\n  image: !!int 1\n",
	} {
		if out, err := Pin([]byte(src), ref); err == nil {
			t.Errorf("%s: Pin succeeded:\n%s", name, out)
		}
	}
}

func TestPinFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "action.yml")
	if err := os.WriteFile(path, []byte(action), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64
	var out bytes.Buffer
	if err := run([]string{"pin", "-image", ref, "-file", path}, &out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Exactly one line differs.
	a, b := strings.Split(action, "\n"), strings.Split(string(got), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count changed: %d -> %d", len(a), len(b))
	}
	diff := 0
	for i := range a {
		if a[i] != b[i] {
			diff++
			if b[i] != "  image: docker://"+ref+"   # built on the runner until a release pins it" {
				t.Errorf("line %d = %q", i+1, b[i])
			}
		}
	}
	if diff != 1 {
		t.Errorf("%d lines changed, want 1", diff)
	}
	// A bad ref leaves the file alone.
	if err := run([]string{"pin", "-image", ref + "\n", "-file", path}, &out); err == nil {
		t.Error("pin with a newline in the ref succeeded")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Error("a refused pin changed the file")
	}
	if err := run([]string{"pin", "-image", ref, "-file", filepath.Join(dir, "missing.yml")}, &out); err == nil {
		t.Error("pin of a missing file succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestPinRealActionYML pins the repository's own action.yml (in memory),
// so a change to it that the release could not pin fails here first.
func TestPinRealActionYML(t *testing.T) {
	src, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Skip(err)
	}
	ref := "ghcr.io/ghcr-prune/ghcr-prune@sha256:" + hex64
	got, err := Pin(src, ref)
	if err != nil {
		t.Fatalf("the release could not pin action.yml: %v", err)
	}
	a, b := strings.Split(string(src), "\n"), strings.Split(string(got), "\n")
	diff := 0
	for i := range a {
		if a[i] != b[i] {
			diff++
		}
	}
	if len(a) != len(b) || diff != 1 {
		t.Errorf("pinning changed %d lines (line count %d -> %d), want 1", diff, len(a), len(b))
	}
}

func TestNotes(t *testing.T) {
	ref := "ghcr.io/acme/ghcr-prune@sha256:" + hex64
	commit := strings.Repeat("c", 40)
	got, err := Notes(ref, "Acme/ghcr.prune", "v1.2.3", commit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"`sha256:" + hex64 + "`",
		"gh attestation verify oci://" + ref + " --owner Acme\n",
		"cosign verify " + ref + " \\\n",
		`--certificate-identity-regexp '^https://github\.com/Acme/ghcr\.prune/\.github/workflows/release\.yml@refs/tags/v'`,
		"--certificate-oidc-issuer https://token.actions.githubusercontent.com\n",
		"- uses: Acme/ghcr.prune@" + commit + " # v1.2.3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("notes lack %q:\n%s", want, got)
		}
	}
	for _, args := range [][4]string{
		{ref + "\n", "Acme/ghcr.prune", "v1.2.3", ""},
		{ref, "Acme/ghcr.prune\n", "v1.2.3", ""},
		{ref, "Acme", "v1.2.3", ""},
		{ref, "Acme/x'; rm -rf /", "v1.2.3", ""},
		{ref, "Acme/x", "v1.2", ""},
		{ref, "Acme/x", "v1.2.3", "abc"},
	} {
		if _, err := Notes(args[0], args[1], args[2], args[3]); err == nil {
			t.Errorf("Notes(%q) succeeded", args)
		}
	}
}
