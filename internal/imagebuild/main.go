// Command imagebuild builds ghcr-prune's release container image without a
// Docker daemon: it cross-compiles the static binary for each platform, lays
// it into a single-layer FROM-scratch image, and writes the OCI image index to
// an image layout, pushes it to a registry, or both.
//
//	go run ./internal/imagebuild -platforms linux/amd64,linux/arm64 \
//	    -version v1.2.3 -revision "$GITHUB_SHA" -push ghcr.io/OWNER/ghcr-prune:v1.2.3
//
// The only line on stdout is the result: REPO@sha256:... when pushing, else
// the index digest. Everything else goes to stderr.
//
// The image is the same shape as the one the repository's Dockerfile builds
// (the test checks the two agree): /ghcr-prune, an empty /tmp, nothing else.
// Its bytes depend only on the source, the flags and SOURCE_DATE_EPOCH (Unix
// 0 when unset), so building a commit twice gives the same digest.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	modulePath    = "github.com/ghcr-prune/ghcr-prune"
	defaultSource = "https://" + modulePath
	binaryName    = "ghcr-prune"
	entrypoint    = "/" + binaryName
	title         = "ghcr-prune"
	description   = "GitHub Action that deletes old container images from GitHub Container Registry without breaking an image anyone still pulls"
	licenses      = "Apache-2.0"
)

// OCI annotation keys, used both as image config labels and as annotations
// on the index (GHCR shows a multi-platform package's description from the
// index's annotations, not from the labels of its images).
const (
	labelSource      = "org.opencontainers.image.source"
	labelVersion     = "org.opencontainers.image.version"
	labelRevision    = "org.opencontainers.image.revision"
	labelLicenses    = "org.opencontainers.image.licenses"
	labelTitle       = "org.opencontainers.image.title"
	labelDescription = "org.opencontainers.image.description"
)

// compileFunc builds the ghcr-prune binary for one platform and returns its
// bytes. The real one is goBuild; tests substitute a memoised one so each
// platform is compiled once per test run.
type compileFunc func(ctx context.Context, p v1.Platform, version, revision string) ([]byte, error)

type options struct {
	platforms []v1.Platform
	version   string
	revision  string
	source    string
	layoutDir string
	push      string
	// created is the time stamped on every file, the config and the history:
	// fixed, so the digest depends only on what goes in.
	created time.Time
	compile compileFunc
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run is the whole command: flags in, one line on stdout. A nil compile
// means goBuild in the module root.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, compile compileFunc) error {
	opts, ref, err := parseFlags(ctx, args, stderr, compile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "imagebuild: building %s for %s\n", opts.version, platformList(opts.platforms))
	idx, err := build(ctx, opts)
	if err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	if opts.layoutDir != "" {
		if err := writeLayout(opts.layoutDir, idx); err != nil {
			return fmt.Errorf("writing layout %s: %w", opts.layoutDir, err)
		}
		fmt.Fprintf(stderr, "imagebuild: wrote %s to layout %s\n", digest, opts.layoutDir)
	}
	if ref == nil {
		_, err := fmt.Fprintln(stdout, digest)
		return err
	}
	pushed, err := pushIndex(ctx, ref, idx, guardTransport{base: remote.DefaultTransport})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "imagebuild: pushed %s\n", ref)
	_, err = fmt.Fprintln(stdout, pushed)
	return err
}

