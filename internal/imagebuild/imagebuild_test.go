package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// compiled memoises the real go build: one compile per platform and stamp
// per test run, shared by every test that goes through run().
var compiled struct {
	sync.Mutex
	m map[string]*compileResult
}

type compileResult struct {
	once sync.Once
	bin  []byte
	err  error
}

func cachedBuild(t *testing.T) compileFunc {
	t.Helper()
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, p v1.Platform, version, revision string) ([]byte, error) {
		key := p.String() + " " + version + " " + revision
		compiled.Lock()
		if compiled.m == nil {
			compiled.m = map[string]*compileResult{}
		}
		r := compiled.m[key]
		if r == nil {
			r = &compileResult{}
			compiled.m[key] = r
		}
		compiled.Unlock()
		r.once.Do(func() { r.bin, r.err = goBuild(ctx, root, p, version, revision) })
		return r.bin, r.err
	}
}

// fakeBuild stands in for go build where the binary's content does not
// matter: it is cheap and says which platform it was built for.
func fakeBuild(_ context.Context, p v1.Platform, version, revision string) ([]byte, error) {
	return []byte("fake ghcr-prune " + p.String() + " " + version + " " + revision), nil
}

func noBuild(t *testing.T) compileFunc {
	return func(context.Context, v1.Platform, string, string) ([]byte, error) {
		t.Error("compiled, but the flags should have been refused first")
		return nil, errors.New("no build")
	}
}

// runOK runs the command and returns its single stdout line.
func runOK(t *testing.T, compile compileFunc, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr, compile); err != nil {
		t.Fatalf("run %q: %v\nstderr:\n%s", args, err, stderr.String())
	}
	out := stdout.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("run %q: stdout is not exactly one line: %q", args, out)
	}
	return strings.TrimSuffix(out, "\n")
}

const (
	testVersion  = "v9.8.7-test"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
	testSource   = "https://example.com/fork/ghcr-prune"
)

func TestBuildLayout(t *testing.T) {
	t.Parallel()
	compile := cachedBuild(t)
	args := func(dir string) []string {
		return []string{"-platforms", "linux/amd64", "-version", testVersion, "-revision", testRevision,
			"-source", testSource, "-layout", dir}
	}
	dir := t.TempDir()
	printed := runOK(t, compile, args(dir)...)

	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if printed != digest.String() {
		t.Errorf("printed %q, layout's index is %s", printed, digest)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1: %+v", len(im.Manifests), im.Manifests)
	}
	desc := im.Manifests[0]
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != "amd64" {
		t.Errorf("index entry platform %v, want linux/amd64", desc.Platform)
	}
	if desc.MediaType != types.OCIManifestSchema1 || desc.ArtifactType != "" {
		t.Errorf("index entry media type %q artifact type %q, want %s and none", desc.MediaType, desc.ArtifactType, types.OCIManifestSchema1)
	}
	if got := im.Annotations[labelVersion]; got != testVersion {
		t.Errorf("index annotation %s = %q, want %q", labelVersion, got, testVersion)
	}

	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, "amd64")

	// Reproducible: the same source and flags give the same digest. The
	// binary comes from the memo (go build's own reproducibility under
	// -trimpath is Go's to test); everything this command adds is redone.
	again := runOK(t, compile, args(t.TempDir())...)
	if again != printed {
		t.Errorf("second build printed %s, first %s: the image is not reproducible", again, printed)
	}
}

