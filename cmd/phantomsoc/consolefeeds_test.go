package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/parse"
)

// feedTestLines parses attackLines into events.
func feedTestLines(t testing.TB, text string) []engine.Event {
	t.Helper()
	p, err := parse.New(parse.Options{Format: parse.FormatSSHD, Ref: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var out []engine.Event
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		ev, ok, err := p.Parse(l, int64(i+1))
		if err != nil || !ok {
			t.Fatalf("Parse(%q) = %v, %v", l, ok, err)
		}
		out = append(out, ev)
	}
	return out
}

// TestEventRingKeepsWhatEachEventFed runs a brute force through the stages
// a console's process builds, tapping each event into the ring as the
// engine does: each retained event carries the scenarios it fed with the
// bucket level right after it — the same feeds `parse --explain` shows.
func TestEventRingKeepsWhatEachEventFed(t *testing.T) {
	st, explain := defaultStages(t, true), defaultStages(t, false)
	ring := newEventRing(st.feeds)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	evs := feedTestLines(t, attackLines(start, "203.0.113.50", 8, 1000))
	var want [][]engine.Feed
	for i := range evs {
		ev, same := evs[i], evs[i]
		st.pipeline.Process(&ev, nil)
		ring.Add(&ev)
		var tr engine.Trace
		explain.pipeline.Process(&same, &tr)
		want = append(want, tr.Feeds)
	}
	got := ring.After(0)
	if len(got) != len(evs) {
		t.Fatalf("ring holds %d events, want %d", len(got), len(evs))
	}
	prev := -1.0
	fired := false
	for i, le := range got {
		if !slices.Equal(le.Feeds, want[i]) {
			t.Errorf("event %d fed %+v, parse --explain says %+v", le.Seq, le.Feeds, want[i])
		}
		j := slices.IndexFunc(le.Feeds, func(f engine.Feed) bool { return f.Scenario == "ssh-bruteforce" })
		if j < 0 {
			t.Fatalf("event %d fed %+v, want ssh-bruteforce among them", le.Seq, le.Feeds)
		}
		f := le.Feeds[j]
		if f.Key != "203.0.113.50" || f.Capacity != 6 {
			t.Errorf("event %d: ssh-bruteforce feed %+v, want key 203.0.113.50, capacity 6", le.Seq, f)
		}
		if !fired && f.Level <= prev {
			t.Errorf("event %d: ssh-bruteforce level %.2f after %.2f, want it rising until it fires", le.Seq, f.Level, prev)
		}
		prev = f.Level
		fired = fired || f.Fired
	}
	if !fired {
		t.Errorf("no event fired ssh-bruteforce: %+v", got)
	}
	// What After handed out is a copy: the ring reusing its slots does
	// not change it.
	before := slices.Clone(got[0].Feeds)
	for range ringSize {
		ev := evs[0]
		ev.Time = ev.Time.Add(time.Hour)
		st.pipeline.Process(&ev, nil)
		ring.Add(&ev)
	}
	if !slices.Equal(got[0].Feeds, before) {
		t.Errorf("feeds handed out changed when the ring wrapped: %+v, were %+v", got[0].Feeds, before)
	}
}

// TestFeedRecorderTakesOnlyItsEvent: an event the detector did not see
// last gets no feeds, and a caller's own trace (parse --explain over the
// same stages) is filled as before.
func TestFeedRecorderTakesOnlyItsEvent(t *testing.T) {
	st := defaultStages(t, true)
	evs := feedTestLines(t, attackLines(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "198.51.100.9", 2, 1000))
	st.pipeline.Process(&evs[0], nil)
	if got := st.feeds.take(&evs[1]); got != nil {
		t.Errorf("take(another event) = %+v, want nil", got)
	}
	var tr engine.Trace
	st.pipeline.Process(&evs[1], &tr)
	if len(tr.Feeds) == 0 {
		t.Error("a caller's trace stayed empty")
	}
	if got := st.feeds.take(&evs[1]); got != nil {
		t.Errorf("take after a traced Process = %+v, want nil (the caller has them)", got)
	}
}

// defaultStages are the default config's stages, feeding or not, closed
// when tb ends.
func defaultStages(tb testing.TB, feeds bool) *stages {
	tb.Helper()
	cfg, err := loadConfig("")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := buildStagesFeeding(&cfg, nil, nil, feeds)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkPipelineLineTap is BenchmarkPipelineLine with the console's tap:
// each event copied into the ring, without and with what it fed. The
// difference between the two is what recording feeds costs a process that
// keeps events for consoles.
func BenchmarkPipelineLineTap(b *testing.B) {
	data, err := writeSynth(filepath.Join(b.TempDir(), "auth.log"), 1, 200000, 1)
	if err != nil {
		b.Fatal(err)
	}
	lines := splitLines(data)
	for _, feeds := range []bool{false, true} {
		b.Run(map[bool]string{false: "ring", true: "ring+feeds"}[feeds], func(b *testing.B) {
			st := defaultStages(b, feeds)
			ring := newEventRing(st.feeds)
			p, err := parse.New(parse.Options{Format: parse.FormatSSHD, Ref: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ev, ok, _ := p.Parse(lines[i%len(lines)], int64(i))
				if ok && !st.pipeline.Process(&ev, nil).Duplicate {
					ring.Add(&ev)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
