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

type staticConsole struct{ s Snapshot }

func (c staticConsole) Snapshot(context.Context) (Snapshot, error) { return c.s, nil }
func (staticConsole) Approve(context.Context, string) error        { return nil }
func (staticConsole) Reject(context.Context, string, string) error { return nil }
func (staticConsole) Rollback(context.Context, string) error       { return nil }

// BenchmarkView is the cost of drawing one frame at 132×40: what every
// changed frame costs the console, whatever the event rate.
func BenchmarkView(b *testing.B) {
	c := staticConsole{largeSnapshot()}
	for _, tc := range []struct{ name, key string }{
		{"overview", "1"}, {"alerts", "2"}, {"pending", "3"}, {"decisions", "4"}, {"audit", "5"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := loaded(b, c, 132, 40)
			m.Update(press(tc.key))
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
	m := loaded(b, staticConsole{s}, 132, 40)
	m.Update(press("2"))
	msg := snapshotMsg{snap: s}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(msg)
	}
}
