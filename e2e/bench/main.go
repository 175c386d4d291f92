// Command bench measures ghcr-prune as a user runs it: it builds the
// binary, starts the fake GHCR with a latency on every request, seeds it with
// buildx multi-arch images, and runs the binary as a GitHub runner does (as a
// process, with INPUT_* variables and GITHUB_* files), cold and then warm
// with the same cache-dir. For each run it prints the wall time, the
// process's CPU time, the requests by kind, the bound those requests imply
// at the manifest concurrency, and the process's peak RSS.
//
// A peer run starts -peer in the binary's place with the same environment:
// the action users switch from, on the same fake, side by side. Its inputs
// carry the same names, and it reads the API's URL from an input of its own.
//
// A delete run measures the deletion pace instead: it seeds a fake of its
// own behind GitHub's secondary limit (900 points a minute per endpoint, 5
// a DELETE, so at most 180 DELETEs a minute), runs the binary with dry-run
// false and -delete-inputs, and prints in a table of its own the DELETEs
// made, the versions they deleted (a removed tag's placeholder included),
// their pace from the first deletion to the last as the fake saw them, that
// pace over the 180 a minute ceiling, and the answers the secondary limit
// refused. The pacer lets 20 go at once and then 155 a minute, so
// the pace says something from a few hundred deletions on, and the 434 of
// -images 100 take about three minutes.
//
//	go run ./e2e/bench -images 2000            # one package, 10,001 versions
//	go run ./e2e/bench -images 20000           # 100,001 versions
//	go run ./e2e/bench -packages 500 -images 4 # an organization: 500 packages × 21 versions
//	go run ./e2e/bench -images 100 -runs delete # 430 of 500 versions and 4 tags deleted
//	go run ./e2e/bench -runs cold,warm,peer -peer "node ghcr-cleanup-action/dist/index.js"
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ghcr-prune/ghcr-prune/internal/fakeghcr"
)

const (
	owner = "bench-org"
	token = "ghp_benchToken0123456789"
	// concurrency is how many requests the bound assumes in flight: the
	// action's manifest concurrency.
	concurrency = 10
)

type config struct {
	images   int // buildx images per package (5 versions each, plus the fake's seed)
	packages int
	latency  time.Duration
	runs     []string
	inputs   map[string]string
	keep     bool   // keep the working directory
	pprof    string // directory for the binary's profiles, one folder a run
	// peer is the command a peer run starts instead of the binary, with the
	// same inputs: the action users switch from, side by side.
	peer []string

	// deleteInputs are a delete run's inputs, on top of dry-run false.
	deleteInputs map[string]string
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg config
	fs.IntVar(&cfg.images, "images", 2000, "buildx multi-arch images per package (5 versions each)")
	fs.IntVar(&cfg.packages, "packages", 1, "packages of the organization; more than one runs with packages: '*' and a classic PAT")
	fs.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "latency the fake adds to every request")
	runs := fs.String("runs", "cold,warm", "runs in order, sharing one cache-dir: cold (empty cache), warm, or pushed (warm, after a new image in each of the first 5 packages); "+
		"or delete (deletes for real, with -delete-inputs, from a fresh seed behind the secondary limit, with a cache-dir of its own, and reports the deletion pace); "+
		"or peer (-peer in the binary's place)")
	inputs := fs.String("inputs", "delete-tags=sha-*,delete-untagged=true,keep-n-tagged=50,older-than=30d", "comma separated input=value pairs, on top of a dry run")
	deleteInputs := fs.String("delete-inputs", "delete-tags=sha-*,keep-n-tagged=10", "a delete run's input=value pairs, on top of dry-run false; "+
		"the default deletes the images tagged only sha-*, all but the newest 10, 5 versions an image")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the working directory (binary, cache, summaries) and print its path")
	fs.StringVar(&cfg.pprof, "pprof", "", "write the binary's CPU and peak heap profiles under this directory, one folder a run (GHCR_PRUNE_PPROF)")
	peer := fs.String("peer", "", "the command a peer run starts in the binary's place, with the same INPUT_* variables and GITHUB_* files "+
		"(dataaxiom/ghcr-cleanup-action: \"node <checkout>/dist/index.js\")")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.images < 1 || cfg.packages < 1 {
		return cfg, errors.New("-images and -packages must be at least 1")
	}
	cfg.peer = strings.Fields(*peer)
	for _, r := range strings.Split(*runs, ",") {
		if r != "cold" && r != "warm" && r != "pushed" && r != "delete" && r != "peer" {
			return cfg, fmt.Errorf("-runs: %q is not cold, warm, pushed, delete or peer", r)
		}
		if r == "peer" && len(cfg.peer) == 0 {
			return cfg, errors.New("-runs: a peer run needs -peer")
		}
		cfg.runs = append(cfg.runs, r)
	}
	var err error
	if cfg.inputs, err = parseInputs(*inputs); err != nil {
		return cfg, fmt.Errorf("-inputs: %w", err)
	}
	if cfg.deleteInputs, err = parseInputs(*deleteInputs); err != nil {
		return cfg, fmt.Errorf("-delete-inputs: %w", err)
	}
	cfg.deleteInputs["dry-run"] = "false"
	return cfg, nil
}

