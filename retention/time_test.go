package retention_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ghcr-prune/ghcr-prune/retention"
)

func TestTime(t *testing.T) {
	for _, tt := range []time.Time{
		time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 20, 12, 0, 0, 123456789, time.UTC),
		time.Date(2026, 11, 20, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		time.Unix(0, 0),
		{},
	} {
		got := retention.TimeOf(tt)
		if !got.Time().Equal(tt) && !(tt.Equal(time.Unix(0, 0)) && got.Time().Sub(tt) == time.Nanosecond) {
			t.Errorf("TimeOf(%v).Time() = %v", tt, got.Time())
		}
		if got.IsZero() != tt.IsZero() {
			t.Errorf("TimeOf(%v).IsZero() = %v", tt, got.IsZero())
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(got.Time())
		var back retention.Time
		if string(b) != string(want) || json.Unmarshal(b, &back) != nil || back != got {
			t.Errorf("%v: JSON %s (want %s), read back as %v", tt, b, want, back.Time())
		}
	}
	a, b := retention.TimeOf(time.Unix(10, 0)), retention.TimeOf(time.Unix(20, 0))
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Error("Compare does not order times")
	}
	if far := retention.TimeOf(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); far.Time().Year() != 2262 {
		t.Errorf("the year 3000 became %v, want the latest a Time holds", far.Time())
	}
	var tm retention.Time
	if err := json.Unmarshal([]byte(`"3000-01-01T00:00:00Z"`), &tm); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("a plan file's year 3000: %v, want an error", err)
	}
}
