package store

import (
	"testing"
	"time"
)

func TestPruneNothingWritesNoAudit(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(t.Context(), sampleCommit(1, 5)); err != nil {
		t.Fatal(err)
	}
	before, err := db.AuditList(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := db.Prune(t.Context(), t0.Add(-365*24*time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := db.AuditList(1, 0)
	if rep.AuditSeq != 0 || len(after) != len(before) {
		t.Errorf("prune of nothing: report %+v, audit %d -> %d records; want no record", rep, len(before), len(after))
	}
}

func TestPruneKeepsOffendersForTheirOwnCutoff(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(t.Context(), sampleCommit(1, 5)); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Offenders()
	if len(before) == 0 {
		t.Fatal("sample commit made no offenders")
	}
	// Alerts a day old go; offenders are remembered for 30 days.
	if _, err := db.Prune(t.Context(), t0.Add(48*time.Hour), t0.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	after, _ := db.Offenders()
	if len(after) != len(before) {
		t.Errorf("offenders %d -> %d: pruned with the alerts' cutoff, not their own", len(before), len(after))
	}
	if _, err := db.Prune(t.Context(), t0.Add(48*time.Hour), t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if gone, _ := db.Offenders(); len(gone) != 0 {
		t.Errorf("offenders past their cutoff kept: %d", len(gone))
	}
}
