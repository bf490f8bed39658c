package tui

import (
	"errors"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

// stream numbers the fixture's events from..to (inclusive) as the console
// would.
func stream(from, to int) []LiveEvent {
	var out []LiveEvent
	for i := from; i <= to; i++ {
		out = append(out, LiveEvent{Seq: uint64(i), Event: fixtureEvent(i)})
	}
	return out
}

func newTestEvents(w, h int) *events {
	st := NewStyles()
	v := newEvents(&st)
	v.SetSize(w, h)
	return v
}

func TestEventsAdd(t *testing.T) {
	tests := []struct {
		name  string
		polls [][]LiveEvent
		// want: buffered events, first and last Seq, gap markers.
		n, first, last int
		gaps           []uint64
	}{
		{name: "first poll is no gap", polls: [][]LiveEvent{stream(101, 110)}, n: 10, first: 101, last: 110},
		{name: "contiguous", polls: [][]LiveEvent{stream(1, 10), stream(11, 20)}, n: 20, first: 1, last: 20},
		{name: "gap", polls: [][]LiveEvent{stream(1, 10), stream(31, 35)}, n: 15, first: 1, last: 35, gaps: []uint64{20}},
		{name: "gap inside one answer", polls: [][]LiveEvent{stream(1, 2), append(stream(3, 4), stream(9, 9)...)}, n: 5, first: 1, last: 9, gaps: []uint64{4}},
		{name: "engine restarted: numbers start over after the shown ones", polls: [][]LiveEvent{stream(1, 10), stream(1, 3)}, n: 13, first: 1, last: 3},
		{name: "empty poll", polls: [][]LiveEvent{stream(1, 3), nil}, n: 3, first: 1, last: 3},
		{name: "bounded, oldest dropped", polls: [][]LiveEvent{stream(1, 1500), stream(1501, 3000)}, n: liveCap, first: 1001, last: 3000},
		{name: "one answer past the bound", polls: [][]LiveEvent{stream(1, 10), stream(11, 2510)}, n: liveCap, first: 511, last: 2510},
		{name: "gap dropped with its event", polls: [][]LiveEvent{stream(1, 10), stream(21, 30), stream(31, 2030)}, n: liveCap, first: 31, last: 2030},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestEvents(132, 40)
			for _, p := range tc.polls {
				v.add(p, nil)
			}
			if len(v.buf) != tc.n {
				t.Fatalf("buffered %d events, want %d", len(v.buf), tc.n)
			}
			if got := v.buf[0].Seq; got != uint64(tc.first) {
				t.Errorf("oldest Seq = %d, want %d", got, tc.first)
			}
			if got := v.after(); got != uint64(tc.last) {
				t.Errorf("after() = %d, want %d", got, tc.last)
			}
			var gaps []uint64
			events := 0
			for _, r := range v.rows {
				if r.gap {
					gaps = append(gaps, v.entry(r.abs).gap)
				} else {
					events++
				}
			}
			if events != tc.n {
				t.Errorf("%d event rows, want %d", events, tc.n)
			}
			if len(gaps) != len(tc.gaps) || (len(gaps) > 0 && gaps[0] != tc.gaps[0]) {
				t.Errorf("gap markers %v, want %v", gaps, tc.gaps)
			}
			if v.sel.pos != len(v.rows)-1 {
				t.Errorf("following selection at row %d of %d, want the last", v.sel.pos, len(v.rows))
			}
		})
	}
}

// TestEventsPausedStaysPut: while paused, new events and the buffer
// dropping older ones keep the selection on the same event.
func TestEventsPausedStaysPut(t *testing.T) {
	v := newTestEvents(80, 20)
	v.add(stream(1, 1000), nil)
	v.pause()
	v.sel.move(-100, len(v.rows), v.rowsH())
	selSeq := v.entry(v.rows[v.sel.pos].abs).Seq
	top := v.rows[v.sel.top].abs
	v.add(stream(1001, 1500), nil)
	if got := v.entry(v.rows[v.sel.pos].abs).Seq; got != selSeq {
		t.Errorf("selection moved to Seq %d, want %d", got, selSeq)
	}
	if got := v.fresh(); got != 500 {
		t.Errorf("fresh() = %d, want 500", got)
	}
	v.add(stream(1501, 2500), nil)
	if got := v.entry(v.rows[v.sel.pos].abs).Seq; got != selSeq {
		t.Errorf("after dropping the oldest, selection on Seq %d, want %d", got, selSeq)
	}
	if got := v.rows[v.sel.top].abs; got != top {
		t.Errorf("window top moved from entry %d to %d", top, got)
	}
	if got := v.fresh(); got != 1500 {
		t.Errorf("fresh() = %d, want 1500", got)
	}
	// Once the selected event itself is dropped the selection holds the
	// oldest kept.
	v.add(stream(2501, 4000), nil)
	if got := v.entry(v.rows[v.sel.pos].abs).Seq; got != 2001 {
		t.Errorf("selection on Seq %d, want the oldest kept, 2001", got)
	}
}

