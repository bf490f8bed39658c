package main

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/store"
)

// BenchmarkIncidentSink measures the incident sink per committed alert,
// store write included: commits of one alert (a live engine) and of 64 (a
// replay's group commit), over a bbolt file with and without fsync. Every
// fourth alert comes from a new source on its own host, so a quarter open
// an incident and the rest join one; with one=true every alert hits the
// same host and joins one incident that keeps growing (an incident's
// record is rewritten whole on every change, so its cost grows with it).
func BenchmarkIncidentSink(b *testing.B) {
	for _, bc := range []struct {
		name   string
		batch  int
		noSync bool
		one    bool
	}{{"commit=1/sync", 1, false, false}, {"commit=1/nosync", 1, true, false}, {"commit=64/nosync", 64, true, false}, {"commit=1/nosync/one-incident", 1, true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "b.db"), store.Options{NoSync: bc.noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			m, err := incident.New(incident.Defaults(), db, db, nil)
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			n := 0
			c := &engine.Commit{Alerts: make([]engine.Alert, bc.batch)}
			b.ReportAllocs()
			for b.Loop() {
				for i := range c.Alerts {
					src := netip.AddrFrom4([4]byte{198, 51, byte(n / 4 >> 8), byte(n / 4)})
					c.Alerts[i] = engine.Alert{ID: fmt.Sprintf("al-%08d", n), Time: t0.Add(time.Duration(n) * time.Second), Scenario: "ssh-bruteforce",
						Source: src, Key: src.String(), Host: fmt.Sprintf("web%d", n/4), Risk: 5, Count: 7}
					if bc.one {
						c.Alerts[i].Host = "web"
					}
					n++
				}
				m.Committed(c)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/alert")
		})
	}
}
