package retention

import (
	"fmt"
	"math"
	"time"
)

// Time is an instant as a version keeps it: nanoseconds since the Unix
// epoch in UTC, 8 bytes where a time.Time takes 24, twice for each of a
// package's 100,000 versions. The zero Time is the zero time.Time. In JSON
// it is what its time.Time is.
type Time int64

// Instants a Time can hold: those UnixNano can tell apart from the zero Time.
var (
	earliest = time.Unix(0, math.MinInt64+1)
	latest   = time.Unix(0, math.MaxInt64)
)

// TimeOf is t as a Time, clamped to the years 1678 to 2262 it can hold.
func TimeOf(t time.Time) Time {
	switch {
	case t.IsZero():
		return 0
	case t.Before(earliest):
		t = earliest
	case t.After(latest):
		t = latest
	}
	if n := t.UnixNano(); n != 0 {
		return Time(n)
	}
	return 1 // the epoch itself, a nanosecond on, apart from the zero Time
}

// Time is t as a time.Time, in UTC.
func (t Time) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(t)).UTC()
}

func (t Time) IsZero() bool { return t == 0 }

func (t Time) Compare(u Time) int {
	switch {
	case t < u:
		return -1
	case t > u:
		return 1
	}
	return 0
}

func (t Time) MarshalJSON() ([]byte, error) { return t.Time().MarshalJSON() }

// UnmarshalJSON reads what time.Time does, and refuses an instant a Time
// cannot hold rather than move it.
func (t *Time) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if err := tt.UnmarshalJSON(b); err != nil {
		return err
	}
	if !tt.IsZero() && (tt.Before(earliest) || tt.After(latest)) {
		return fmt.Errorf("time %s is outside the years 1678 to 2262", tt.Format(time.RFC3339))
	}
	*t = TimeOf(tt)
	return nil
}
