// Command ghcr-prune is a GitHub Action that deletes old container images
// from GitHub Container Registry without breaking an image anyone still
// pulls: it deletes only package versions that nothing kept can reach.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
)

// actionYAML is the action's metadata as GitHub reads it. The binary carries
// it so that the defaults the runner applies and the ones the code applies
// are the same text.
//
//go:embed action.yml
var actionYAML []byte

// memoryLimit is a soft limit for the Go heap: the garbage collector works
// harder rather than let a package of 100,000 versions grow the process past
// it (GOMEMLIMIT overrides it). It is not a cap: a larger package still runs.
const memoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	demo := flag.Bool("demo", false, "run against a built-in fake GHCR holding the Logto incident's package, and print the job summary")
	showVersion := flag.Bool("version", false, "print the version and commit, then exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(toolName())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	meta, err := action.ParseMetadata(actionYAML)
	if err != nil {
		// A binary whose action.yml does not parse was never tested.
		fmt.Fprintln(os.Stderr, "ghcr-prune:", err)
		os.Exit(1)
	}
	setup := action.Setup{Metadata: meta, Tool: toolName(), Now: time.Now()}
	if *demo {
		if err := action.Demo(ctx, os.Stdout, setup); err != nil {
			fmt.Fprintln(os.Stderr, "ghcr-prune -demo:", err)
			os.Exit(1)
		}
		return
	}
	a := githubactions.New()
	if _, err := action.Run(ctx, a, setup); err != nil {
		a.Fatalf("%v", err)
	}
}
