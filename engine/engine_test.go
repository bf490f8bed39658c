package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sliceSource hands over fixed batches, then ends (like a replayed file).
type sliceSource struct {
	batches []Batch
	err     error
}

func (s *sliceSource) Name() string { return "slice" }
func (s *sliceSource) Run(ctx context.Context, out chan<- Batch) error {
	for _, b := range s.batches {
		select {
		case out <- b:
		case <-ctx.Done():
			return nil
		}
	}
	return s.err
}

// countDetector fires an alert on every third indicator from one source.
type countDetector struct{ n map[netip.Addr]int }

func (d *countDetector) Observe(ev *Event, tr *Trace) []Alert {
	if !ev.Indicator {
		return nil
	}
	d.n[ev.Source]++
	tr.Add(Feed{Scenario: "three", Key: ev.Source.String(), Level: float64(d.n[ev.Source]), Capacity: 3})
	if d.n[ev.Source]%3 != 0 {
		return nil
	}
	return []Alert{{Time: ev.Time, Scenario: "three", Source: ev.Source, Propose: ActionBlock, Severity: 5}}
}

type fixedAssessor struct{}

func (fixedAssessor) Assess(a *Alert) { a.Risk = a.Severity; a.Confidence = 1 }

type blockDecider struct{}

func (blockDecider) Decide(a *Alert) []Decision {
	return []Decision{{Time: a.Time, Action: ActionBlock, Target: netip.PrefixFrom(a.Source, a.Source.BitLen()), TTL: time.Hour, State: StateActive}}
}

type memStore struct {
	mu      sync.Mutex
	commits []*Commit
	failAt  int
	// indicators copies what each commit carried: the engine reuses the
	// slices once Commit returns.
	indicators []Indicator
}

func (m *memStore) Commit(_ context.Context, c *Commit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && len(m.commits)+1 >= m.failAt {
		return errors.New("disk full")
	}
	m.commits = append(m.commits, c)
	m.indicators = append(m.indicators, c.Indicators...)
	return nil
}

func (m *memStore) all() (alerts []Alert, decisions []Decision, cps []Checkpoint, st Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.commits {
		alerts = append(alerts, c.Alerts...)
		decisions = append(decisions, c.Decisions...)
		cps = append(cps, c.Checkpoints...)
		st.Add(c.Stats)
	}
	return
}

type recordSink struct{ ids []string }

func (r *recordSink) Committed(c *Commit) {
	for _, d := range c.Decisions {
		r.ids = append(r.ids, d.ID)
	}
}

func fail(src string, sec int) Event {
	return Event{Time: time.Date(2026, 11, 23, 10, 0, sec, 0, time.UTC), Type: TypeSSHAuthFailure,
		Indicator: true, Source: netip.MustParseAddr(src), SourcePort: uint16(40000 + sec)}
}