// parseInputs reads comma separated input=value pairs.
func parseInputs(list string) (map[string]string, error) {
	inputs := map[string]string{}
	for _, kv := range strings.Split(list, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			inputs[strings.TrimSpace(k)] = strings.TrimSpace(v)
		} else if strings.TrimSpace(kv) != "" {
			return nil, fmt.Errorf("%q is not input=value", kv)
		}
	}
	return inputs, nil
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	dir, err := os.MkdirTemp("", "ghcr-prune-bench")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(w, "working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "ghcr-prune")
	if err := build(ctx, bin); err != nil {
		return err
	}
	srv := fakeghcr.Start(fakeghcr.WithToken(token), fakeghcr.WithLatency(cfg.latency), fakeghcr.WithPrimaryBudget(1_000_000))
	defer srv.Close()
	versions, err := seed(srv, cfg)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	// Each table gets its heading whenever the run kind changes tables, so
	// that rows print as their runs end.
	table := ""
	for i, kind := range cfg.runs {
		m, err := runOnce(ctx, srv, bin, dir, cfg, i, kind)
		if err != nil {
			return fmt.Errorf("%s run: %w", kind, err)
		}
		if kind == "delete" {
			if table != "delete" {
				printDeleteHeading(w, cfg, versions, table != "")
			}
			printDeleteRow(w, kind, m)
			table = "delete"
			continue
		}
		if table != "dry" {
			printHeading(w, cfg, versions, table != "")
		}
		bound := boundOf(m, cfg.latency)
		fmt.Fprintf(w, "| %s | %.2f s | %.2f s | %.2f | %.2f s | %d | %d | %d | %.0f MiB |\n", kind, m.wall.Seconds(), bound.Seconds(),
			m.wall.Seconds()/bound.Seconds(), m.cpu.Seconds(), m.rest, m.manifestGets, m.otherRegistry, float64(m.maxRSS)/(1<<20))
		table = "dry"
	}
	return nil
}

