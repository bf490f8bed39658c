package route

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// wed is a Wednesday afternoon in Paris (13:00 CET), morning in New York.
var wed = time.Date(2024, 1, 10, 12, 0, 0, 0, time.UTC)

// al builds an alert identified by key; kv are extra "label=value" pairs
// the scenario sets (role, country).
func al(key, scenario, host string, sev, risk float64, kv ...string) *engine.Alert {
	a := &engine.Alert{Key: key, Scenario: scenario, Host: host, Severity: sev, Risk: risk,
		Source: netip.MustParseAddr("198.51.100.7")}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		if k == "gateways" {
			a.Blast.Gateways = strings.Split(v, ",")
			continue
		}
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		a.Labels[k] = v
	}
	return a
}

// op is one thing that happens at start+at; the dispatcher is ticked at
// every Next() before it and right after it.
type op struct {
	at      time.Duration
	add     *engine.Alert
	resolve string // alert key
	ack     string // alert key
	silence []string
	until   time.Duration // silence end, from start
	expire  string        // silence ID
}

type harness struct {
	t     testing.TB
	start time.Time
	now   time.Time
	d     *Dispatcher
	fps   map[string]string // alert key → fingerprint
	lines []line
	// saved is the state as a caller saving every Changes holds it.
	saved *savedState
}

type line struct {
	at time.Time
	s  string
}

