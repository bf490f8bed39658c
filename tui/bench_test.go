package tui

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// largeSnapshot is a busy gateway: 500 alerts, 200 pending and 1000 active
// decisions, documentation addresses only.
func largeSnapshot() Snapshot {
	s := fixtureSnapshot()
	nth := func(i int) netip.Addr {
		switch i % 3 {
		case 0:
			return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		case 1:
			return netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		}
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
	}
	base := s.Alerts[0]
	s.Alerts = make([]engine.Alert, 500)
	for i := range s.Alerts {
		a := base
		a.ID = fmt.Sprintf("A%05d", i)
		a.Time = t0.Add(-time.Duration(i) * time.Second)
		a.Source = nth(i)
		a.Risk = float64(i*37%100) / 10
		a.Scenario = []string{"ssh-bruteforce", "ssh-user-enum", "ids-exploit", "ssh-campaign"}[i%4]
		s.Alerts[i] = a
	}
	basePending := s.Pending[0]
	s.Pending = make([]Pending, 200)
	for i := range s.Pending {
		p := basePending
		p.Decision.ID = fmt.Sprintf("D%05d", i)
		p.Decision.Target = netip.PrefixFrom(nth(i), nth(i).BitLen())
		p.Wide = i%10 == 0
		s.Pending[i] = p
	}
	baseActive := s.Active[0]
	s.Active = make([]Active, 1000)
	for i := range s.Active {
		a := baseActive
		a.Decision.ID = fmt.Sprintf("D1%05d", i)
		a.Decision.Target = netip.PrefixFrom(nth(i), nth(i).BitLen())
		a.Decision.Expires = t0.Add(time.Duration(i) * time.Minute)
		s.Active[i] = a
	}
	return s
}

type staticConsole struct {
	s  Snapshot
	ev []LiveEvent
}

func (c staticConsole) Snapshot(context.Context) (Snapshot, error) { return c.s, nil }
func (staticConsole) Approve(context.Context, string) error        { return nil }
func (staticConsole) Reject(context.Context, string, string) error { return nil }
func (staticConsole) Rollback(context.Context, string) error       { return nil }
func (staticConsole) ApproveEdited(context.Context, string, time.Duration, []string) error {
	return nil
}
func (staticConsole) Extend(context.Context, string, time.Duration) error { return nil }
func (staticConsole) Ack(context.Context, string) error                   { return nil }
func (staticConsole) Silence(context.Context, []string, time.Duration, string) (string, error) {
	return "s1", nil
}

func (c staticConsole) Incidents(context.Context, bool) ([]engine.Incident, error) {
	return c.s.Incidents, nil
}

func (staticConsole) Incident(_ context.Context, id string) (IncidentDetail, error) {
	return IncidentDetail{Incident: engine.Incident{ID: id}}, nil
}

func (staticConsole) IncidentAct(_ context.Context, op IncidentOp) (engine.Incident, error) {
	return engine.Incident{ID: op.ID}, nil
}

func (c staticConsole) Events(_ context.Context, after uint64) ([]LiveEvent, error) {
	for i, le := range c.ev {
		if le.Seq > after {
			return c.ev[i:], nil
		}
	}
	return nil, nil
}

// largeEvents is a full live buffer: liveCap events of the fixture's mix.
func largeEvents() []LiveEvent {
	evs := make([]LiveEvent, liveCap)
	for i := range evs {
		evs[i] = LiveEvent{Seq: uint64(i + 1), Event: fixtureEvent(i)}
	}
	return evs
}

// BenchmarkView is the cost of drawing one frame at 132×40: what every
// changed frame costs the console, whatever the event rate.
func BenchmarkView(b *testing.B) {
	c := staticConsole{largeSnapshot(), largeEvents()}
	for _, tc := range []struct{ name, key string }{
		{"overview", "1"}, {"events", "2"}, {"alerts", "3"}, {"pending", "4"}, {"decisions", "5"}, {"audit", "6"}, {"incidents", "7"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := loaded(b, c, 132, 40)
			m.Update(press(tc.key))
			if n := len(m.live.buf); n != liveCap {
				b.Fatalf("live view holds %d events, want %d", n, liveCap)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.dirty = true
				_ = m.View()
			}
		})
	}
	b.Run("unchanged", func(b *testing.B) {
		// A message that changed nothing: the cached frame.
		m := loaded(b, c, 132, 40)
		_ = m.View()
		b.ReportAllocs()
		for b.Loop() {
			_ = m.View()
		}
	})
}

// BenchmarkSnapshotUpdate is the cost of taking in one large snapshot:
// sorting, re-finding selections, clamping.
func BenchmarkSnapshotUpdate(b *testing.B) {
	s := largeSnapshot()
	m := loaded(b, staticConsole{s: s}, 132, 40)
	m.Update(press("3"))
	msg := snapshotMsg{snap: s}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(msg)
	}
}

// BenchmarkEventsIngest is the cost of taking in one poll's worth of live
// events into a full, filtered buffer: matching, dropping the oldest,
// keeping the window in place.
func BenchmarkEventsIngest(b *testing.B) {
	const batch = 500
	st := NewStyles()
	v := newEvents(&st)
	v.SetSize(132, 37)
	f, err := parseFilter("source:203.0.113.0/24 type:ssh.auth failed")
	if err != nil {
		b.Fatal(err)
	}
	v.setFilter(f)
	evs := largeEvents()
	v.add(evs, nil)
	next := make([]LiveEvent, batch)
	seq := uint64(len(evs))
	b.ReportAllocs()
	for b.Loop() {
		for i := range next {
			seq++
			next[i] = LiveEvent{Seq: seq, Event: evs[int(seq)%len(evs)].Event}
		}
		v.add(next, nil)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
