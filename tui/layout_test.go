package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func TestFit(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"abc", 0, ""},
		{"▁▂▃", 4, "▁▂▃ "},
	}
	for _, tc := range tests {
		t.Run(tc.s, func(t *testing.T) {
			if got := fit(tc.s, tc.w); got != tc.want {
				t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
			}
		})
	}
}

func TestWidths(t *testing.T) {
	cols := []column{{min: 4}, {min: 10, max: 20}, {min: 6}}
	tests := []struct {
		name string
		w    int
		want []int
	}{
		{"roomy", 40, []int{4, 20, 6}},
		{"tight", 22, []int{4, 10, 6}},
		{"drops what does not fit", 18, []int{4, 13, 0}},
		{"grows with spare", 26, []int{4, 14, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := widths(cols, tc.w); !slices.Equal(got, tc.want) {
				t.Errorf("widths(%d) = %v, want %v", tc.w, got, tc.want)
			}
		})
	}
}

func TestSpan(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{12 * time.Second, "12s"},
		{4*time.Minute + 5*time.Second, "4m05s"},
		{time.Hour + 2*time.Minute, "1h02m"},
		{76 * time.Hour, "3d04h"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := span(tc.d); got != tc.want {
				t.Errorf("span(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		name string
		vals []float64
		w    int
		want string
	}{
		{"scaled to peak", []float64{0, 1, 2, 4, 8}, 5, "▁▂▃▅█"},
		{"keeps the newest", []float64{8, 0, 8}, 2, "▁█"},
		{"pads the left", []float64{1}, 3, "  █"},
		{"all zero", []float64{0, 0}, 2, "▁▁"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sparkline(tc.vals, tc.w); got != tc.want {
				t.Errorf("sparkline(%v, %d) = %q, want %q", tc.vals, tc.w, got, tc.want)
			}
		})
	}
}

// TestCountdown: the remaining TTL runs from the snapshot's time on the
// console's own clock, so it keeps counting between snapshots.
func TestCountdown(t *testing.T) {
	now := t0
	m := New(newFixture(), Options{Now: func() time.Time { return now }})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(m.call.snapshot()())
	m.Update(press("5"))
	if got := screen(m); !strings.Contains(got, "10m05s") {
		t.Fatalf("before tick: screen lacks 10m05s:\n%s", got)
	}
	now = t0.Add(65 * time.Second)
	m.Update(tickMsg{})
	if got := screen(m); !strings.Contains(got, "9m00s") {
		t.Errorf("after 65s: screen lacks 9m00s:\n%s", got)
	}
}
