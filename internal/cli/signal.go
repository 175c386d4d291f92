package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrInterrupted is the cause of a run stopped by Ctrl-C (or SIGTERM).
var ErrInterrupted = errors.New("interrupted")

// Interruptible is parent, cancelled with ErrInterrupted at the first Ctrl-C
// or SIGTERM: a run then stops after the request in flight and still writes
// its plan file and summary. A second one exits at once.
func Interruptible(parent context.Context, stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(stderr, "\nghcr-prune: stopping after the request in flight (Ctrl-C again to quit at once)")
		cancel(ErrInterrupted)
		<-sigs
		os.Exit(130)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}