func newTestPipeline(t *testing.T, dedup time.Duration) *Pipeline {
	t.Helper()
	p, err := NewPipeline(PipelineOptions{Dedup: dedup, Detector: &countDetector{n: map[netip.Addr]int{}},
		Assessor: fixedAssessor{}, Decider: blockDecider{}, FirstSeq: 41})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEngineRunCommitsEverythingInOrder(t *testing.T) {
	var batches []Batch
	for i := range 10 {
		b := Batch{Lines: 4, Checkpoint: &Checkpoint{Origin: "auth.log", Offset: int64(100 * (i + 1)), Line: int64(4 * (i + 1))}}
		for j := range 3 {
			b.Events = append(b.Events, fail("198.51.100.7", i*3+j))
		}
		b.Events = append(b.Events, Event{Type: TypeSSHOther, Time: time.Date(2026, 11, 23, 10, 0, i, 0, time.UTC)})
		batches = append(batches, b)
	}
	st := &memStore{}
	sink := &recordSink{}
	e, err := New(Options{Sources: []Source{&sliceSource{batches: batches}}, Pipeline: newTestPipeline(t, 0), Store: st, Sinks: []Sink{sink}, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatalf("Run = %v", err)
	}
	alerts, decisions, cps, stats := st.all()
	if len(alerts) != 10 || len(decisions) != 10 {
		t.Fatalf("got %d alerts, %d decisions, want 10 and 10", len(alerts), len(decisions))
	}
	if alerts[0].ID != "al-00000042" || decisions[0].ID != "de-00000043" || decisions[0].AlertID != "al-00000042" {
		t.Errorf("first IDs = %s %s (alert %s), want al-00000042 de-00000043", alerts[0].ID, decisions[0].ID, decisions[0].AlertID)
	}
	ids := slices.Clone(sink.ids)
	if !slices.IsSorted(ids) || len(ids) != 10 {
		t.Errorf("sink saw decisions %v, want 10 in order", ids)
	}
	if last := cps[len(cps)-1]; last.Offset != 1000 || last.Line != 40 {
		t.Errorf("last checkpoint = %+v, want offset 1000 line 40", last)
	}
	want := Stats{Lines: 40, Events: 40, Indicators: 30, Alerts: 10, Decisions: 10}
	if stats != want || e.Stats() != want {
		t.Errorf("stats = %+v (engine %+v), want %+v", stats, e.Stats(), want)
	}
}

// TestEngineCommitLines checks a replay's writer gathers commits up to the
// line threshold, loses nothing, and hands every indicator over intact
// although their slices are reused.
func TestEngineCommitLines(t *testing.T) {
	var batches []Batch
	for i := range 10 {
		b := Batch{Lines: 4}
		for j := range 3 {
			b.Events = append(b.Events, fail(fmt.Sprintf("198.51.100.%d", i*3+j), i*3+j))
		}
		batches = append(batches, b)
	}
	st := &memStore{}
	e, err := New(Options{Sources: []Source{&sliceSource{batches: batches}}, Pipeline: newTestPipeline(t, 0), Store: st,
		Queue: 1, GroupCommit: 8, CommitLines: 12})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for i, c := range st.commits {
		if last := i == len(st.commits)-1; c.Stats.Lines < 12 && !last {
			t.Errorf("commit %d covers %d lines, want at least 12 before the last", i, c.Stats.Lines)
		}
	}
	if len(st.commits) > 4 {
		t.Errorf("%d commits for 40 lines at 12 lines each, want at most 4", len(st.commits))
	}
	if len(st.indicators) != 30 {
		t.Fatalf("store got %d indicators, want 30", len(st.indicators))
	}
	for i, ind := range st.indicators {
		if want := netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", i)); ind.Source != want {
			t.Errorf("indicator %d = %v, want %v", i, ind.Source, want)
		}
	}
	if got := e.Stats().Lines; got != 40 {
		t.Errorf("lines = %d, want 40", got)
	}
}

// TestEngineNoIndicators checks that NoIndicators empties only what the
// store indexes: the counts, alerts and decisions stay.
func TestEngineNoIndicators(t *testing.T) {
	tests := []struct {
		name         string
		noIndicators bool
		want         int // indicators the store receives
	}{
		{name: "default", want: 30},
		{name: "no indicators", noIndicators: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var batches []Batch
			for i := range 10 {
				b := Batch{Lines: 4}
				for j := range 3 {
					b.Events = append(b.Events, fail("198.51.100.7", i*3+j))
				}
				b.Events = append(b.Events, Event{Type: TypeSSHOther, Time: time.Date(2026, 11, 23, 10, 0, i, 0, time.UTC)})
				batches = append(batches, b)
			}
			st := &memStore{}
			e, err := New(Options{Sources: []Source{&sliceSource{batches: batches}}, Pipeline: newTestPipeline(t, 0), Store: st,
				Queue: 1, GroupCommit: 4, CommitLines: 8, NoIndicators: tc.noIndicators})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Run(t.Context()); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if got := len(st.indicators); got != tc.want {
				t.Errorf("store got %d indicators, want %d", got, tc.want)
			}
			alerts, decisions, _, stats := st.all()
			want := Stats{Lines: 40, Events: 40, Indicators: 30, Alerts: 10, Decisions: 10}
			if len(alerts) != 10 || len(decisions) != 10 || stats != want {
				t.Errorf("got %d alerts, %d decisions, stats %+v; want 10, 10, %+v", len(alerts), len(decisions), stats, want)
			}
		})
	}
}

