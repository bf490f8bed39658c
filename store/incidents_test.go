package store

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

func sampleIncident(seq int, state string) engine.Incident {
	t := testClock().Add(time.Duration(seq) * time.Minute)
	return engine.Incident{
		ID: "in-0000000" + string(rune('0'+seq)), Title: "ssh-bruteforce from 198.51.100.7", State: state, Severity: "medium", Risk: 5,
		Detected: t.Add(-time.Minute), Opened: t, LastSeen: t, Alerts: []string{"al-00000001"}, Decisions: []string{},
		Sources: []string{"198.51.100.7"}, Assets: []string{"web1"},
		History: []engine.IncidentEntry{{Time: t, Actor: "engine", Action: "opened", Detail: "al-00000001"}},
	}
}

// TestIncidentsRoundTrip saves incidents, reads them back (also after
// reopening the file), and checks every change left its audit records in
// a chain that verifies.
func TestIncidentsRoundTrip(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	ch := engine.IncidentChange{
		Incidents: []engine.Incident{sampleIncident(1, engine.IncidentNew), sampleIncident(2, engine.IncidentClosed)},
		Notes:     []engine.AuditNote{{Time: testClock(), Actor: "engine", Action: "incident.updated", Subject: "in-00000001", Detail: map[string]any{"alerts": []string{"al-00000001"}}}},
	}
	if err := db.SaveIncidents(t.Context(), &ch); err != nil {
		t.Fatal(err)
	}
	if a := ch.Incidents[0].History[0].Audit; a != 1 {
		t.Errorf("first history entry audited as %d, want 1", a)
	}
	// Saving again writes no second record for an audited entry.
	inc := ch.Incidents[0]
	inc.State = engine.IncidentAcknowledged
	inc.History = append(inc.History, engine.IncidentEntry{Time: testClock(), Actor: "cli:alice", Action: "acknowledged", Detail: "new → acknowledged"})
	if err := db.SaveIncidents(t.Context(), &engine.IncidentChange{Incidents: []engine.Incident{inc}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openAt(t, path, Options{})
	got, err := db.Incident("in-00000001")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != engine.IncidentAcknowledged || len(got.History) != 2 || got.History[1].Audit != 4 || !got.Opened.Equal(inc.Opened) {
		t.Errorf("Incident after reopening = %+v", got)
	}
	open, last, err := db.LoadIncidents()
	if err != nil || last != 2 || len(open) != 1 || open[0].ID != "in-00000001" {
		t.Errorf("LoadIncidents = %d open, last %d, %v; want in-00000001 open, last 2", len(open), last, err)
	}
	list, err := db.Incidents(IncidentQuery{})
	if err != nil || len(list) != 2 || list[0].ID != "in-00000002" {
		t.Errorf("Incidents = %v, %v; want newest first", list, err)
	}
	if list, _ := db.Incidents(IncidentQuery{Open: true}); len(list) != 1 {
		t.Errorf("Incidents(open) = %d, want 1", len(list))
	}
	recs, err := db.AuditAbout([]string{"in-00000001"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Actor+" "+r.Action)
	}
	if want := []string{"engine incident.opened", "engine incident.updated", "cli:alice incident.acknowledged"}; !reflect.DeepEqual(actions, want) {
		t.Errorf("audit about in-00000001 = %q, want %q", actions, want)
	}
	if rep, err := db.VerifyAudit(); err != nil || !rep.OK || rep.Records != 4 {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
	for _, id := range []string{"in-00000009", "al-00000001", "in-x"} {
		if _, err := db.Incident(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Incident(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestSaveIncidentsRefusesBadState(t *testing.T) {
	db := openTest(t)
	inc := sampleIncident(1, "resolved")
	if err := db.SaveIncidents(t.Context(), &engine.IncidentChange{Incidents: []engine.Incident{inc}}); err == nil {
		t.Fatal("saved an incident in an unknown state")
	}
	if rep, _ := db.VerifyAudit(); rep.Records != 0 {
		t.Errorf("a refused save left %d audit records", rep.Records)
	}
}

// TestIncidentListsGrowAndRewrite saves an incident's lists as grown
// (only the new items are written) and as rewritten (a split shrinks
// them), and reads back exactly what was saved each time.
func TestIncidentListsGrowAndRewrite(t *testing.T) {
	db := openTest(t)
	inc := sampleIncident(1, engine.IncidentNew)
	save := func(inc engine.Incident, grown bool) engine.Incident {
		t.Helper()
		ch := engine.IncidentChange{Incidents: []engine.Incident{inc}}
		if grown {
			ch.Grown = map[string]bool{inc.ID: true}
		}
		if err := db.SaveIncidents(t.Context(), &ch); err != nil {
			t.Fatal(err)
		}
		got, err := db.Incident(inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := ch.Incidents[0]; !reflect.DeepEqual(got, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
		}
		return got
	}
	inc = save(inc, true)
	for i := 2; i <= 300; i++ {
		inc.Alerts = append(inc.Alerts, fmt.Sprintf("al-%08d", i))
		inc.Decisions = append(inc.Decisions, fmt.Sprintf("de-%08d", i))
		inc.Sources = append(inc.Sources, fmt.Sprintf("198.51.100.%d", i%250))
		if i%100 == 0 {
			inc.Campaigns = append(inc.Campaigns, fmt.Sprintf("ssh-distributed|%d", i))
			inc.History = append(inc.History, engine.IncidentEntry{Time: testClock(), Actor: "cli:alice", Action: "updated", Detail: "+tag"})
		}
	}
	inc = save(inc, true)
	// A split leaves shorter lists, in another order: marked grown by
	// mistake, it is still rewritten because a list shrank.
	keep := inc
	keep.Alerts = []string{"al-00000300", "al-00000001"}
	keep.Decisions = []string{}
	keep.Sources = []string{"198.51.100.50"}
	keep.Campaigns = nil
	save(keep, true)
	// Not grown: same lengths but other items are rewritten too.
	other := keep
	other.Alerts = []string{"al-00000007", "al-00000008"}
	other.Sources = []string{"203.0.113.9"}
	save(other, false)
}

// TestIncidentMigrationMovesLists writes an incident as schema 6 did
// (lists inside the value) and checks schema 7 reads it back whole.
func TestIncidentMigrationMovesLists(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{migrations: shippedMigrations()[:6]})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	want := sampleIncident(3, engine.IncidentAcknowledged)
	want.Alerts = append(want.Alerts, "al-00000002")
	want.Campaigns = []string{"ssh-distributed|web1"}
	boltEdit(t, path, func(tx *bolt.Tx) error {
		v, err := encode(&want)
		if err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketIncidents)).Put(u64(3), v)
	})
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsMigration) {
		t.Fatalf("read-only open of a schema 6 file = %v, want ErrNeedsMigration", err)
	}
	db = openAt(t, path, Options{})
	got, err := db.Incident(want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after migrating\n%+v\nwant\n%+v", got, want)
	}
	err = db.view("raw", func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(bucketIncidents)).Get(u64(3)); bytes.Contains(v, []byte("al-00000002")) {
			t.Errorf("the migrated value still holds the lists: %s", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