// parseFlags checks every flag, and the push reference, before a minute
// goes into compiling.
func parseFlags(ctx context.Context, args []string, stderr io.Writer, compile compileFunc) (options, name.Reference, error) {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	platforms := fs.String("platforms", "linux/amd64", "comma separated `list` of platforms")
	opts := options{compile: compile}
	fs.StringVar(&opts.version, "version", "dev", "version stamped into the binary (main.version) and the labels")
	fs.StringVar(&opts.revision, "revision", "unknown", "source revision stamped into the binary (main.commit) and the labels")
	fs.StringVar(&opts.source, "source", defaultSource, "URL of the source repository (org.opencontainers.image.source)")
	fs.StringVar(&opts.layoutDir, "layout", "", "write an OCI image layout holding the index to `DIR`")
	fs.StringVar(&opts.push, "push", "", "push the index to `REF` (credentials from ~/.docker/config.json)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./internal/imagebuild [flags] (-layout DIR | -push REF)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, nil, err
		}
		return opts, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	usage := func(format string, a ...any) (options, name.Reference, error) {
		fmt.Fprintf(stderr, "imagebuild: "+format+"\n", a...)
		fs.Usage()
		return opts, nil, errUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments: %q", fs.Args())
	}
	if opts.layoutDir == "" && opts.push == "" {
		return usage("one of -layout or -push is required")
	}
	var err error
	if opts.platforms, err = parsePlatforms(*platforms); err != nil {
		return usage("%v", err)
	}
	for _, f := range []struct{ name, value string }{{"version", opts.version}, {"revision", opts.revision}} {
		if err := checkStamp(f.value); err != nil {
			return usage("-%s: %v", f.name, err)
		}
	}
	if opts.created, err = sourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		return usage("%v", err)
	}
	var ref name.Reference
	if opts.push != "" {
		if ref, err = parsePushRef(opts.push); err != nil {
			return opts, nil, err
		}
	}
	if opts.compile == nil {
		root, err := moduleRoot(ctx)
		if err != nil {
			return opts, nil, err
		}
		opts.compile = func(ctx context.Context, p v1.Platform, version, revision string) ([]byte, error) {
			return goBuild(ctx, root, p, version, revision)
		}
	}
	return opts, ref, nil
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := v1.ParsePlatform(f)
		if err != nil {
			return nil, fmt.Errorf("-platforms: %v", err)
		}
		if p.OS != "linux" || p.Architecture == "" || p.OSVersion != "" {
			return nil, fmt.Errorf("-platforms: %q: want linux/ARCH[/VARIANT]", f)
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("-platforms: %q given twice", f)
		}
		seen[p.String()] = true
		out = append(out, *p)
	}
	if len(out) == 0 {
		return nil, errors.New("-platforms: no platform given")
	}
	return out, nil
}

