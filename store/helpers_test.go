package store

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// t0 is the event-time origin of the test data.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testClock() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

func testPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "data", "phantomsoc.db")
}

func openAt(t testing.TB, path string, o Options) *DB {
	t.Helper()
	if o.Now == nil {
		o.Now = testClock
	}
	db, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openTest(t testing.TB) *DB {
	t.Helper()
	return openAt(t, testPath(t), Options{})
}

// sampleCommit returns commit number i (from 0): nInd indicators over a
// handful of sources, three alerts, two decisions (one refused), a
// checkpoint, a reject and stats. IDs and times advance with i.
func sampleCommit(i, nInd int) *engine.Commit {
	at := t0.Add(time.Duration(i) * time.Minute)
	seq := uint64(i*5 + 1)
	c := &engine.Commit{
		Checkpoints: []engine.Checkpoint{{Origin: "/var/log/auth.log", Inode: 42, Offset: int64(1000 * (i + 1)), Line: int64(10 * (i + 1))}},
		Rejects:     []engine.Reject{{Origin: "/var/log/auth.log", Line: int64(i), Reason: "garbage", Raw: fmt.Sprintf("\x00junk %d", i)}},
		Stats:       engine.Stats{Lines: uint64(nInd + 10), Events: uint64(nInd + 5), Indicators: uint64(nInd), Alerts: 3, Decisions: 2},
		Arrived:     at,
	}
	var evidence []engine.Event
	for j := range nInd {
		ev := engine.Event{
			Time:      at.Add(time.Duration(j) * time.Millisecond),
			Type:      engine.TypeSSHAuthFailure,
			Indicator: true,
			Source:    netip.AddrFrom4([4]byte{198, 51, 100, byte(j % 50)}),
			User:      fmt.Sprintf("user%d", j%11),
			Host:      "gw1",
			Origin:    "/var/log/auth.log",
			Line:      int64(j),
		}
		if j%7 == 0 {
			ev.Type = engine.TypeSSHInvalidUser
		}
		if j%97 == 0 {
			ev.Source = netip.Addr{}
			ev.SourceHost = "scanner.example"
		}
		evidence = append(evidence, ev)
		c.Indicators = append(c.Indicators, engine.IndicatorOf(&ev))
	}
	for k := range 3 {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(k)})
		c.Alerts = append(c.Alerts, engine.Alert{
			ID: fmt.Sprintf("al-%08d", seq), Time: at.Add(time.Duration(k) * time.Second), First: at.Add(-time.Minute),
			Scenario: []string{"ssh-bf", "ssh-slow-bf", "ssh-user-enum"}[k], Description: "brute force <ssh> & co",
			Severity: 6, Key: src.String(), Source: src, Sources: 1, Host: "gw1", Users: []string{"root", "admin"},
			Count: 12, Evidence: evidence[:min(2, len(evidence))], Propose: "block",
			Labels: map[string]string{"team": "ops"}, Risk: 7.5, Confidence: 0.9,
			Factors: []engine.Factor{{Name: "volume", Value: 3, Why: "12 failures"}},
			Blast:   engine.BlastRadius{Assets: []string{"gw1"}, Addresses: 1},
		})
		seq++
	}
	for k := range 2 {
		d := engine.Decision{
			ID: fmt.Sprintf("dc-%08d", seq), Time: at.Add(time.Duration(k) * time.Second), AlertID: c.Alerts[k].ID,
			Scenario: c.Alerts[k].Scenario, Action: engine.ActionBlock, Target: netip.PrefixFrom(c.Alerts[k].Source, 32),
			TTL: 4 * time.Hour, Expires: at.Add(4 * time.Hour), Auto: true, State: engine.StateActive,
			Offense: i + 1, Risk: 7.5, Reason: "policy auto-block", Gateways: []string{"gw1"},
		}
		if k == 1 {
			d.State = engine.StateRefused
			d.Reason = "allowlisted"
		}
		c.Decisions = append(c.Decisions, d)
		seq++
	}
	c.Seq = seq - 1
	return c
}

func timeDur(s int) time.Duration { return time.Duration(s) * time.Second }
