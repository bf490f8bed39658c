package store

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// snapshot is everything a commit can change.
type snapshot struct {
	Info    Info
	Stats   engine.Stats
	Seq     uint64
	Audit   VerifyReport
	CP      *engine.Checkpoint
	Sources []SourceSummary
	Offs    []engine.Offender
}

func snap(t *testing.T, db *DB) snapshot {
	t.Helper()
	var s snapshot
	var err error
	must := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	s.Info, err = db.Info()
	st, e := db.Stats()
	s.Stats = st
	must(e)
	s.Seq, e = db.Seq()
	must(e)
	s.Audit, e = db.VerifyAudit()
	must(e)
	s.CP, e = db.Checkpoint("/var/log/auth.log")
	must(e)
	s.Sources, e = db.Sources(0)
	must(e)
	s.Offs, e = db.Offenders()
	must(e)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCommitAtomic(t *testing.T) {
	tests := []struct {
		name   string
		ctx    func() context.Context
		mutate func(c *engine.Commit)
		want   string
	}{
		{"decision with invalid target", nil, func(c *engine.Commit) {
			c.Decisions[1].State = engine.StateActive
			c.Decisions[1].Target = netip.Prefix{}
		}, "invalid target"},
		{"decision with unencodable risk", nil, func(c *engine.Commit) { c.Decisions[1].Risk = math.NaN() }, "unsupported value"},
		{"alert without ID", nil, func(c *engine.Commit) { c.Alerts[2].ID = "" }, "empty ID"},
		{"alert with unencodable confidence", nil, func(c *engine.Commit) { c.Alerts[2].Confidence = math.Inf(1) }, "unsupported value"},
		{"checkpoint without origin", nil, func(c *engine.Commit) {
			c.Checkpoints = append(c.Checkpoints, engine.Checkpoint{})
		}, "empty origin"},
		{"cancelled context", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, func(*engine.Commit) {}, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			if err := db.Commit(t.Context(), sampleCommit(0, 20)); err != nil {
				t.Fatal(err)
			}
			before := snap(t, db)
			c := sampleCommit(1, 20)
			tc.mutate(c)
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			err := db.Commit(ctx, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Commit = %v, want an error containing %q", err, tc.want)
			}
			if after := snap(t, db); !reflect.DeepEqual(after, before) {
				t.Errorf("failed commit changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
			if _, err := db.Alert(c.Alerts[0].ID); err == nil {
				t.Errorf("alert %s of the failed commit was stored", c.Alerts[0].ID)
			}
			// The store still takes good commits.
			if err := db.Commit(t.Context(), sampleCommit(1, 20)); err != nil {
				t.Errorf("Commit after failure = %v", err)
			}
		})
	}
}

func TestNilCommit(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(t.Context(), nil); err == nil {
		t.Error("Commit(nil) = nil, want an error")
	}
}

func TestSourceIndexMerges(t *testing.T) {
	db := openTest(t)
	src := netip.MustParseAddr("2001:db8::7")
	for i := range 3 {
		c := &engine.Commit{}
		for j := range 5 {
			c.Indicators = append(c.Indicators, engine.Indicator{
				Time: t0.Add(timeDur(i*5 + j)), Type: engine.TypeSSHAuthFailure, Source: src,
				User: "u" + string(rune('a'+i*5+j)), Count: 2,
			})
		}
		if err := db.Commit(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Sources(0)
	if err != nil || len(got) != 1 {
		t.Fatalf("Sources = %+v, %v; want one", got, err)
	}
	s := got[0]
	wantUsers := []string{"uh", "ui", "uj", "uk", "ul", "um", "un", "uo"}
	if s.Source != src || s.Count != 30 || s.ByType[engine.TypeSSHAuthFailure] != 30 ||
		!s.First.Equal(t0) || !s.Last.Equal(t0.Add(timeDur(14))) || !reflect.DeepEqual(s.Users, wantUsers) {
		t.Errorf("Sources()[0] = %+v, want %v count 30, users %v", s, src, wantUsers)
	}
}

func TestSourceSummaryBinaryRoundTrip(t *testing.T) {
	tests := []SourceSummary{
		{},
		{Source: netip.MustParseAddr("203.0.113.9"), First: t0, Last: t0.Add(time.Hour), Count: 42,
			ByType: map[string]uint64{engine.TypeSSHAuthFailure: 40, engine.TypeSSHInvalidUser: 2}, Users: []string{"root", "ädmin"}},
		{Source: netip.MustParseAddr("2001:db8::1"), Count: 1, ByType: map[string]uint64{engine.TypeIDSAlert: 1}},
		{Host: "scanner.example", Count: 3},
	}
	for _, want := range tests {
		got, err := decodeSource(encodeSource(&want))
		if err != nil {
			t.Fatalf("decodeSource(encodeSource(%+v)) = %v", want, err)
		}
		if !reflect.DeepEqual(normSource(got), normSource(want)) {
			t.Errorf("round trip = %+v, want %+v", got, want)
		}
	}
	// A summary written by the JSON (schema 1) encoding still decodes.
	old := tests[1]
	v, err := encode(&old)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSource(v)
	if err != nil || got.Count != 42 || got.ByType[engine.TypeSSHAuthFailure] != 40 {
		t.Errorf("decode JSON summary = %+v, %v", got, err)
	}
	for _, bad := range [][]byte{{schemaSourceBin}, {schemaSourceBin, 4, 1}, {schemaSourceBin, 7}, append(encodeSource(&old), 0)} {
		if _, err := decodeSource(bad); !errors.Is(err, ErrSchema) {
			t.Errorf("decodeSource(%v) = %v, want ErrSchema", bad, err)
		}
	}
}

func TestStoredEvidenceIsSlim(t *testing.T) {
	db := openTest(t)
	ev := engine.Event{Time: t0, Type: engine.TypeSSHAuthFailure, Indicator: true, Source: netip.MustParseAddr("203.0.113.4"),
		SourcePort: 4242, Host: "gw1", Program: "sshd", PID: 77, User: "root", Method: "password", Pattern: "sshd.failed_password",
		Origin: "auth.log", Line: 9, Raw: "Nov 23 10:00:00 gw1 sshd[77]: Failed password for root from 203.0.113.4 port 4242 ssh2",
		Asset: &engine.Asset{Name: "gw1", Criticality: 5}}
	a := engine.Alert{ID: "al-00000001", Time: t0, Scenario: "ssh-bruteforce", Source: ev.Source, Evidence: []engine.Event{ev}}
	if err := db.Commit(t.Context(), &engine.Commit{Alerts: []engine.Alert{a}, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Alert("al-00000001")
	if err != nil {
		t.Fatal(err)
	}
	e := got.Evidence[0]
	if e.Raw != ev.Raw || e.Origin != "auth.log" || e.Line != 9 || e.Source != ev.Source || e.User != "root" || e.Host != "gw1" {
		t.Errorf("stored evidence lost what an analyst reads: %+v", e)
	}
	if e.Asset != nil || e.Pattern != "" || e.PID != 0 {
		t.Errorf("stored evidence kept parsed detail the raw line already holds: %+v", e)
	}
	if a.Evidence[0].Asset == nil {
		t.Error("Commit modified the caller's alert")
	}
}

// TestAuditIndependentOfGrouping commits the same alerts and decisions
// once in one transaction and once split across two: the audit chains
// are identical, record for record and hash for hash, because each alert
// is followed by its own decisions whatever the grouping.
func TestAuditIndependentOfGrouping(t *testing.T) {
	whole := sampleCommit(0, 5)
	first := &engine.Commit{Alerts: whole.Alerts[:2], Decisions: whole.Decisions, Seq: whole.Seq}
	second := &engine.Commit{Alerts: whole.Alerts[2:], Seq: whole.Seq}

	chain := func(commits ...*engine.Commit) []AuditRecord {
		db := openAt(t, testPath(t), Options{})
		for _, c := range commits {
			if err := db.Commit(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := db.AuditList(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	a, b := chain(whole), chain(first, second)
	if len(a) != 5 || len(a) != len(b) {
		t.Fatalf("%d and %d records, want 5 each", len(a), len(b))
	}
	for i := range a {
		if a[i].Hash != b[i].Hash || a[i].Subject != b[i].Subject {
			t.Errorf("record %d: %s %s vs %s %s", i+1, a[i].Subject, a[i].Hash[:8], b[i].Subject, b[i].Hash[:8])
		}
	}
}
