package ghcr

import (
	"context"
	"testing"
	"time"
)

func TestPacerBurstsThenHoldsTheRate(t *testing.T) {
	now := time.Unix(0, 0)
	var waited time.Duration
	p := deletePacer(0)
	p.now = func() time.Time { return now }
	p.sleep = func(_ context.Context, d time.Duration) error { waited += d; now = now.Add(d); return nil }
	for range deleteBurst {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if waited != 0 {
		t.Fatalf("the first 20 DELETEs waited %v", waited)
	}
	for range DefaultDeletesPerMinute {
		p.wait(context.Background())
	}
	// A minute's pace after the burst takes a minute, and the burst with it
	// stays under GitHub's 180 a minute (900 points, 5 a DELETE).
	if waited < 59*time.Second || waited > 61*time.Second {
		t.Errorf("%d paced DELETEs waited %v, want about a minute", DefaultDeletesPerMinute, waited)
	}
	if n := deleteBurst + DefaultDeletesPerMinute; n*5 > 900 {
		t.Errorf("a minute can hold %d DELETEs, %d points; GitHub allows 900", n, n*5)
	}
	if pace := float64(DefaultDeletesPerMinute) / 180; pace < 0.85 {
		t.Errorf("a long run keeps %.2f of the 180 a minute GitHub allows, want at least 0.85", pace)
	}
}

func TestNilPacerDoesNotWait(t *testing.T) {
	var p *pacer
	if err := p.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
