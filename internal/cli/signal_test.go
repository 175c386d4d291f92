//go:build unix

package cli

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The first Ctrl-C cancels the run's context with ErrInterrupted, and says
// what happens next.
func TestInterruptible(t *testing.T) {
	var stderr syncBuffer
	ctx, stop := Interruptible(context.Background(), &stderr)
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-C did not stop the run")
	}
	if !errors.Is(context.Cause(ctx), ErrInterrupted) {
		t.Errorf("cause %v", context.Cause(ctx))
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "stopping after the request in flight") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "Ctrl-C again to quit at once") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// Stopping without a signal ends the context and the watcher.
func TestInterruptibleStop(t *testing.T) {
	ctx, stop := Interruptible(context.Background(), &syncBuffer{})
	stop()
	if !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Errorf("cause %v", context.Cause(ctx))
	}
}
