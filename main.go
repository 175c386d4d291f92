// Command ghcr-prune is a GitHub Action that deletes old container images
// from GitHub Container Registry without breaking an image anyone still
// pulls: it deletes only package versions that nothing kept can reach. Run
// with flags, or outside GitHub Actions, it is the same engine as a command
// line (see internal/cli).
package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
	"github.com/ghcr-prune/ghcr-prune/internal/cli"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// actionYAML is the action's metadata as GitHub reads it. The binary carries
// it so that the defaults the runner applies and the ones the code applies
// are the same text, and so that the command line's flags are the inputs.
//
//go:embed action.yml
var actionYAML []byte

// memoryLimit is a soft limit for the Go runtime's memory: the garbage
// collector works harder rather than let a package of 100,000 versions grow
// the process past it (GOMEMLIMIT overrides it). It is not a cap: a larger
// package still runs. At 100,000 versions the live heap peaks near 62 MiB;
// this limit holds the process to about 93 MiB at little cost to a warm
// run. 76 MiB measured no smaller and a quarter slower, 96 MiB 103 MiB.
const memoryLimit = 84 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	meta, err := action.ParseMetadata(actionYAML)
	if err != nil {
		// A binary whose action.yml does not parse was never tested.
		fmt.Fprintln(os.Stderr, "ghcr-prune:", err)
		os.Exit(1)
	}
	setup := action.Setup{Metadata: meta, Tool: toolName(), Now: time.Now()}
	args := os.Args[1:]
	if cli.IsCommandLine(args, os.Getenv) {
		os.Exit(commandLine(args, setup))
	}
	runAction(setup)
}

// commandLine runs ghcr-prune as a command line with the process's own
// terminal, environment and signals.
func commandLine(args []string, setup action.Setup) int {
	ctx, stop := cli.Interruptible(context.Background(), os.Stderr)
	defer stop()
	return cli.Main(ctx, cli.Env{
		Args:           args,
		Stdin:          os.Stdin,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		Getenv:         os.Getenv,
		StdinTerminal:  cli.IsTerminal(os.Stdin),
		StdoutTerminal: cli.IsTerminal(os.Stdout),
		StderrTerminal: cli.IsTerminal(os.Stderr),
		Setup:          setup,
	})
}

// runAction is the Docker action: inputs from INPUT_* variables, progress
// on long work as plain lines in the log.
func runAction(setup action.Setup) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := action.NewLogBuffer(os.Stdout, logFlushInterval)
	defer log.Close() // a panic's message then follows the lines before it
	a := githubactions.New(githubactions.WithWriter(log))
	progress := prune.NewProgress(nil)
	stopProgress := cli.ShowProgress(progress, cli.NewStatus(log, false, 0), cli.ProgressInterval)
	_, err := action.Run(prune.WithProgress(ctx, progress), a, setup)
	stopProgress()
	if err != nil {
		a.Errorf("%v", err)
		log.Close()
		os.Exit(1)
	}
}

// logFlushInterval is how long a log line may wait in the buffer: short
// next to how fast anyone reads a log, long next to a line's write.
const logFlushInterval = 200 * time.Millisecond