func newHarness(t testing.TB, r *Router, start time.Time) *harness {
	h := &harness{t: t, start: start, now: start, fps: map[string]string{}, saved: newSavedState()}
	d, err := NewDispatcher(r, Options{Now: func() time.Time { return h.now }, TrackChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	return h
}

func (h *harness) collect(ns []Notification) {
	h.t.Helper()
	h.saved.check(h.t, h.d)
	for _, n := range ns {
		var as []string
		for _, a := range n.Alerts {
			if a.Status == StatusResolved {
				as = append(as, "resolved:"+a.Alert.Key)
			} else {
				as = append(as, a.Alert.Key)
			}
		}
		s := fmt.Sprintf("%v %s %s L%d [%s]", n.At.Sub(h.start), n.Receiver, n.Status, n.Level, strings.Join(as, " "))
		if n.Silenced {
			s += " silenced"
		}
		h.lines = append(h.lines, line{n.At, s})
	}
}

// drain ticks at every Next() before t (through t when inclusive).
func (h *harness) drain(t time.Time, inclusive bool) {
	for {
		next := h.d.Next()
		if next.IsZero() || next.After(t) || (!inclusive && next.Equal(t)) {
			return
		}
		h.now = next
		h.collect(h.d.Tick(next))
	}
}

func (h *harness) apply(o op) {
	h.t.Helper()
	at := h.start.Add(o.at)
	h.drain(at, false)
	h.now = at
	switch {
	case o.add != nil:
		h.fps[o.add.Key] = h.d.Add(o.add)
	case o.resolve != "":
		if err := h.d.Resolve(h.fps[o.resolve], at); err != nil {
			h.t.Fatalf("Resolve(%s) = %v", o.resolve, err)
		}
	case o.ack != "":
		if _, err := h.d.Ack(h.fps[o.ack], "alice", at); err != nil {
			h.t.Fatalf("Ack(%s) = %v", o.ack, err)
		}
	case o.silence != nil:
		if _, err := h.d.AddSilence(Silence{Matchers: o.silence, StartsAt: at, EndsAt: h.start.Add(o.until), CreatedBy: "alice", Comment: "maintenance"}); err != nil {
			h.t.Fatalf("AddSilence = %v", err)
		}
	case o.expire != "":
		if err := h.d.ExpireSilence(o.expire, at); err != nil {
			h.t.Fatalf("ExpireSilence = %v", err)
		}
	}
	h.collect(h.d.Tick(at))
}

func (h *harness) result() []string {
	slices.SortStableFunc(h.lines, func(a, b line) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	out := make([]string, len(h.lines))
	for i, l := range h.lines {
		out[i] = l.s
	}
	return out
}

// script runs ops then drains through until; with split >= 0 it restarts
// before op split from the state saved change by change (which reads back
// as Export), as a restart would.
func script(t testing.TB, r *Router, start time.Time, ops []op, until time.Duration, split int) (*harness, []string) {
	h := newHarness(t, r, start)
	for i, o := range ops {
		if i == split {
			h.drain(start.Add(o.at), false)
			h.restart(r)
		}
		h.apply(o)
	}
	h.drain(start.Add(until), true)
	return h, h.result()
}

func (h *harness) restart(r *Router) {
	h.t.Helper()
	// The records saved change by change read back as Export (check fails
	// otherwise), through JSON: restarting from them restarts from both.
	h.saved.check(h.t, h.d)
	d, err := NewDispatcher(r, Options{Now: func() time.Time { return h.now }, TrackChanges: true})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := d.Import(h.saved.state()); err != nil {
		h.t.Fatalf("Import = %v", err)
	}
	h.d = d
}

type dispatchCase struct {
	name  string
	start time.Time // wed when zero
	ops   []op
	until time.Duration
	want  []string
	// active is how many groups remain at the end.
	active int
}

var dispatchCases = []dispatchCase{
	{
		name: "group_wait collects, group_interval batches changes, group_by splits",
		ops: []op{
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: 10 * time.Second, add: al("a2", "port-scan", "web1", 5, 4)},
			{at: 45 * time.Second, add: al("a3", "port-scan", "web1", 5, 4)},
			{at: time.Minute, add: al("b1", "port-scan", "db1", 5, 4)},
		},
		until: 12 * time.Minute,
		want: []string{
			"30s ops firing L1 [a1 a2]",
			"1m30s ops firing L1 [b1]",
			"5m30s ops firing L1 [a1 a2 a3]",
		},
		active: 2,
	},
	{
		name: "a repeated alert is deduplicated and repeats only after repeat_interval",
		ops: []op{
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: time.Minute, add: al("a1", "port-scan", "web1", 5, 5)},
			{at: 2 * time.Hour, add: al("a1", "port-scan", "web1", 5, 6)},
		},
		until: 4*time.Hour + 10*time.Minute,
		want: []string{
			"30s ops firing L1 [a1]",
			"4h0m30s ops firing L1 [a1]",
		},
		active: 1,
	},
	{
		name: "resolution is notified once and the group closes",
		ops: []op{
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: 2 * time.Minute, resolve: "a1"},
		},
		until: 30 * time.Minute,
		want: []string{
			"30s ops firing L1 [a1]",
			"5m30s ops resolved L1 [resolved:a1]",
		},
	},
	{
		name: "resolved within group_wait is recorded, not sent",
		ops: []op{
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: 10 * time.Second, resolve: "a1"},
		},
		until: 10 * time.Minute,
		want:  []string{"30s ops resolved L1 [resolved:a1] silenced"},
	},
	{
		name: "a flap inside one group_interval sends nothing",
		ops: []op{
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: time.Minute, resolve: "a1"},
			{at: 2 * time.Minute, add: al("a1", "port-scan", "web1", 5, 4)},
		},
		until:  20 * time.Minute,
		want:   []string{"30s ops firing L1 [a1]"},
		active: 1,
	},
	{
		name: "continue: a serious SSH attack from abroad pages and reaches geo",
		ops: []op{
			{at: 0, add: al("s1", "ssh-bruteforce", "web1", 6, 8, "country=CN")},
		},
		until: time.Minute,
		want: []string{
			"0s pager firing L1 [s1]",
			"30s geo firing L1 [s1]",
		},
		active: 2,
	},
	{
		name: "lab alerts group one per alert",
		ops: []op{
			{at: 0, add: al("l1", "port-scan", "lab1", 5, 9, "role=lab")},
			{at: 0, add: al("l2", "port-scan", "lab1", 5, 9, "role=lab")},
		},
		until: time.Minute,
		want: []string{
			"30s lab-chan firing L1 [l1]",
			"30s lab-chan firing L1 [l2]",
		},
		active: 2,
	},
	{
		name: "inhibition: a critical alert on a host mutes its warnings while it fires",
		ops: []op{
			{at: 0, add: al("w1", "port-scan", "web1", 5, 4)},
			{at: 0, add: al("c1", "ids-exploit", "web1", 9.5, 6)},
			{at: 0, add: al("w2", "port-scan", "db1", 5, 4)},
			{at: 6 * time.Minute, resolve: "c1"},
		},
		until: 11 * time.Minute,
		want: []string{
			"30s ops firing L1 [c1]",
			"30s ops firing L1 [w2]",
			"10m30s ops firing L1 [w1]",
			"10m30s ops resolved L1 [resolved:c1]",
		},
		active: 2,
	},
	{
		name: "silenced alerts page nobody but their resolution is recorded",
		ops: []op{
			{at: 0, silence: []string{"host=web1"}, until: 2 * time.Hour},
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: 0, add: al("b1", "port-scan", "db1", 5, 4)},
			{at: 10 * time.Minute, resolve: "a1"},
		},
		until: 20 * time.Minute,
		want: []string{
			"30s ops firing L1 [b1]",
			"10m30s ops resolved L1 [resolved:a1] silenced",
		},
		active: 1,
	},
	{
		name: "an alert silenced after it paged still sends its resolution; expiry unmutes",
		ops: []op{
			{at: 0, add: al("a1", "port-scan", "web1", 5, 4)},
			{at: time.Minute, silence: []string{"scenario=~port-.*", "host=web1"}, until: 2 * time.Hour},
			{at: 2 * time.Minute, add: al("a2", "port-scan", "web1", 5, 4)},
			{at: 3 * time.Minute, add: al("a3", "port-scan", "web1", 5, 4)},
			{at: 4 * time.Minute, resolve: "a3"},
			{at: 7 * time.Minute, resolve: "a1"},
			{at: 20 * time.Minute, expire: "s1"},
		},
		until: 30 * time.Minute,
		want: []string{
			"30s ops firing L1 [a1]",
			"5m30s ops resolved L1 [resolved:a3] silenced",
			"10m30s ops resolved L1 [resolved:a1]",
			"20m30s ops firing L1 [a2]",
		},
		active: 1,
	},
	{
		name:   "mute window: Paris nights in winter (CET) hold geo until 08:00 Paris",
		start:  time.Date(2024, 1, 10, 21, 0, 0, 0, time.UTC), // 22:00 in Paris
		ops:    []op{{at: 0, add: al("g1", "port-scan", "web1", 5, 4, "country=CN")}},
		until:  11 * time.Hour,
		want:   []string{"10h0m30s geo firing L1 [g1]"}, // 07:00 UTC
		active: 1,
	},
	{
		name:   "mute window: Paris nights in summer (CEST) end an hour earlier in UTC",
		start:  time.Date(2024, 7, 10, 5, 0, 0, 0, time.UTC), // 07:00 in Paris
		ops:    []op{{at: 0, add: al("g1", "port-scan", "web1", 5, 4, "country=CN")}},
		until:  2 * time.Hour,
		want:   []string{"1h0m30s geo firing L1 [g1]"}, // 06:00 UTC
		active: 1,
	},
	{
		name:   "mute window: a Paris weekend then Monday's night",
		start:  time.Date(2024, 1, 13, 12, 0, 0, 0, time.UTC), // Saturday
		ops:    []op{{at: 0, add: al("g1", "port-scan", "web1", 5, 4, "country=CN")}},
		until:  44 * time.Hour,
		want:   []string{"43h0m30s geo firing L1 [g1]"}, // Monday 08:00 Paris
		active: 1,
	},
	{
		name:   "a source from FR is not routed to geo",
		ops:    []op{{at: 0, add: al("f1", "port-scan", "web1", 5, 4, "country=FR")}},
		until:  time.Minute,
		want:   []string{"30s ops firing L1 [f1]"},
		active: 1,
	},
	{
		name:  "active window: New York office hours (EDT, after the March switch)",
		start: time.Date(2024, 3, 11, 12, 0, 0, 0, time.UTC), // Monday 08:00 in New York
		ops: []op{
			{at: 0, add: al("e1", "port-scan", "web1", 5, 4, "gateways=gw-edge,gw-core")},
			{at: 0, add: al("e2", "ids-exploit", "web2", 8.5, 4, "gateways=gw-edge")},
		},
		until: 2 * time.Hour,
		want: []string{
			"1h0m30s audit firing L1 [e1]",
			"1h0m30s edge-pager firing L1 [e2]",
		},
		active: 2,
	},
	{
		name:  "escalation: level 2 after 15m, level 3 after 30m, then repeats to all",
		ops:   []op{{at: 0, add: al("s1", "ssh-bruteforce", "web1", 6, 8)}},
		until: 4*time.Hour + time.Minute,
		want: []string{
			"0s pager firing L1 [s1]",
			"15m0s lead firing L2 [s1]",
			"30m0s manager firing L3 [s1]",
			"4h0m0s lead firing L2 [s1]",
			"4h0m0s manager firing L3 [s1]",
			"4h0m0s pager firing L1 [s1]",
		},
		active: 1,
	},
	{
		name: "escalation: an acknowledgement stops the chain",
		ops: []op{
			{at: 0, add: al("s1", "ssh-bruteforce", "web1", 6, 8)},
			{at: 20 * time.Minute, ack: "s1"},
			{at: time.Hour + time.Minute, resolve: "s1"},
		},
		until: 2 * time.Hour,
		want: []string{
			"0s pager firing L1 [s1]",
			"15m0s lead firing L2 [s1]",
			"1h5m0s lead resolved L2 [resolved:s1]",
			"1h5m0s pager resolved L1 [resolved:s1]",
		},
	},
	{
		name: "escalation: acknowledged before level 2",
		ops: []op{
			{at: 0, add: al("s1", "ssh-bruteforce", "web1", 6, 8)},
			{at: 14 * time.Minute, ack: "s1"},
		},
		until:  time.Hour,
		want:   []string{"0s pager firing L1 [s1]"},
		active: 1,
	},
	{
		name: "escalation waits while the paged alert is silenced",
		ops: []op{
			{at: 0, add: al("s1", "ssh-bruteforce", "web1", 6, 8)},
			{at: 10 * time.Minute, silence: []string{"host=web1"}, until: 22 * time.Minute},
		},
		until: 40 * time.Minute,
		want: []string{
			"0s pager firing L1 [s1]",
			"25m0s lead firing L2 [s1]",
			"30m0s manager firing L3 [s1]",
		},
		active: 1,
	},
}

