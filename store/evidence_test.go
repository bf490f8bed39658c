package store

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

func evidenceItem(incident, content string) engine.EvidenceItem {
	sum := sha256.Sum256([]byte(content))
	return engine.EvidenceItem{
		ID: hex.EncodeToString(sum[:]), Type: engine.EvidenceLogs, Incident: incident, Source: "/var/log/auth.log",
		Collected: t0, Collector: "alice", Size: int64(len(content)), Meta: map[string]string{"inode": "42"},
	}
}

func TestPutEvidence(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	ctx := t.Context()
	// A database that never held evidence lists none, read-only too.
	if items, err := db.Evidence(EvidenceQuery{}); err != nil || len(items) != 0 {
		t.Fatalf("Evidence() on a fresh store = %v, %v", items, err)
	}
	a := evidenceItem("in-00000001", "one")
	got, created, err := db.PutEvidence(ctx, a)
	if err != nil || !created || got.AuditSeq == 0 {
		t.Fatalf("PutEvidence = %+v, %v, %v", got, created, err)
	}
	again, created, err := db.PutEvidence(ctx, a)
	if err != nil || created || again.AuditSeq != got.AuditSeq {
		t.Errorf("PutEvidence again = %+v, %v, %v; want the stored item, not created", again, created, err)
	}
	loose := evidenceItem("", "two")
	loose.Collected = t0.Add(time.Minute)
	lg, _, err := db.PutEvidence(ctx, loose)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.AuditRecord(lg.AuditSeq)
	if err != nil || rec.Subject != "evidence:"+loose.ID || rec.Action != ActionEvidenceCollected {
		t.Errorf("audit record of an item without incident = %+v, %v", rec, err)
	}
	d, err := ParseEvidenceAudit(rec)
	if err != nil || d.SHA256 != loose.ID || d.Record != loose.Digest() {
		t.Errorf("ParseEvidenceAudit = %+v, %v; want the hash and the custody digest", d, err)
	}
	for _, bad := range []engine.EvidenceItem{
		{ID: "abc", Type: "logs", Collector: "a", Collected: t0},
		{ID: a.ID, Collector: "a", Collected: t0},
		{ID: a.ID, Type: "logs", Incident: "in\x00", Collector: "a", Collected: t0},
	} {
		if _, _, err := db.PutEvidence(ctx, bad); err == nil {
			t.Errorf("PutEvidence(%+v) succeeded", bad)
		}
	}
	if rep, err := db.VerifyAudit(); err != nil || !rep.OK || rep.Records != 2 {
		t.Errorf("VerifyAudit = %+v, %v; want two records", rep, err)
	}
	if items, _ := db.Evidence(EvidenceQuery{Incident: "in-00000001"}); len(items) != 1 || items[0].Meta["inode"] != "42" {
		t.Errorf("Evidence(in-00000001) = %+v", items)
	}
	if items, _ := db.Evidence(EvidenceQuery{ID: loose.ID[:10]}); len(items) != 1 || items[0].ID != loose.ID {
		t.Errorf("Evidence(ID prefix) = %+v", items)
	}
	if items, _ := db.Evidence(EvidenceQuery{}); len(items) != 2 || items[0].ID != a.ID {
		t.Errorf("Evidence() = %+v, want both, oldest first", items)
	}
}

func TestSourceAndUserHistory(t *testing.T) {
	db := openTest(t)
	src := netip.MustParseAddr("192.0.2.10")
	c := &engine.Commit{
		Alerts: []engine.Alert{
			{ID: "al-00000001", Time: t0, Scenario: "ssh-bruteforce", Source: src, Users: []string{"root"}},
			{ID: "al-00000002", Time: t0.Add(time.Minute), Scenario: "campaign", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/28")}},
			{ID: "al-00000003", Time: t0.Add(2 * time.Minute), Scenario: "ssh-bruteforce", Source: netip.MustParseAddr("198.51.100.7"), Users: []string{"alice"}},
		},
		Decisions: []engine.Decision{{ID: "dc-00000004", AlertID: "al-00000001", Time: t0, Action: "block", Target: netip.PrefixFrom(src, 32), State: engine.StateActive}},
		Seq:       4,
	}
	if err := db.Commit(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	alerts, decisions, err := db.SourceHistory(netip.PrefixFrom(src, 32), 0)
	if err != nil || len(alerts) != 2 || alerts[0].ID != "al-00000002" || len(decisions) != 1 {
		t.Errorf("SourceHistory = %v, %v, %v; want the two alerts covering it, newest first, and its decision", alerts, decisions, err)
	}
	users, err := db.UserAlerts([]string{"alice", "bob"}, 0)
	if err != nil || len(users) != 1 || users[0].ID != "al-00000003" {
		t.Errorf("UserAlerts = %v, %v", users, err)
	}
}
