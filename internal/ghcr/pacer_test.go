package ghcr

import (
	"context"
	"testing"
	"time"
)

func TestPacerBurstsThenHoldsTheRate(t *testing.T) {
	now := time.Unix(0, 0)
	var waited time.Duration
	p := newPacer(150, 20)
	p.now = func() time.Time { return now }
	p.sleep = func(_ context.Context, d time.Duration) error { waited += d; now = now.Add(d); return nil }
	for range 20 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if waited != 0 {
		t.Fatalf("the first 20 DELETEs waited %v", waited)
	}
	for range 150 {
		p.wait(context.Background())
	}
	// 150 more at 150 a minute take a minute: 170 in the first minute stays
	// under GitHub's 180 (900 points, 5 a DELETE).
	if waited < 59*time.Second || waited > 61*time.Second {
		t.Errorf("150 paced DELETEs waited %v, want about a minute", waited)
	}
}

func TestNilPacerDoesNotWait(t *testing.T) {
	var p *pacer
	if err := p.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
