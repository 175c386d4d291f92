package retention

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const d, w = 24 * time.Hour, 7 * 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"3d", 3 * d},
		{"2w", 2 * w},
		{"36h", 36 * time.Hour},
		{"1w2d", 9 * d},
		{"90m", 90 * time.Minute},
		{"45s", 45 * time.Second},
		{"1y", 365 * d},
		{"6mo", 180 * d},
		{"0d", 0},
		{"0s", 0},
		{"5 days", 5 * d},
		{"1 day", d},
		{"1 second", time.Second},
		{"6 months", 180 * d},
		{"30 years", 30 * 365 * d},
		{"2 weeks 3 days", 17 * d},
		{"1 hour 30 minutes", 90 * time.Minute},
		{"3 days, 4 hours", 3*d + 4*time.Hour},
		{"3d,4h", 3*d + 4*time.Hour},
		{"  7D  ", 7 * d},
		{"1 Week", w},
		{"2 HOURS", 2 * time.Hour},
		{"10min", 10 * time.Minute},
		{"5 mins 2 secs", 5*time.Minute + 2*time.Second},
		{"2hr", 2 * time.Hour},
		{"3 yrs", 3 * 365 * d},
		{"1m1mo", time.Minute + 30*d}, // m is minutes, mo is months
		{"1d 1d", 2 * d},
		{"007d", 7 * d},
		{"1y\t2mo", 365*d + 60*d},
		{"292y", 292 * 365 * d},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): unexpected error %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // substring of the message after the quoted input
	}{
		{"", "empty"},
		{"   ", "empty"},
		{",", "empty"},
		{"5", "number 5 needs a unit"},
		{"5 ", "number 5 needs a unit"},
		{"1d 5", "number 5 needs a unit"},
		{"5 dayz", `unknown unit "dayz" (use s, m, h, d, w, mo, y)`},
		{"5x", `unknown unit "x"`},
		{"5 Fortnights", `unknown unit "Fortnights"`},
		{"-5d", "negative"},
		{"1d -2h", "negative"},
		{"1.5d", "fractional"},
		{"1,5d", "fractional"},
		{".5d", "fractional"},
		{"d", `unit "d" has no number`},
		{"days 5", `unit "days" has no number`},
		{"+5d", `unexpected character '+'`},
		{"5d!", `unexpected character '!'`},
		{"５d", "unexpected character '５'"}, // fullwidth digit
		{"293y", "too long"},
		{"300 years", "too long"},
		{"200y 100y", "too long"},
		{"9223372036854775807s", "too long"},
		{"99999999999999999999999d", "too long"},
		{"106752d", "too long"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
			continue
		}
		msg := err.Error()
		prefix := "invalid duration " + strconv.Quote(tt.in) + ": "
		if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.wantErr) {
			t.Errorf("ParseDuration(%q) error = %q, want prefix %q and %q", tt.in, msg, prefix, tt.wantErr)
		}
		if strings.Contains(msg, "older-than") {
			t.Errorf("ParseDuration(%q) error %q names the input; the caller does that", tt.in, msg)
		}
	}
}

// The exact wording users will see for the most common mistake.
func TestParseDurationErrorMessage(t *testing.T) {
	_, err := ParseDuration("5 dayz")
	want := `invalid duration "5 dayz": unknown unit "dayz" (use s, m, h, d, w, mo, y)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"3d", "1w2d", "6mo", "5 days", "2 weeks 3 days", "3 days, 4 hours",
		"", "5", "-1d", "1.5d", "292y", "293y", "99999999999999999999s", "d", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Errorf("ParseDuration(%q) = %v with error %v; want 0", s, d, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid duration "+strconv.Quote(s)) {
				t.Errorf("ParseDuration(%q) error %q does not quote the input", s, err)
			}
			return
		}
		if d < 0 {
			t.Errorf("ParseDuration(%q) = %v, want non-negative", s, d)
		}
	})
}