func TestEngineStoreFailureStopsAndReports(t *testing.T) {
	var batches []Batch
	for i := range 50 {
		batches = append(batches, Batch{Lines: 1, Events: []Event{fail("203.0.113.5", i)}})
	}
	st := &memStore{failAt: 2}
	e, err := New(Options{Sources: []Source{&sliceSource{batches: batches}}, Pipeline: newTestPipeline(t, 0), Store: st, GroupCommit: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Run = %v, want the store's error", err)
	}
}

func TestEngineSourceFailureIsReturned(t *testing.T) {
	src := &sliceSource{batches: []Batch{{Lines: 1}}, err: errors.New("permission denied")}
	e, err := New(Options{Sources: []Source{src}, Pipeline: newTestPipeline(t, 0), Store: &memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "source slice: permission denied") {
		t.Fatalf("Run = %v, want the source's error", err)
	}
}

func TestEngineRejectsAreCounted(t *testing.T) {
	src := &sliceSource{batches: []Batch{{Lines: 3, Rejects: []Reject{{Origin: "x", Line: 2, Reason: "truncated JSON"}}}}}
	st := &memStore{}
	e, _ := New(Options{Sources: []Source{src}, Pipeline: newTestPipeline(t, 0), Store: st})
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.Stats().Rejected; got != 1 {
		t.Errorf("Rejected = %d, want 1", got)
	}
	if len(st.commits) != 1 || len(st.commits[0].Rejects) != 1 {
		t.Errorf("reject not committed: %+v", st.commits)
	}
}

func TestPipelineDedup(t *testing.T) {
	p := newTestPipeline(t, 2*time.Second)
	ev := fail("198.51.100.7", 1)
	tests := []struct {
		name string
		ev   Event
		dup  bool
	}{
		{"first", ev, false},
		{"same event again", ev, true},
		{"same event 1s later", func() Event { e := ev; e.Time = e.Time.Add(time.Second); return e }(), true},
		{"other port", func() Event { e := ev; e.SourcePort++; return e }(), false},
		{"after the window", func() Event { e := ev; e.Time = e.Time.Add(10 * time.Second); return e }(), false},
	}
	for _, tc := range tests {
		ev := tc.ev
		if got := p.Process(&ev, nil).Duplicate; got != tc.dup {
			t.Errorf("%s: Duplicate = %v, want %v", tc.name, got, tc.dup)
		}
	}
}

func TestPipelineTrace(t *testing.T) {
	p := newTestPipeline(t, 0)
	var tr Trace
	for i := range 3 {
		ev := fail("2001:db8::7", i)
		p.Process(&ev, &tr)
	}
	if len(tr.Feeds) != 3 || tr.Feeds[2].Level != 3 {
		t.Errorf("feeds = %+v, want 3 with the last at level 3", tr.Feeds)
	}
}

func TestCommitMergeKeepsLatestCheckpoint(t *testing.T) {
	a := mergeCommits([]*Commit{
		{Checkpoints: []Checkpoint{{Origin: "a", Offset: 1}}, Seq: 3, Alerts: []Alert{{ID: "al-1"}}},
		{Checkpoints: []Checkpoint{{Origin: "a", Offset: 9}, {Origin: "b", Offset: 2}}, Seq: 7, Alerts: []Alert{{ID: "al-2"}}},
	}, nil)
	if len(a.Alerts) != 2 || a.Alerts[0].ID != "al-1" || a.Alerts[1].ID != "al-2" {
		t.Errorf("merged alerts = %+v, want al-1 then al-2", a.Alerts)
	}
	want := []Checkpoint{{Origin: "a", Offset: 9}, {Origin: "b", Offset: 2}}
	if !slices.Equal(a.Checkpoints, want) || a.Seq != 7 {
		t.Errorf("merge = %+v seq %d, want %+v seq 7", a.Checkpoints, a.Seq, want)
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := NewHistogram()
	for range 98 {
		h.Observe(10 * time.Microsecond)
	}
	h.Observe(3 * time.Millisecond)
	h.Observe(3 * time.Millisecond)
	if got := h.Quantile(0.5); got != 16*time.Microsecond {
		t.Errorf("p50 = %v, want 16µs", got)
	}
	if got := h.Quantile(0.99); got != 4096*time.Microsecond {
		t.Errorf("p99 = %v, want 4.096ms", got)
	}
}

func TestDeduperFoldsWithinWindowOnly(t *testing.T) {
	d := NewDeduper(time.Second)
	// Many distinct events between two copies of one: the copy is still
	// folded while the table has room.
	first := fail("198.51.100.7", 0)
	if d.Duplicate(&first) {
		t.Fatal("first event folded")
	}
	for i := range 1000 {
		ev := fail("203.0.113.9", 0)
		ev.SourcePort = uint16(i)
		d.Duplicate(&ev)
	}
	again := first
	again.Time = again.Time.Add(500 * time.Millisecond)
	if !d.Duplicate(&again) {
		t.Error("copy 500ms later not folded")
	}
	late := first
	late.Time = late.Time.Add(2 * time.Second)
	if d.Duplicate(&late) {
		t.Error("copy after the window folded")
	}
}

// TestDeduperUsesTheSourcesFingerprint checks an event whose source
// computed Ident folds with a copy that did not.
func TestDeduperUsesTheSourcesFingerprint(t *testing.T) {
	d := NewDeduper(time.Second)
	first := fail("198.51.100.7", 0)
	first.Ident = Identity(&first)
	if first.Ident == 0 || d.Duplicate(&first) {
		t.Fatalf("first: Ident %x, folded", first.Ident)
	}
	plain := fail("198.51.100.7", 0)
	if !d.Duplicate(&plain) {
		t.Error("copy without Ident not folded")
	}
	other := fail("198.51.100.8", 0)
	other.Ident = Identity(&other)
	if d.Duplicate(&other) {
		t.Error("another source folded")
	}
}

func TestDedupIdentitySeparatesFields(t *testing.T) {
	base := fail("198.51.100.7", 0)
	base.User, base.Host = "ab", "c"
	moved := base
	moved.User, moved.Host = "a", "bc"
	v6 := base
	v6.Source = netip.MustParseAddr("::ffff:198.51.100.7")
	long := base
	long.User = "averyveryverylongusername1"
	long2 := base
	long2.User = "averyveryverylongusername2"
	ids := map[uint64]string{}
	for name, ev := range map[string]Event{"base": base, "moved": moved, "v6": v6, "long": long, "long2": long2} {
		id := Identity(&ev)
		if other, ok := ids[id]; ok {
			t.Errorf("%s and %s hash alike", name, other)
		}
		ids[id] = name
	}
	again := base
	if Identity(&again) != Identity(&base) {
		t.Error("identity is not deterministic")
	}
}

// TestHashStringTails: the tail of a string is read in overlapping loads;
// every byte and the length must still count.
func TestHashStringTails(t *testing.T) {
	words := []string{
		"", "\x00", "\x00\x00", "a", "aa", "aaa", "ab", "ba", "abc", "acb", "bac",
		"abcd", "abce", "abcde", "abcdf", "abXde", "abcdef", "abcdeg", "abcXef", "abcdefg", "abcdefh", "abcXefg", "abcdefg\x00",
		"abcdefgh", "abcdefgX", "Xbcdefgh", "abcdefghi", "abcdefghX", "abcdefghij", "abcdefgh\x00",
		"ssh.auth.failure", "ssh.auth.failurf", "ssh.auth.failure\x00", "root", "roo", "root\x00",
	}
	seen := map[uint64]string{}
	for _, w := range words {
		h := hashString(0x9e3779b97f4a7c15, w)
		if other, ok := seen[h]; ok {
			t.Errorf("hashString(%q) = hashString(%q)", w, other)
		}
		seen[h] = w
	}
}

func TestPipelineIDs(t *testing.T) {
	tests := []struct {
		first uint64
		want  string
	}{
		{0, "al-00000001"},
		{41, "al-00000042"},
		{99999998, "al-99999999"},
		{99999999, "al-100000000"},
		{1<<64 - 2, "al-18446744073709551615"},
	}
	for _, tc := range tests {
		p := &Pipeline{seq: tc.first}
		if got := p.nextID("al"); got != tc.want {
			t.Errorf("nextID after %d = %q, want %q", tc.first, got, tc.want)
		}
	}
}

// TestEngineTapSeesEachEventOnce: the console's tap gets every event that
// passed dedup, in order, and none that dedup folded.
func TestEngineTapSeesEachEventOnce(t *testing.T) {
	ev := fail("198.51.100.7", 1)
	other := fail("198.51.100.8", 2)
	batches := []Batch{{Lines: 3, Events: []Event{ev, ev, other}}}
	var seen []netip.Addr
	e, err := New(Options{Sources: []Source{&sliceSource{batches: batches}}, Pipeline: newTestPipeline(t, 2*time.Second), Store: &memStore{},
		Tap: func(ev *Event) { seen = append(seen, ev.Source) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != ev.Source || seen[1] != other.Source {
		t.Fatalf("tap saw %v, want %s then %s", seen, ev.Source, other.Source)
	}
}

func TestEngineReportsItsQueues(t *testing.T) {
	e, err := New(Options{Sources: []Source{&sliceSource{}}, Pipeline: newTestPipeline(t, 0), Store: &memStore{}, Queue: 3})
	if err != nil {
		t.Fatal(err)
	}
	if q := e.Queues(); len(q) != 0 {
		t.Fatalf("queues before Run = %+v, want none", q)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	q := e.Queues()
	if len(q) != 2 || q[0].Stage != "process" || q[0].Cap != 3 || q[1].Stage != "store" || q[1].Depth != 0 {
		t.Fatalf("queues = %+v, want process and store, capacity 3, drained", q)
	}
}
