package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

// ProgressInterval is how often long work reports its progress. The first
// report comes after one interval, so work shorter than that is quiet.
const ProgressInterval = 10 * time.Second

// Status is where the log and the progress go (stderr on the command line,
// the log in Actions). On a terminal (live) the progress is one line,
// rewritten in place under the log lines; elsewhere each report is a line of
// its own. It is safe for concurrent use.
type Status struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	width int    // of the terminal: a longer live line would wrap and not be erased
	shown string // the live line on screen now
}

// NewStatus writes to w, with a live progress line when live.
func NewStatus(w io.Writer, live bool, width int) *Status {
	if width <= 0 {
		width = 80
	}
	return &Status{w: w, live: live, width: width}
}

// clearLine erases a live line: back to the start of the line, then erase to its end.
const clearLine = "\r\x1b[K"

// Line writes a line of the log, above the live progress line.
func (s *Status) Line(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown != "" {
		io.WriteString(s.w, clearLine)
	}
	io.WriteString(s.w, text+"\n")
	if s.shown != "" {
		io.WriteString(s.w, s.shown)
	}
}

// Progress shows a progress report.
func (s *Status) Progress(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live {
		io.WriteString(s.w, text+"\n")
		return
	}
	if n := utf8.RuneCountInString(text); n >= s.width {
		text = string([]rune(text)[:s.width-2]) + "…"
	}
	io.WriteString(s.w, clearLine+text)
	s.shown = text
}

// Clear erases the live progress line, before output that follows it.
func (s *Status) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown != "" {
		io.WriteString(s.w, clearLine)
		s.shown = ""
	}
}

// ShowProgress reports p on s every interval (the first after one
// interval) until stop is called; stop clears a live line.
func ShowProgress(p *prune.Progress, s *Status, every time.Duration) (stop func()) {
	if every <= 0 {
		every = ProgressInterval
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s.Progress(progressLine(p.State(), start, now))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			s.Clear()
		})
	}
}

// progressLine says what the run is doing: versions listed, manifests read
// (fetched and from the cache), deletions done of planned, with the rate
// and the time left.
func progressLine(s prune.ProgressState, start, now time.Time) string {
	line := "ghcr-prune " + clock(now.Sub(start)) + ": "
	if s.Package != "" {
		line += s.Package + ": "
	}
	switch {
	case s.Deleting:
		line += fmt.Sprintf("deleted %s of %s", count(s.Deleted), count(s.Planned))
		line += pace(s.Deleted, s.Planned, now.Sub(s.DeleteSince), time.Minute, "min")
		if s.Stage == prune.Listing || s.Stage == prune.Reading {
			line += "; reading the package again"
		}
	case s.Stage == prune.Listing && s.Total > 0:
		line += fmt.Sprintf("listed %s of %s versions", count(s.Done), count(s.Total)) + pace(s.Done, s.Total, now.Sub(s.Since), time.Second, "s")
	case s.Stage == prune.Listing:
		line += "listing versions (" + clock(now.Sub(s.Since)) + ")"
	case s.Stage == prune.Reading:
		line += fmt.Sprintf("%s versions listed; read %s of %s manifests (%s fetched, %s from cache in all)",
			count(s.Listed), count(s.Done), count(s.Total), count(s.Fetched), count(s.FromCache))
		line += pace(s.Done, s.Total, now.Sub(s.Since), time.Second, "s")
	case s.Stage == prune.RemovingTags:
		line += fmt.Sprintf("removed %s of %s tags", count(s.Done), count(s.Total)) + pace(s.Done, s.Total, now.Sub(s.Since), time.Minute, "min")
	case s.Package == "":
		line += "looking up the owner and the packages"
	default:
		line += "working"
	}
	return line
}

// pace is ", N/unit, about T left" for done of total in elapsed; a rate
// below one a unit is given a unit larger (per minute, then per hour).
func pace(done, total int, elapsed, unit time.Duration, unitName string) string {
	if done <= 0 || elapsed <= 0 {
		return ""
	}
	perUnit := func(u time.Duration) float64 { return float64(done) / (float64(elapsed) / float64(u)) }
	rate := perUnit(unit)
	for _, larger := range []struct {
		unit time.Duration
		name string
	}{{time.Minute, "min"}, {time.Hour, "h"}} {
		if rate < 1 && larger.unit > unit {
			unit, unitName, rate = larger.unit, larger.name, perUnit(larger.unit)
		}
	}
	out := ", " + strconv.FormatFloat(rate, 'f', rateDecimals(rate), 64) + "/" + unitName
	if total > done {
		left := time.Duration(float64(total-done) / rate * float64(unit))
		out += ", about " + clock(left) + " left"
	}
	return out
}

func rateDecimals(rate float64) int {
	if rate < 10 {
		return 1
	}
	return 0
}

// clock is a duration as people read it: 45s, 3m05s, 2h10m.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// count writes n with thousands separators: 100,000.
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