func TestEventsFilterKeepsSelection(t *testing.T) {
	v := newTestEvents(80, 20)
	v.add(stream(1, 45), nil)
	v.pause()
	// Seq 43 is an ssh.auth.failure from 203.0.113.53.
	for i, r := range v.rows {
		if v.entry(r.abs).Seq == 43 {
			v.sel.pos = i
		}
	}
	f, err := parseFilter("source:203.0.113.0/24")
	if err != nil {
		t.Fatal(err)
	}
	v.setFilter(f)
	if got := v.entry(v.rows[v.sel.pos].abs).Seq; got != 43 {
		t.Errorf("selection on Seq %d after filtering, want 43", got)
	}
	v.setFilter(eventFilter{})
	if got := v.entry(v.rows[v.sel.pos].abs).Seq; got != 43 {
		t.Errorf("selection on Seq %d after clearing, want 43", got)
	}
}

// TestEventsRedraw: the frame is redrawn only when the live view shows
// something new.
func TestEventsRedraw(t *testing.T) {
	fx := newFixture()
	m := loaded(t, fx, 80, 24)
	_ = m.View()
	m.Update(eventsMsg{})
	if m.dirty {
		t.Errorf("an empty Events answer redraws the overview")
	}
	addMore(3)(fx)
	pollEvents(m)
	if m.dirty {
		t.Errorf("new events redraw the overview, which does not show them")
	}
	m.Update(press("2"))
	_ = m.View()
	m.Update(eventsMsg{})
	if m.dirty {
		t.Errorf("an empty Events answer redraws the live view")
	}
	addMore(3)(fx)
	pollEvents(m)
	if !m.dirty {
		t.Errorf("new events do not redraw the live view")
	}
	_ = m.View()
	m.Update(eventsMsg{err: errors.New("events: timeout")})
	if !m.dirty {
		t.Errorf("an Events error does not show")
	}
}

// TestEventsHostileText: what an attacker writes into a log line never
// reaches the terminal as control sequences.
func TestEventsHostileText(t *testing.T) {
	fx := newFixture()
	fx.addEvents(engine.Event{
		Time: t0, Type: engine.TypeSSHInvalidUser, Indicator: true, Source: addr("203.0.113.66"),
		User: "\x1b]52;c;cm0gLXJmIH4=\x07root", Program: "sshd", Origin: "/var/log/auth.log\x1b[2J", Line: 7,
		Raw: "Invalid user \x1b]52;c;cm0gLXJmIH4=\x07root from 203.0.113.66\tport 22\r",
	})
	m := loaded(t, fx, 132, 40)
	m.Update(press("2"))
	for _, frame := range []string{m.View().Content, func() string { m.Update(press("enter")); return m.View().Content }()} {
		for _, bad := range []string{"\x1b]", "\x07", "\x1b[2J", "\r", "\t"} {
			if strings.Contains(frame, bad) {
				t.Errorf("frame carries %q:\n%s", bad, frame)
			}
		}
		if !strings.Contains(frame, "\uFFFD]52;c;") {
			t.Errorf("frame lacks the neutralised sequence:\n%s", frame)
		}
	}
}

func TestClipLeft(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"/var/log/auth.log:1027", 30, "/var/log/auth.log:1027"},
		{"/var/log/auth.log:1027", 12, "…th.log:1027"},
		{"abc", 0, ""},
	}
	for _, tc := range tests {
		if got := clipLeft(tc.s, tc.w); got != tc.want || displayWidth(got) > tc.w {
			t.Errorf("clipLeft(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}
