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
	rep, err := db.Prune(t.Context(), t0.Add(-365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := db.AuditList(1, 0)
	if rep.AuditSeq != 0 || len(after) != len(before) {
		t.Errorf("prune of nothing: report %+v, audit %d -> %d records; want no record", rep, len(before), len(after))
	}
}