func TestDispatcher(t *testing.T) {
	r := loadTree(t)
	for _, tc := range dispatchCases {
		t.Run(tc.name, func(t *testing.T) {
			start := tc.start
			if start.IsZero() {
				start = wed
			}
			h, got := script(t, r, start, tc.ops, tc.until, -1)
			if !slices.Equal(got, tc.want) {
				t.Errorf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if n := len(h.d.groups); n != tc.active {
				t.Errorf("active groups = %d, want %d", n, tc.active)
			}
			if tc.active == 0 && (len(h.d.alerts) != 0 || !h.d.Next().IsZero()) {
				t.Errorf("after the last group closed: %d alerts kept, Next() = %v; want none", len(h.d.alerts), h.d.Next())
			}
		})
	}
}

// TestExportImport restarts the dispatcher before every op of every case,
// from the records saved change by change: the notifications must be
// exactly those of the uninterrupted run.
func TestExportImport(t *testing.T) {
	r := loadTree(t)
	for _, tc := range dispatchCases {
		start := tc.start
		if start.IsZero() {
			start = wed
		}
		_, want := script(t, r, start, tc.ops, tc.until, -1)
		for split := range tc.ops {
			t.Run(fmt.Sprintf("%s/restart before op %d", tc.name, split), func(t *testing.T) {
				_, got := script(t, r, start, tc.ops, tc.until, split)
				if !slices.Equal(got, want) {
					t.Errorf("after restart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

func TestNotificationKeys(t *testing.T) {
	r := loadTree(t)
	h := newHarness(t, r, wed)
	var keys []string
	record := func(ns []Notification) {
		for _, n := range ns {
			keys = append(keys, n.ID())
		}
	}
	fp := h.d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8))
	record(h.d.Tick(wed))
	record(h.d.Tick(wed.Add(15 * time.Minute)))
	if err := h.d.Resolve(fp, wed.Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	record(h.d.Tick(wed.Add(20 * time.Minute)))
	h.now = wed.Add(21 * time.Minute)
	h.d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8))
	record(h.d.Tick(h.now))
	g := `route.routes[1]{host="web1",scenario="ssh-bruteforce"}`
	want := []string{
		g + "#1/1:pager", g + "#1/2:lead", g + "#1/3:pager", g + "#1/3:lead",
		g + "#2/1:pager", // a new episode is a new group: keys never repeat
	}
	if !slices.Equal(keys, want) {
		t.Errorf("notification IDs:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
}

func TestDedupKeepsLatestData(t *testing.T) {
	r := loadTree(t)
	h := newHarness(t, r, wed)
	h.d.Add(al("a1", "port-scan", "web1", 5, 4))
	h.d.Tick(wed.Add(30 * time.Second))
	h.now = wed.Add(time.Minute)
	h.d.Add(al("a1", "port-scan", "web1", 5, 6.5))
	ns := h.d.Tick(wed.Add(4*time.Hour + 30*time.Second))
	if len(ns) != 1 || len(ns[0].Alerts) != 1 {
		t.Fatalf("Tick at repeat = %+v, want one notification of one alert", ns)
	}
	if a := ns[0].Alerts[0]; a.Alert.Risk != 6.5 || a.Labels["risk"] != "6.5" || !a.StartsAt.Equal(wed) {
		t.Errorf("repeat carries risk %v (label %q), starts %v; want the update's 6.5 and the first start %v",
			a.Alert.Risk, a.Labels["risk"], a.StartsAt, wed)
	}
}

func TestAckUnknown(t *testing.T) {
	d, err := NewDispatcher(loadTree(t), Options{Now: func() time.Time { return wed }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Ack("nope", "bob", wed); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ack(unknown) = %v, want ErrNotFound", err)
	}
	if err := d.Resolve("nope", wed); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(unknown) = %v, want ErrNotFound", err)
	}
	if err := d.ExpireSilence("s9", wed); !errors.Is(err, ErrNotFound) {
		t.Errorf("ExpireSilence(unknown) = %v, want ErrNotFound", err)
	}
	fp := d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8))
	d.Tick(wed)
	keys, err := d.Ack(fp, "bob", wed)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Ack(fingerprint) = %v, %v; want one group", keys, err)
	}
	if _, err := d.Ack(keys[0], "bob", wed); err != nil {
		t.Errorf("Ack(group key %s) = %v", keys[0], err)
	}
}

func TestSilences(t *testing.T) {
	d, err := NewDispatcher(loadTree(t), Options{Now: func() time.Time { return wed }})
	if err != nil {
		t.Fatal(err)
	}
	bad := []Silence{
		{Matchers: nil, StartsAt: wed, EndsAt: wed.Add(time.Hour), CreatedBy: "a"},
		{Matchers: []string{"host=~("}, StartsAt: wed, EndsAt: wed.Add(time.Hour), CreatedBy: "a"},
		{Matchers: []string{"host=x"}, StartsAt: wed, EndsAt: wed, CreatedBy: "a"},
		{Matchers: []string{"host=x"}, StartsAt: wed, EndsAt: wed.Add(time.Hour)},
	}
	for _, s := range bad {
		if _, err := d.AddSilence(s); err == nil {
			t.Errorf("AddSilence(%+v) = nil error, want one", s)
		}
	}
	id, err := d.AddSilence(Silence{Matchers: []string{"host=web1"}, StartsAt: wed, EndsAt: wed.Add(time.Hour), CreatedBy: "alice", Comment: "patching"})
	if err != nil || id != "s1" {
		t.Fatalf("AddSilence = %q, %v; want s1", id, err)
	}
	if err := d.ExpireSilence(id, wed.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ss := d.Silences()
	if len(ss) != 1 || !ss[0].EndsAt.Equal(wed.Add(time.Minute)) || ss[0].Comment != "patching" || ss[0].Active(wed.Add(2*time.Minute)) {
		t.Errorf("Silences() = %+v, want s1 ended at +1m", ss)
	}
	d.Tick(wed.Add(25 * time.Hour))
	if ss := d.Silences(); len(ss) != 0 {
		t.Errorf("Silences() a day after expiry = %+v, want none", ss)
	}
}

// TestSynctestDriver runs the caller's loop — sleep until Next, Tick, an
// acknowledgement arriving from elsewhere — on synctest's fake clock.
func TestSynctestDriver(t *testing.T) {
	r := loadTree(t)
	synctest.Test(t, func(t *testing.T) {
		d, err := NewDispatcher(r, Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		fp := d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8))
		acks := make(chan time.Time)
		go func() {
			time.Sleep(20 * time.Minute)
			acks <- time.Now()
		}()
		var got []string
		deadline := time.After(time.Hour)
		for done := false; !done; {
			timer := time.NewTimer(time.Until(d.Next()))
			select {
			case now := <-timer.C:
				for _, n := range d.Tick(now) {
					got = append(got, fmt.Sprintf("%v %s L%d", now.Sub(start), n.Receiver, n.Level))
				}
			case at := <-acks:
				if _, err := d.Ack(fp, "bob", at); err != nil {
					t.Fatal(err)
				}
			case <-deadline:
				done = true
			}
			timer.Stop()
		}
		want := []string{"0s pager L1", "15m0s lead L2"}
		if !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestImportAfterConfigChange(t *testing.T) {
	r := loadTree(t)
	h := newHarness(t, r, wed)
	h.d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8))
	h.d.Tick(wed)
	st := h.d.Export()
	if len(st.Groups) != 1 || st.Groups[0].Route != "route.routes[1]" || !st.Groups[0].Entries[0].Notified {
		t.Fatalf("Export = %+v, want the notified ssh group", st.Groups)
	}

	// The new config has no ssh route: the alert goes back to the root.
	small, err := New(Config{Receivers: []string{"ops"}, Route: Route{Receiver: "ops", GroupWait: dur(0)}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(small, Options{Now: func() time.Time { return wed.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Import(st); err != nil {
		t.Fatalf("Import = %v", err)
	}
	ns := d.Tick(wed.Add(time.Minute))
	if len(ns) != 1 || ns[0].Route != "route" || ns[0].Receiver != "ops" {
		t.Errorf("Tick after import into a new tree = %+v, want the alert rerouted to ops", ns)
	}

	st.Version = 99
	if err := d.Import(st); err == nil {
		t.Error("Import(version 99) = nil error")
	}
}

// TestResolveTimeout: an alert the engine stops raising resolves after the
// timeout, and the resolution is notified at the group's next flush.
func TestResolveTimeout(t *testing.T) {
	cfg, err := Parse([]byte("receivers: [ops]\nroute: {receiver: ops, group_by: [scenario], group_wait: 0s, group_interval: 1m}\nresolve_timeout: 10m\n"), "rt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	now := t0
	d, err := NewDispatcher(r, Options{Now: func() time.Time { return now }, ResolveTimeout: time.Duration(*cfg.ResolveTimeout)})
	if err != nil {
		t.Fatal(err)
	}
	a := engine.Alert{ID: "al-1", Scenario: "ssh-bruteforce", Key: "203.0.113.5", Source: netip.MustParseAddr("203.0.113.5"), Risk: 6}
	d.Add(&a)
	if ns := d.Tick(now); len(ns) != 1 || ns[0].Status != StatusFiring {
		t.Fatalf("first tick = %+v, want one firing", ns)
	}
	// Raised again at 5m: the timeout counts from there.
	now = t0.Add(5 * time.Minute)
	d.Add(&a)
	for _, at := range []time.Duration{9 * time.Minute, 14 * time.Minute} {
		now = t0.Add(at)
		for _, n := range d.Tick(now) {
			if n.Status == StatusResolved {
				t.Fatalf("resolved at %s, before 10m of quiet", at)
			}
		}
	}
	var resolved []Notification
	for at := 15 * time.Minute; at <= 17*time.Minute; at += 30 * time.Second {
		now = t0.Add(at)
		for _, n := range d.Tick(now) {
			if n.Status == StatusResolved {
				resolved = append(resolved, n)
			}
		}
	}
	if len(resolved) != 1 {
		t.Fatalf("resolutions after 10m of quiet = %+v, want one", resolved)
	}
	if _, err := Parse([]byte("receivers: [ops]\nroute: {receiver: ops}\nresolve_timeout: 10x\n"), "bad.yaml"); err == nil {
		t.Error("a bad resolve_timeout was accepted")
	}
}