// printHeading introduces the table of dry runs; after another table it
// first leaves a blank line.
func printHeading(w io.Writer, cfg config, versions int, after bool) {
	if after {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d package(s), %d versions, %v a request; a dry run with %s\n\n", cfg.packages, versions, cfg.latency, joinInputs(cfg.inputs))
	fmt.Fprintf(w, "| run | wall | bound | wall/bound | CPU | REST | manifest GETs | other registry | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
}

// joinInputs lists inputs as "name: value", sorted.
func joinInputs(inputs map[string]string) string {
	var given []string
	for k, v := range inputs {
		given = append(given, k+": "+v)
	}
	slices.Sort(given)
	return strings.Join(given, ", ")
}

// runOnce prepares run i of kind and measures it. Dry runs share srv and
// the cache-dir; a delete run has a fake and a cache-dir of its own.
func runOnce(ctx context.Context, srv *fakeghcr.Server, bin, dir string, cfg config, i int, kind string) (measurement, error) {
	runDir, profiles := filepath.Join(dir, fmt.Sprintf("run%d", i)), profileDir(cfg.pprof, i, kind)
	cache := filepath.Join(dir, "cache")
	switch kind {
	case "cold":
		if err := os.RemoveAll(cache); err != nil {
			return measurement{}, err
		}
	case "pushed":
		if err := pushNew(srv, cfg, i); err != nil {
			return measurement{}, err
		}
	case "delete":
		return measureDelete(ctx, bin, runDir, filepath.Join(dir, fmt.Sprintf("cache%d", i)), cfg, profiles)
	case "peer":
		return measure(ctx, srv, cfg.peer, runDir, "", cfg, "")
	}
	return measure(ctx, srv, []string{bin}, runDir, cache, cfg, profiles)
}

// build compiles the binary as the Dockerfile does.
func build(ctx context.Context, bin string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// profileDir is where run i writes its profiles, or "" for none.
func profileDir(root string, i int, kind string) string {
	if root == "" {
		return ""
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	return filepath.Join(abs, fmt.Sprintf("%d-%s", i, kind))
}

func packageName(i, n int) string {
	if n == 1 {
		return "app"
	}
	return fmt.Sprintf("app-%03d", i)
}

// seed fills every package with images images, one an hour back from now.
func seed(srv *fakeghcr.Server, cfg config) (int, error) {
	srv.AddOrg(owner)
	total := 0
	for i := range cfg.packages {
		n, err := srv.SeedBuildx(owner, packageName(i, cfg.packages), cfg.images, time.Now(), time.Hour)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// pushedPackages is how many packages a pushed run finds changed.
const pushedPackages = 5

// pushNew pushes one more single-platform image, tagged, into each of the
// first pushedPackages packages, as new builds between two runs would.
func pushNew(srv *fakeghcr.Server, cfg config, run int) error {
	for i := range min(pushedPackages, cfg.packages) {
		if _, err := srv.Pusher(owner, packageName(i, cfg.packages)).Image(fmt.Sprintf("new-%d", run)); err != nil {
			return fmt.Errorf("pushing to %s: %w", packageName(i, cfg.packages), err)
		}
	}
	return nil
}

type measurement struct {
	wall          time.Duration
	rest          int
	manifestGets  int
	otherRegistry int // token, HEAD, blobs, tag listings
	maxRSS        int64
	cpu           time.Duration  // the binary's user and system time
	stats         fakeghcr.Stats // the fake's own counts, for a delete run
}

// measure runs the binary once as a runner would and reads what it cost.
// runnerEnv is what a runner gives the action's container: the INPUT_*
// variables and the GITHUB_* files, made in dir.
func runnerEnv(srv *fakeghcr.Server, dir, cache string, cfg config, profiles string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	summary, output := filepath.Join(dir, "summary.md"), filepath.Join(dir, "output")
	for _, f := range []string{summary, output} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return nil, err
		}
	}
	packages := packageName(0, 1)
	if cfg.packages > 1 {
		packages = "*"
	}
	env := []string{
		"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=" + owner + "/app", "GITHUB_REPOSITORY_OWNER=" + owner,
		"GITHUB_API_URL=" + srv.URL(), "GITHUB_WORKSPACE=" + dir, "RUNNER_TEMP=" + dir,
		"GITHUB_STEP_SUMMARY=" + summary, "GITHUB_OUTPUT=" + output,
		"INPUT_TOKEN=" + token, "INPUT_OWNER=" + owner, "INPUT_PACKAGES=" + packages,
		"INPUT_REGISTRY-URL=" + srv.URL(), "INPUT_CACHE-DIR=" + cache,
		// What only the peer reads: ghcr-prune takes the API from GITHUB_API_URL.
		"INPUT_GITHUB-API-URL=" + srv.URL(),
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
	}
	if profiles != "" {
		env = append(env, "GHCR_PRUNE_PPROF="+profiles)
	}
	inputs := map[string]string{"dry-run": "true"}
	maps.Copy(inputs, cfg.inputs)
	for k, v := range inputs {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return env, nil
}

func measure(ctx context.Context, srv *fakeghcr.Server, argv []string, dir, cache string, cfg config, profiles string) (measurement, error) {
	env, err := runnerEnv(srv, dir, cache, cfg, profiles)
	if err != nil {
		return measurement{}, err
	}
	srv.ResetStats()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	err = cmd.Start()
	var hwm int64
	if err == nil {
		done := make(chan struct{})
		polled := make(chan int64)
		go func() { polled <- pollHighWater(cmd.Process.Pid, done) }()
		err = cmd.Wait()
		close(done)
		hwm = <-polled
	}
	wall := time.Since(start)
	// Kept beside the summary, for -keep.
	if werr := os.WriteFile(filepath.Join(dir, "log"), log.Bytes(), 0o644); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return measurement{}, fmt.Errorf("%v\n%s", err, tail(log.String(), 3000))
	}
	st := srv.Stats()
	m := measurement{wall: wall, manifestGets: st.ManifestGets, stats: st}
	for _, n := range st.REST {
		m.rest += n
	}
	m.otherRegistry = st.Total - m.rest - m.manifestGets
	m.maxRSS = hwm
	m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if m.maxRSS == 0 {
		// No /proc: the rusage, which on Linux also counts the bench's
		// own memory (see pollHighWater).
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss << 10 // kilobytes on Linux
		}
	}
	return m, nil
}

// pollHighWater reads the process's peak RSS (VmHWM) until done, and
// returns the last it read. The rusage of a child is not the binary's own:
// Go starts children with the parent's memory shared until exec (vfork), and
// Linux carries that memory's high-water mark into the child's, so the
// bench's own RSS (the fake with 100,000 versions) would be reported as the
// binary's. VmHWM belongs to the memory the binary maps after exec. Read
// every 10 ms, it can miss growth in the process's last 10 ms.
func pollHighWater(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var last int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			if n := vmHWM(b); n > last {
				last = n
			}
		}
		select {
		case <-done:
			return last
		case <-tick.C:
		}
	}
}

// vmHWM is the VmHWM line of /proc/<pid>/status in bytes, 0 without one.
func vmHWM(status []byte) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb << 10
		}
	}
	return 0
}

// boundOf is the time the requests a run made take at the manifest
// concurrency: what no client that makes them can beat.
func boundOf(m measurement, latency time.Duration) time.Duration {
	requests := m.rest + m.manifestGets
	return time.Duration(math.Ceil(float64(requests)/concurrency)) * latency
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