// checkImage checks one platform's image: the config a Docker action
// needs, and a filesystem of the static binary and /tmp, nothing else.
func checkImage(t *testing.T, img v1.Image, arch string) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s with config %s, want OCI media types", m.MediaType, m.Config.MediaType)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
		if l.MediaType != types.OCILayer {
			t.Errorf("layer media type %s, want %s", l.MediaType, types.OCILayer)
		}
	}
	t.Logf("linux/%s: %d layer(s), %.2f MiB compressed", arch, len(m.Layers), float64(size)/(1<<20))
	if size >= 20<<20 {
		t.Errorf("image is %d bytes compressed, want under 20 MiB", size)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != arch {
		t.Errorf("config platform %s/%s, want linux/%s", cf.OS, cf.Architecture, arch)
	}
	c := cf.Config
	if !reflect.DeepEqual(c.Entrypoint, []string{"/ghcr-prune"}) {
		t.Errorf("Entrypoint %q, want [/ghcr-prune]", c.Entrypoint)
	}
	if len(c.Cmd) != 0 {
		t.Errorf("Cmd %q, want none", c.Cmd)
	}
	if c.User != "" {
		t.Errorf("User %q, want none: GitHub runs Docker actions as root", c.User)
	}
	if c.WorkingDir != "" {
		t.Errorf("WorkingDir %q, want none", c.WorkingDir)
	}
	for k, want := range map[string]string{
		labelSource:   testSource,
		labelVersion:  testVersion,
		labelRevision: testRevision,
		labelLicenses: "Apache-2.0",
		labelTitle:    "ghcr-prune",
	} {
		if got := c.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if c.Labels[labelDescription] == "" {
		t.Errorf("label %s is empty", labelDescription)
	}
	if !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created %s, want the epoch (SOURCE_DATE_EPOCH unset)", cf.Created.Time)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
		seen[p] = true
		switch p {
		case "/ghcr-prune":
			if h.Typeflag != tar.TypeReg {
				t.Errorf("/ghcr-prune has type %q, want a regular file", h.Typeflag)
			}
			if h.Mode&0o777 != 0o755 {
				t.Errorf("/ghcr-prune mode %o, want 755", h.Mode)
			}
			if h.Uid != 0 || h.Gid != 0 {
				t.Errorf("/ghcr-prune owned by %d:%d, want root", h.Uid, h.Gid)
			}
			bin, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			checkStaticELF(t, bin, arch)
		case "/tmp":
			if h.Typeflag != tar.TypeDir || h.Mode&0o7777 != 0o1777 {
				t.Errorf("/tmp: type %q mode %o, want a directory with mode 1777", h.Typeflag, h.Mode)
			}
		default:
			t.Errorf("unexpected file %s in the image (type %q)", p, h.Typeflag)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s has mtime %s, want the epoch", p, h.ModTime)
		}
	}
	for _, p := range []string{"/ghcr-prune", "/tmp"} {
		if !seen[p] {
			t.Errorf("%s missing from the image", p)
		}
	}
	for _, p := range []string{"/bin", "/bin/sh"} {
		if seen[p] {
			t.Errorf("%s is in the image, which should have no shell", p)
		}
	}
}

func checkStaticELF(t *testing.T, bin []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/ghcr-prune is not an ELF file: %v", err)
	}
	defer f.Close()
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != wantMachine {
		t.Errorf("/ghcr-prune is for %s, want %s", f.Machine, wantMachine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("/ghcr-prune has a %s program header: it is dynamically linked, and scratch has no libc", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Error("/ghcr-prune has a .dynamic section")
	}
	if s := f.Section(".symtab"); s != nil {
		t.Error("/ghcr-prune has a symbol table: it was not built with -s")
	}
	if !bytes.Contains(bin, []byte(testRevision)) {
		t.Logf("note: revision %s is not in the binary (main.commit not declared yet?)", testRevision)
	}
}

// TestMultiPlatform checks the index over several platforms: one image each,
// in the order given, each built for its platform.
func TestMultiPlatform(t *testing.T) {
	out := runOK(t, fakeBuild, "-platforms", "linux/amd64, linux/arm64,linux/arm/v7", "-layout", t.TempDir())
	if !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("printed %q, want a digest", out)
	}
	opts := options{compile: fakeBuild, version: "dev", revision: "unknown", source: defaultSource, created: time.Unix(0, 0)}
	var err error
	if opts.platforms, err = parsePlatforms("linux/amd64,linux/arm64,linux/arm/v7"); err != nil {
		t.Fatal(err)
	}
	idx, err := build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d.String() != out {
		t.Errorf("run printed %s, build gave %s", out, d)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}
	if len(im.Manifests) != len(want) {
		t.Fatalf("%d manifests, want %d", len(im.Manifests), len(want))
	}
	for i, desc := range im.Manifests {
		if desc.Platform.String() != want[i] {
			t.Errorf("manifest %d is for %s, want %s", i, desc.Platform, want[i])
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cf.Platform().String(); got != want[i] {
			t.Errorf("image %d's config is for %s, want %s", i, got, want[i])
		}
	}

	// A different SOURCE_DATE_EPOCH is a different image; the same one, the same.
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	stamped := runOK(t, fakeBuild, "-platforms", "linux/amd64,linux/arm64,linux/arm/v7", "-layout", t.TempDir())
	if stamped == out {
		t.Error("SOURCE_DATE_EPOCH did not change the digest")
	}
	if again := runOK(t, fakeBuild, "-platforms", "linux/amd64,linux/arm64,linux/arm/v7", "-layout", t.TempDir()); again != stamped {
		t.Errorf("same SOURCE_DATE_EPOCH, different digests: %s, %s", stamped, again)
	}
}

func TestFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{}, // neither -layout nor -push
		{"-platforms", "", "-layout", "x"},
		{"-platforms", "windows/amd64", "-layout", "x"},
		{"-platforms", "linux/amd64,linux/amd64", "-layout", "x"},
		{"-version", "v1 -X main.evil=1", "-layout", "x"},
		{"-revision", `a"b`, "-layout", "x"},
		{"-layout", "x", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr, noBuild(t))
		if !errors.Is(err, errUsage) {
			t.Errorf("run %q: %v, want a usage error", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("run %q printed %q on stdout", args, stdout.String())
		}
	}
}

