package detect

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// failures builds a stream of ssh failures from n sources (IPv4 and IPv6)
// against one host.
func failures(n int) []engine.Event {
	users := []string{"root", "admin", "ubuntu", "test", "oracle", "git"}
	evs := make([]engine.Event, n)
	for i := range evs {
		src := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		if i%4 == 3 {
			src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, byte(i >> 8), byte(i), 15: 1})
		}
		typ := engine.TypeSSHAuthFailure
		if i%3 == 0 {
			typ = engine.TypeSSHInvalidUser
		}
		evs[i] = engine.Event{
			Type: typ, Indicator: true, Source: src, SourcePort: 40000, Host: "gw1",
			Program: "sshd", User: users[i%len(users)], Method: "password",
			Raw: "Mar  2 10:00:00 gw1 sshd[1200]: Failed password for root from 203.0.113.1 port 40000 ssh2",
		}
	}
	return evs
}

// BenchmarkObserve feeds ssh failures through the bundled scenarios, 1ms
// of event time apart, after one warm-up round that creates the keys.
//
//   - hot: 4,096 rotating sources, each back every ~4s: buckets fill, fire
//     and sit in blackhole; the steady state of an ongoing attack.
//
//   - churn: 65,536 rotating sources, each back every ~65s: buckets drain
//     in between, so keys are collected and created again all the time.
//
//     go test ./engine/detect -run '^$' -bench Observe -benchmem
func BenchmarkObserve(b *testing.B) {
	for _, tc := range []struct {
		name    string
		sources int
	}{{"hot", 1 << 12}, {"churn", 1 << 16}} {
		b.Run(tc.name, func(b *testing.B) {
			d := defaultDetector(b)
			evs := failures(tc.sources)
			base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			i := 0
			for ; i < len(evs); i++ {
				evs[i].Time = base.Add(time.Duration(i) * time.Millisecond)
				d.Observe(&evs[i], nil)
			}
			warm := i
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				ev := &evs[i&(len(evs)-1)]
				ev.Time = base.Add(time.Duration(i) * time.Millisecond)
				d.Observe(ev, nil)
				i++
			}
			b.ReportMetric(float64(i-warm)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64(d.Keys()), "keys")
		})
	}
}

// BenchmarkKeyMemory reports the heap held per active key: 10,000 sources
// with three failures each, spread so that nothing fires.
func BenchmarkKeyMemory(b *testing.B) {
	evs := failures(10_000)
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var perKey, perSource float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d := defaultDetector(b)
		for round := range 3 {
			for i := range evs {
				evs[i].Time = base.Add(time.Duration(round)*time.Minute + time.Duration(i)*time.Microsecond)
				d.Observe(&evs[i], nil)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		perKey = held / float64(d.Keys())
		perSource = held / float64(len(evs))
		runtime.KeepAlive(d)
	}
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(perSource, "B/source")
}
