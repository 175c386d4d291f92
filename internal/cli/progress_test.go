package cli

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

func TestProgressLine(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	tests := []struct {
		name  string
		state prune.ProgressState
		now   time.Duration
		want  string
	}{
		{"listing", prune.ProgressState{Package: "app", Stage: prune.Listing, Since: at(5 * time.Second)}, 17 * time.Second,
			"ghcr-prune 17s: app: listing versions (12s)"},
		{"listing with a known size", prune.ProgressState{Package: "app", Stage: prune.Listing, Since: at(0), Done: 2500, Total: 10000}, 10 * time.Second,
			"ghcr-prune 10s: app: listed 2,500 of 10,000 versions, 250/s, about 30s left"},
		{"manifests", prune.ProgressState{Package: "app", Stage: prune.Reading, Since: at(20 * time.Second), Listed: 100000, Done: 40000, Total: 100000, Fetched: 30000, FromCache: 10000},
			100 * time.Second, "ghcr-prune 1m40s: app: 100,000 versions listed; read 40,000 of 100,000 manifests (30,000 fetched, 10,000 from cache in all), 500/s, about 2m00s left"},
		{"deleting", prune.ProgressState{Package: "app", Stage: prune.Deleting, Deleting: true, DeleteSince: at(0), Deleted: 300, Planned: 9215},
			2 * time.Minute, "ghcr-prune 2m00s: app: deleted 300 of 9,215, 150/min, about 59m26s left"},
		{"re-reading between waves", prune.ProgressState{Package: "app", Stage: prune.Listing, Deleting: true, DeleteSince: at(0), Deleted: 3, Planned: 4},
			2 * time.Hour, "ghcr-prune 2h00m: app: deleted 3 of 4, 1.5/h, about 40m00s left; reading the package again"},
		{"nothing done yet", prune.ProgressState{Package: "app", Stage: prune.Deleting, Deleting: true, DeleteSince: at(0), Planned: 4},
			time.Minute, "ghcr-prune 1m00s: app: deleted 0 of 4"},
		{"tag removals", prune.ProgressState{Package: "app", Stage: prune.RemovingTags, Since: at(0), Done: 1, Total: 3}, time.Minute,
			"ghcr-prune 1m00s: app: removed 1 of 3 tags, 1.0/min, about 2m00s left"},
		{"before any package", prune.ProgressState{}, time.Second, "ghcr-prune 1s: looking up the owner and the packages"},
		{"between stages", prune.ProgressState{Package: "app"}, time.Second, "ghcr-prune 1s: app: working"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.state, start, at(tt.now)); got != tt.want {
			t.Errorf("%s:\n got  %q\n want %q", tt.name, got, tt.want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -5: "-5"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// On a terminal the progress is one line, rewritten in place and kept under
// the log lines; elsewhere each report is a line.
func TestStatus(t *testing.T) {
	var live strings.Builder
	s := NewStatus(&live, true, 20)
	s.Progress("one")
	s.Progress("two")
	s.Line("warning: x")
	s.Progress("a line far wider than the terminal")
	s.Clear()
	want := "\r\x1b[Kone\r\x1b[Ktwo\r\x1b[Kwarning: x\ntwo\r\x1b[Ka line far wider t…\r\x1b[K"
	if live.String() != want {
		t.Errorf("live:\n got  %q\n want %q", live.String(), want)
	}
	var plain strings.Builder
	s = NewStatus(&plain, false, 20)
	s.Progress("one")
	s.Line("warning: x")
	s.Progress("a line far wider than the terminal")
	s.Clear()
	if want := "one\nwarning: x\na line far wider than the terminal\n"; plain.String() != want {
		t.Errorf("plain:\n got  %q\n want %q", plain.String(), want)
	}
}

// syncBuffer is a strings.Builder safe for the reporter's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Work shorter than the interval is quiet; longer work reports every
// interval.
func TestShowProgress(t *testing.T) {
	var quiet syncBuffer
	stop := ShowProgress(prune.NewProgress(nil), NewStatus(&quiet, false, 0), time.Hour)
	stop()
	stop()
	if quiet.String() != "" {
		t.Errorf("short work reported progress: %q", quiet.String())
	}
	var busy syncBuffer
	stop = ShowProgress(prune.NewProgress(nil), NewStatus(&busy, false, 0), 5*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(busy.String(), "\n") < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop()
	if n := strings.Count(busy.String(), "ghcr-prune "); n < 3 {
		t.Errorf("%d reports: %q", n, busy.String())
	}
}