func platformList(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// checkStamp keeps a -version or -revision value from breaking out of its
// -X flag: go build splits -ldflags on spaces and interprets quotes.
func checkStamp(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	for _, r := range v {
		if r <= ' ' || r == '"' || r == '\'' || r == '\\' || r == 0x7f {
			return fmt.Errorf("%q: no spaces, quotes, backslashes or control characters", v)
		}
	}
	return nil
}

// sourceDateEpoch is the reproducible-builds convention for "the time of the
// source": a build sets it to the commit time to get meaningful yet
// reproducible timestamps.
func sourceDateEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// build compiles the binary for each platform (concurrently) and assembles
// the index. It neither writes nor pushes anything.
func build(ctx context.Context, opts options) (v1.ImageIndex, error) {
	bins := make([][]byte, len(opts.platforms))
	errs := make([]error, len(opts.platforms))
	var wg sync.WaitGroup
	for i, p := range opts.platforms {
		wg.Go(func() {
			bins[i], errs[i] = opts.compile(ctx, p, opts.version, opts.revision)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("building %s: %w", p, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	labels := map[string]string{
		labelSource:      opts.source,
		labelVersion:     opts.version,
		labelRevision:    opts.revision,
		labelLicenses:    licenses,
		labelTitle:       title,
		labelDescription: description,
	}
	adds := make([]mutate.IndexAddendum, len(opts.platforms))
	for i, p := range opts.platforms {
		img, err := assemble(bins[i], p, labels, opts.created)
		if err != nil {
			return nil, fmt.Errorf("assembling %s: %w", p, err)
		}
		adds[i] = mutate.IndexAddendum{
			Add: plainImage{img},
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &p,
			},
		}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	return mutate.Annotations(idx, labels).(v1.ImageIndex), nil
}

// plainImage keeps go-containerregistry from giving the image's index
// entry an artifactType (it copies the config's media type there by
// default): this is a runnable image, not an artifact, and its descriptor
// should read as the one docker buildx writes.
type plainImage struct{ v1.Image }

func (plainImage) ArtifactType() (string, error) { return "", nil }

// assemble makes the image for one platform from its binary: one layer, the
// config a Docker action needs, and nothing that depends on when or where it
// was built.
func assemble(binary []byte, p v1.Platform, labels map[string]string, created time.Time) (v1.Image, error) {
	layer, err := rootfsLayer(binary, created)
	if err != nil {
		return nil, err
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      v1.Time{Time: created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{entrypoint},
			// No User: GitHub runs Docker actions as the image's default user
			// and mounts GITHUB_OUTPUT and GITHUB_STEP_SUMMARY owned by the
			// runner's user, which only root can then write.
			Labels: labels,
		},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "imagebuild: COPY ghcr-prune /ghcr-prune; mkdir -m 1777 /tmp",
			Comment:   "built without a Docker daemon by ./internal/imagebuild",
		},
	})
}

// rootfsLayer is the image's whole filesystem: the binary and an empty,
// world-writable, sticky /tmp (os.TempDir and anything that spills to disk
// need one; scratch has none).
func rootfsLayer(binary []byte, mtime time.Time) (v1.Layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{tar.Header{Typeflag: tar.TypeReg, Name: binaryName, Mode: 0o755, Size: int64(len(binary))}, binary},
		{tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil},
	}
	for _, e := range entries {
		e.hdr.ModTime = mtime
		e.hdr.Format = tar.FormatUSTAR // no PAX records: no atime/ctime to vary
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	// Compressed once, here (go-containerregistry would recompress for every
	// read). The default level: BestCompression saves 0.4% for three times
	// the time. gzip.Writer writes no name and no time unless told, so the
	// bytes depend only on the tar.
	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	gz := gzBuf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// moduleRoot is the directory of ghcr-prune's go.mod, wherever in the module
// the command is run from.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the ghcr-prune module: run from its checkout")
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			if strings.Trim(f[1], `"`) != modulePath {
				return "", fmt.Errorf("%s is module %s, not %s", gomod, f[1], modulePath)
			}
			return filepath.Dir(gomod), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", gomod)
}

// goBuild is the same build as the Dockerfile's: static, trimmed, stripped,
// stamped. -buildvcs=false because the Docker build context has no .git
// either; the revision is stamped explicitly instead.
func goBuild(ctx context.Context, root string, p v1.Platform, version, revision string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "imagebuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, binaryName)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -X main.version="+version+" -X main.commit="+revision,
		"-o", out, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	switch p.Architecture {
	case "arm":
		if p.Variant != "" {
			cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
		}
	case "amd64":
		if p.Variant != "" {
			cmd.Env = append(cmd.Env, "GOAMD64="+p.Variant)
		}
	}
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, output)
	}
	return os.ReadFile(out)
}

// writeLayout writes idx as the layout's index.json, so the layout is
// exactly this index, and also stores the index as a blob, so tools can
// address it by digest (oci:DIR@sha256:...).
func writeLayout(dir string, idx v1.ImageIndex) error {
	p, err := layout.Write(dir, idx)
	if err != nil {
		return err
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	return p.WriteBlob(d, io.NopCloser(bytes.NewReader(raw)))
}

// parsePushRef parses -push. A reference may start with http:// to ask for
// plain HTTP, which is allowed only to this machine: credentials and the
// image would cross the network in the clear. go-containerregistry would
// also pick plain HTTP by itself for private (RFC 1918) addresses; that is
// refused too.
func parsePushRef(s string) (name.Reference, error) {
	var opts []name.Option
	rest, plain := strings.CutPrefix(s, "http://")
	if plain {
		opts = append(opts, name.Insecure)
	} else if strings.Contains(s, "://") {
		return nil, fmt.Errorf("-push %q: give a reference (REGISTRY/REPO:TAG), not a URL", s)
	}
	ref, err := name.ParseReference(rest, opts...)
	if err != nil {
		return nil, fmt.Errorf("-push: %w", err)
	}
	reg := ref.Context().Registry
	if reg.Scheme() == "http" && !isLoopback(reg.RegistryStr()) {
		return nil, fmt.Errorf("-push %q: refusing to push over plain http to %s, which is not this machine", s, reg.RegistryStr())
	}
	return ref, nil
}

// isLoopback reports whether host[:port] names this machine, without asking
// DNS (whose answer an attacker on the network could choose).
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guardTransport refuses any plain-http request that leaves the machine,
// including ones the registry steers us to (token realms, redirects), which
// parsePushRef cannot see.
type guardTransport struct{ base http.RoundTripper }

func (g guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !isLoopback(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing %s request to %s: not https and not this machine", req.URL.Scheme, req.URL.Host)
	}
	return g.base.RoundTrip(req)
}

// pushIndex pushes idx (blobs, manifests, then the index under ref's tag)
// and returns the repository reference by the index's digest.
func pushIndex(ctx context.Context, ref name.Reference, idx v1.ImageIndex, t http.RoundTripper) (string, error) {
	if err := remote.WriteIndex(ref, idx,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(t),
		remote.WithUserAgent("ghcr-prune-imagebuild"),
	); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}
