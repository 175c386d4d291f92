package ghcr

import (
	"context"
	"sync"
	"time"
)

// pacer is a token bucket for DELETEs: a small run goes at full speed, a
// large one settles at a rate GitHub's secondary limit never sees. A nil
// pacer does not wait.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	burst    float64
	tokens   float64
	last     time.Time
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

func newPacer(perMinute, burst int) *pacer {
	return &pacer{interval: time.Minute / time.Duration(perMinute), burst: float64(burst), tokens: float64(burst), now: time.Now, sleep: sleep}
}

func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	if !p.last.IsZero() {
		p.tokens = min(p.burst, p.tokens+float64(now.Sub(p.last))/float64(p.interval))
	}
	p.last = now
	p.tokens--
	var wait time.Duration
	if p.tokens < 0 {
		wait = time.Duration(-p.tokens * float64(p.interval))
	}
	p.mu.Unlock()
	if wait == 0 {
		return nil
	}
	return p.sleep(ctx, wait)
}
