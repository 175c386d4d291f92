package action

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while the flusher writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogBufferFlushesWithinItsIntervalAndAtClose(t *testing.T) {
	var out lockedBuffer
	b := NewLogBuffer(&out, 5*time.Millisecond)
	b.Write([]byte("first\n"))
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "first\n" {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the log holds %q, want the line written", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	b.Write([]byte("last\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nlast\n" {
		t.Errorf("after Close the log holds %q", got)
	}
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// Lines written through one LogBuffer from many goroutines arrive whole.
func TestLogBufferKeepsLinesWhole(t *testing.T) {
	var out lockedBuffer
	b := NewLogBuffer(&out, time.Millisecond)
	line := strings.Repeat("x", 999) + "\n"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte(line))
			}
		})
	}
	wg.Wait()
	b.Close()
	for i, l := range strings.SplitAfter(out.String(), "\n") {
		if l != line && l != "" {
			t.Fatalf("line %d is %d bytes, want whole lines of %d", i, len(l), len(line))
		}
	}
}