func TestPushRefusesPlainHTTP(t *testing.T) {
	for _, ref := range []string{
		"http://registry.example.com/owner/ghcr-prune:v1",
		"http://ghcr.io/owner/ghcr-prune:v1",
		"http://127.0.0.1.example.com/x:v1",
		"10.1.2.3:5000/owner/ghcr-prune:v1",    // go-containerregistry would pick http
		"192.168.1.2:5000/owner/ghcr-prune:v1", // likewise
		"ftp://ghcr.io/owner/ghcr-prune:v1",
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-push", ref}, &stdout, &stderr, noBuild(t))
		if err == nil {
			t.Errorf("-push %s: accepted", ref)
			continue
		}
		if stdout.Len() != 0 {
			t.Errorf("-push %s printed %q on stdout", ref, stdout.String())
		}
	}
	for _, ref := range []string{
		"ghcr.io/owner/ghcr-prune:v1",
		"http://127.0.0.1:5000/x:v1",
		"http://localhost:5000/x:v1",
		"http://[::1]:5000/x:v1",
		"127.0.0.1:5000/x:v1",
	} {
		if _, err := parsePushRef(ref); err != nil {
			t.Errorf("-push %s: %v", ref, err)
		}
	}

	// What parsePushRef cannot see (a token realm, a redirect) the
	// transport refuses: nothing plain leaves the machine.
	sent := 0
	g := guardTransport{base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})}
	for url, ok := range map[string]bool{
		"http://ghcr.io/token":           false,
		"http://10.0.0.1:5000/v2/":       false,
		"https://ghcr.io/token":          true,
		"http://127.0.0.1:5000/v2/":      true,
		"http://localhost:5000/v2/":      true,
		"http://localhost.evil.com/v2/":  false,
		"http://[::1]:5000/v2/":          true,
		"http://127.0.0.1.nip.io:80/v2/": false,
	} {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := sent
		_, err = g.RoundTrip(req)
		if (err == nil) != ok || (sent > before) != ok {
			t.Errorf("%s: err %v, sent %v; want allowed=%v", url, err, sent > before, ok)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPush pushes to go-containerregistry's in-process registry and pulls
// the result back by the printed digest.
func TestPush(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	compile := cachedBuild(t)

	tag := host + "/owner/ghcr-prune:" + testVersion
	dir := t.TempDir()
	printed := runOK(t, compile, "-version", testVersion, "-revision", testRevision, "-source", testSource,
		"-push", tag, "-layout", dir)
	repo := host + "/owner/ghcr-prune"
	if !strings.HasPrefix(printed, repo+"@sha256:") {
		t.Fatalf("printed %q, want %s@sha256:...", printed, repo)
	}
	byDigest, err := name.NewDigest(printed)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(byDigest)
	if err != nil {
		t.Fatalf("pulling %s: %v", printed, err)
	}

	// The layout written by the same run is the index that was built.
	built, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := built.Digest()
	got, _ := pulled.Digest()
	if got != want || byDigest.DigestStr() != want.String() {
		t.Errorf("pulled %s (printed %s), built %s", got, byDigest.DigestStr(), want)
	}
	wantRaw, _ := built.RawManifest()
	gotRaw, _ := pulled.RawManifest()
	if !bytes.Equal(gotRaw, wantRaw) {
		t.Errorf("pulled index differs from the built one:\n%s\n%s", gotRaw, wantRaw)
	}
	tagged, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tagged)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != want {
		t.Errorf("tag %s points at %s, want %s", tag, desc.Digest, want)
	}
	// And the image under it came across whole: every blob is there.
	im, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := pulled.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("pulled image: %d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatalf("pulling the layer: %v", err)
	}
}

// TestDockerfileAgrees keeps the Dockerfile (which `uses: ./` builds) making
// the image imagebuild makes: pinned base images, the same entrypoint, the
// same labels, the same go build.
func TestDockerfileAgrees(t *testing.T) {
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	df, err := parseDockerfile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}

	var froms []string
	labels := map[string]string{}
	var entrypoints, runs []string
	for _, in := range df {
		switch in.cmd {
		case "FROM":
			image := strings.Fields(in.args)[0]
			froms = append(froms, image)
			if image != "scratch" && !strings.Contains(image, "@sha256:") {
				t.Errorf("line %d: FROM %s is not pinned by @sha256: digest", in.line, image)
			}
		case "LABEL":
			kv, err := parseLabel(in.args)
			if err != nil {
				t.Errorf("line %d: %v", in.line, err)
			}
			for k, v := range kv {
				labels[k] = v
			}
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, in.args)
		case "RUN":
			runs = append(runs, in.args)
		case "USER", "CMD", "WORKDIR":
			if len(froms) > 0 && froms[len(froms)-1] == "scratch" {
				t.Errorf("line %d: %s in the final stage; imagebuild sets none", in.line, in.cmd)
			}
		}
	}
	if len(froms) == 0 || froms[len(froms)-1] != "scratch" {
		t.Errorf("final stage FROM %v, want scratch", froms)
	}
	if len(entrypoints) != 1 || entrypoints[0] != `["/ghcr-prune"]` {
		t.Errorf(`ENTRYPOINT %q, want exactly one, ["/ghcr-prune"]`, entrypoints)
	}

	wantLabels := map[string]string{
		labelSource:      "${SOURCE}",
		labelVersion:     "${VERSION}",
		labelRevision:    "${REVISION}",
		labelLicenses:    licenses,
		labelTitle:       title,
		labelDescription: description,
	}
	if !reflect.DeepEqual(labels, wantLabels) {
		t.Errorf("Dockerfile labels\n%q\nwant\n%q", labels, wantLabels)
	}

	build := ""
	for _, r := range runs {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "-buildvcs=false", "-s -w",
		"-X main.version=${VERSION}", "-X main.commit=${REVISION}", "mkdir -m 1777"} {
		if !strings.Contains(build, want) {
			t.Errorf("the Dockerfile's go build %q lacks %q", build, want)
		}
	}
}

type instruction struct {
	line int
	cmd  string
	args string
}

// parseDockerfile splits a Dockerfile into instructions the way docker's
// parser does for these purposes: comments and blank lines dropped, a
// trailing backslash continues the instruction on the next line.
func parseDockerfile(path string) ([]instruction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cont := strings.HasSuffix(line, `\`)
		line = strings.TrimSpace(strings.TrimSuffix(line, `\`))
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			cur.args += " " + line
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: instruction on line %d never ends", path, cur.line)
	}
	return out, sc.Err()
}

// parseLabel parses LABEL's key=value pairs, values optionally in double
// quotes (which may hold spaces).
func parseLabel(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("LABEL %q: want key=value", s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("LABEL %s: unterminated quote", k)
			}
			v, s = rest[1:1+end], rest[2+end:]
		} else {
			v, s, _ = strings.Cut(rest, " ")
		}
		out[strings.Trim(k, `"`)] = v
	}
	return out, nil
}
