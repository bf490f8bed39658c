package store

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestRoundTrip(t *testing.T) {
	db := openTest(t)
	c := sampleCommit(0, 20)
	if err := db.Commit(t.Context(), c); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	tests := []struct {
		name string
		get  func() (any, error)
		want any
	}{
		{"alert", func() (any, error) { return db.Alert(c.Alerts[1].ID) }, c.Alerts[1]},
		{"decision", func() (any, error) { return db.Decision(c.Decisions[0].ID) }, c.Decisions[0]},
		{"refused decision", func() (any, error) { return db.Decision(c.Decisions[1].ID) }, c.Decisions[1]},
		{"checkpoint", func() (any, error) { return db.Checkpoint("/var/log/auth.log") }, &c.Checkpoints[0]},
		{"no checkpoint", func() (any, error) { return db.Checkpoint("/nope") }, (*engine.Checkpoint)(nil)},
		{"stats", func() (any, error) { return db.Stats() }, c.Stats},
		{"seq", func() (any, error) { return db.Seq() }, c.Seq},
		{"rejects", func() (any, error) { return db.Rejects(0) }, c.Rejects},
		{"offenders", func() (any, error) { return db.Offenders() }, []engine.Offender{{
			Target: c.Decisions[0].Target, Count: 1, Last: c.Decisions[0].Time, Expires: c.Decisions[0].Expires,
		}}},
		{"alerts oldest", func() (any, error) { return db.Alerts(AlertQuery{Oldest: true}) }, c.Alerts},
		{"decisions newest", func() (any, error) { return db.Decisions(DecisionQuery{}) }, []engine.Decision{c.Decisions[1], c.Decisions[0]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if err != nil {
				t.Fatalf("get = %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	t.Run("sources", func(t *testing.T) {
		srcs, err := db.Sources(0)
		if err != nil {
			t.Fatalf("Sources = %v", err)
		}
		var total uint64
		for _, s := range srcs {
			total += s.Count
			if len(s.Users) > MaxSourceUsers {
				t.Errorf("source %v keeps %d users, want <= %d", s.Source, len(s.Users), MaxSourceUsers)
			}
		}
		if total != 20 {
			t.Errorf("sum of source counts = %d, want 20", total)
		}
		if srcs[0].Host != "scanner.example" || srcs[0].Source.IsValid() {
			// j%97==0 only for j=0 here, so every source has count 1 except
			// 198.51.100.{0..19}; check the host entry exists instead.
			found := false
			for _, s := range srcs {
				found = found || s.Host == "scanner.example"
			}
			if !found {
				t.Errorf("Sources = %+v, want a scanner.example host entry", srcs)
			}
		}
	})
	t.Run("audit", func(t *testing.T) {
		recs, err := db.AuditList(0, 0)
		if err != nil {
			t.Fatalf("AuditList = %v", err)
		}
		// Event order: each alert, then its decisions, so a replay's
		// trail does not depend on how its commits were grouped.
		wantActions := []string{ActionAlertRaised, ActionDecisionCreated, ActionAlertRaised, ActionDecisionRefused, ActionAlertRaised}
		if len(recs) != len(wantActions) {
			t.Fatalf("AuditList = %d records, want %d", len(recs), len(wantActions))
		}
		for i, r := range recs {
			if r.Action != wantActions[i] || r.Actor != ActorEngine || r.Seq != uint64(i+1) {
				t.Errorf("record %d = %s/%s seq %d, want %s/engine seq %d", i, r.Actor, r.Action, r.Seq, wantActions[i], i+1)
			}
		}
		if !recs[0].Time.Equal(c.Alerts[0].Time) {
			t.Errorf("record 1 time = %v, want the alert's event time %v", recs[0].Time, c.Alerts[0].Time)
		}
	})
	t.Run("not found", func(t *testing.T) {
		if _, err := db.Alert("al-nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Alert(missing) = %v, want ErrNotFound", err)
		}
		if _, err := db.Decision("dc-nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Decision(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestCommitOnlyCheckpoint(t *testing.T) {
	db := openTest(t)
	cp := engine.Checkpoint{Origin: "stdin", Offset: 7}
	if err := db.Commit(t.Context(), &engine.Commit{Checkpoints: []engine.Checkpoint{cp}}); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	got, err := db.Checkpoint("stdin")
	if err != nil || got == nil || *got != cp {
		t.Errorf("Checkpoint = %+v, %v, want %+v", got, err, cp)
	}
	if rep, err := db.VerifyAudit(); err != nil || !rep.OK || rep.Records != 0 {
		t.Errorf("VerifyAudit = %+v, %v, want OK with 0 records", rep, err)
	}
}

func TestRecommitMovesEntity(t *testing.T) {
	db := openTest(t)
	c := sampleCommit(0, 0)
	if err := db.Commit(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	d := c.Decisions[0]
	d.State = engine.StateExpired
	d.Time = d.Time.Add(time.Hour)
	if err := db.Commit(t.Context(), &engine.Commit{Decisions: []engine.Decision{d}}); err != nil {
		t.Fatal(err)
	}
	all, err := db.Decisions(DecisionQuery{})
	if err != nil || len(all) != 2 {
		t.Fatalf("Decisions = %d, %v; want 2 (updated in place)", len(all), err)
	}
	if got, _ := db.Decision(d.ID); got.State != engine.StateExpired {
		t.Errorf("Decision(%s).State = %q, want expired", d.ID, got.State)
	}
	recs, _ := db.AuditList(0, 0)
	if last := recs[len(recs)-1]; last.Action != ActionDecisionUpdated {
		t.Errorf("last audit action = %q, want %q", last.Action, ActionDecisionUpdated)
	}
}

func TestQueries(t *testing.T) {
	db := openTest(t)
	for i := range 10 {
		if err := db.Commit(t.Context(), sampleCommit(i, 5)); err != nil {
			t.Fatal(err)
		}
	}
	src1 := netip.MustParseAddr("198.51.100.1")
	tests := []struct {
		name    string
		q       AlertQuery
		n       int
		firstID string
	}{
		{"all newest first", AlertQuery{}, 30, "al-00000048"},
		{"all oldest first", AlertQuery{Oldest: true}, 30, "al-00000001"},
		{"limit", AlertQuery{Limit: 4}, 4, "al-00000048"},
		{"since", AlertQuery{Since: t0.Add(8 * time.Minute), Oldest: true}, 6, "al-00000041"},
		{"until exclusive", AlertQuery{Until: t0.Add(time.Minute)}, 3, "al-00000003"},
		{"window newest", AlertQuery{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute)}, 6, "al-00000018"},
		{"scenario", AlertQuery{Scenario: "ssh-user-enum"}, 10, "al-00000048"},
		{"source", AlertQuery{Source: src1, Oldest: true, Limit: 2}, 2, "al-00000002"},
		{"empty window", AlertQuery{Since: t0.Add(time.Hour)}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Alerts(tc.q)
			if err != nil {
				t.Fatalf("Alerts(%+v) = %v", tc.q, err)
			}
			if len(got) != tc.n {
				t.Fatalf("Alerts(%+v) = %d alerts, want %d", tc.q, len(got), tc.n)
			}
			if tc.n > 0 && got[0].ID != tc.firstID {
				t.Errorf("Alerts(%+v)[0] = %s, want %s", tc.q, got[0].ID, tc.firstID)
			}
		})
	}
	dtests := []struct {
		name string
		q    DecisionQuery
		n    int
	}{
		{"active", DecisionQuery{State: engine.StateActive}, 10},
		{"refused", DecisionQuery{State: engine.StateRefused}, 10},
		{"alert", DecisionQuery{AlertID: "al-00000001"}, 1},
		{"target", DecisionQuery{Target: netip.MustParsePrefix("198.51.100.0/24")}, 20},
		{"other target", DecisionQuery{Target: netip.MustParsePrefix("10.0.0.0/8")}, 0},
	}
	for _, tc := range dtests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Decisions(tc.q)
			if err != nil || len(got) != tc.n {
				t.Errorf("Decisions(%+v) = %d, %v; want %d", tc.q, len(got), err, tc.n)
			}
		})
	}
	t.Run("sources top", func(t *testing.T) {
		got, err := db.Sources(3)
		if err != nil || len(got) != 3 {
			t.Fatalf("Sources(3) = %d, %v", len(got), err)
		}
		if got[0].Count < got[1].Count || got[1].Count < got[2].Count {
			t.Errorf("Sources(3) counts = %d,%d,%d, want descending", got[0].Count, got[1].Count, got[2].Count)
		}
	})
	t.Run("info", func(t *testing.T) {
		info, err := db.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Schema != uint64(len(shippedMigrations())) || info.Buckets[bucketAlerts] != 30 || info.Buckets[bucketAudit] != 50 || info.Size <= 0 || !info.Created.Equal(testClock()) {
			t.Errorf("Info = %+v", info)
		}
	})
}

func TestRejectCap(t *testing.T) {
	db := openAt(t, testPath(t), Options{MaxRejects: 5})
	for i := range 4 {
		c := &engine.Commit{}
		for j := range 3 {
			c.Rejects = append(c.Rejects, engine.Reject{Origin: "stdin", Line: int64(i*3 + j), Reason: "bad"})
		}
		if err := db.Commit(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Rejects(0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int64
	for _, r := range got {
		lines = append(lines, r.Line)
	}
	if want := []int64{11, 10, 9, 8, 7}; !reflect.DeepEqual(lines, want) {
		t.Errorf("Rejects lines = %v, want %v (newest 5, newest first)", lines, want)
	}
	if got, _ := db.Rejects(2); len(got) != 2 {
		t.Errorf("Rejects(2) = %d, want 2", len(got))
	}
}

func TestOffendersPersist(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	for i := range 3 {
		if err := db.Commit(t.Context(), sampleCommit(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := db.Offenders()
	if err != nil || len(want) != 1 {
		t.Fatalf("Offenders = %+v, %v; want 1 (the refused targets are no offenders)", want, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openAt(t, path, Options{})
	got, err := db2.Offenders()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Offenders after reopen = %+v, %v; want %+v", got, err, want)
	}
	// Offender of 198.51.100.0 was hit by commits 0,1,2: the latest wins.
	if got[0].Count != 3 {
		t.Errorf("offender %v count = %d, want 3", got[0].Target, got[0].Count)
	}
}

func TestPruneKeepsAuditVerifiable(t *testing.T) {
	db := openTest(t)
	for i := range 10 {
		c := sampleCommit(i, 10)
		if i == 0 {
			c.Decisions[0].Expires, c.Decisions[0].TTL = time.Time{}, 0 // permanent: kept
		}
		if err := db.Commit(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	cut := t0.Add(5 * time.Minute)
	// Only commits 0–4 are older; their decisions expire 4h later, so
	// prune well past that to drop them.
	rep, err := db.Prune(t.Context(), cut, time.Time{})
	if err != nil {
		t.Fatalf("Prune = %v", err)
	}
	if rep.Alerts != 15 || rep.Decisions != 5 || rep.AuditSeq != 51 {
		t.Errorf("Prune = %+v, want 15 alerts, 5 refused decisions, audit seq 51", rep)
	}
	if _, err := db.Alert("al-00000001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Alert(pruned) = %v, want ErrNotFound", err)
	}
	if _, err := db.Decision("dc-00000004"); err != nil {
		t.Errorf("Decision(permanent active) = %v, want kept", err)
	}
	rep2, err := db.Prune(t.Context(), t0.Add(24*time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Alerts != 15 || rep2.Decisions != 14 || rep2.Sources == 0 || rep2.Offenders != 1 {
		t.Errorf("second Prune = %+v, want 15 alerts, 14 decisions (permanent kept), sources, 1 offender", rep2)
	}
	v, err := db.VerifyAudit()
	if err != nil || !v.OK || v.Records != 52 {
		t.Errorf("VerifyAudit after prune = %+v, %v; want OK with 52 records", v, err)
	}
	info, _ := db.Info()
	if info.Buckets[bucketAlertIDs] != 0 || info.Buckets[bucketDecisionIDs] != 1 {
		t.Errorf("ID indexes after prune = %v, want 0 alerts, 1 decision", info.Buckets)
	}
}

func TestReadOnly(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	if err := db.Commit(t.Context(), sampleCommit(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro := openAt(t, path, Options{ReadOnly: true})
	if _, err := ro.Alert("al-00000001"); err != nil {
		t.Errorf("read-only Alert = %v", err)
	}
	if err := ro.Commit(t.Context(), sampleCommit(1, 3)); err == nil {
		t.Error("read-only Commit = nil, want an error")
	}
}

func TestFileModes(t *testing.T) {
	path := testPath(t)
	openAt(t, path, Options{})
	for p, want := range map[string]os.FileMode{path: 0o600, path[:len(path)-len("/phantomsoc.db")]: 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != want {
			t.Errorf("mode of %s = %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
}

var _ engine.Store = (*DB)(nil)
