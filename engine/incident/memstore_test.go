package incident

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// TestMemoryStoreMatchesStore runs the same alerts and edits through a
// manager over a MemoryStore and one over the bbolt store: the incidents
// are the same, and an incident read earlier does not change under the
// reader when more alerts join it.
func TestMemoryStoreMatchesStore(t *testing.T) {
	cfg := Config{Window: time.Hour, MergeBy: []string{BySource, ByAsset}}
	alerts := []engine.Alert{
		alert("al-1", 0, "ssh-bruteforce", "198.51.100.7", "web1", 5),
		alert("al-2", time.Minute, "ssh-bruteforce", "203.0.113.9", "db1", 8),
		alert("al-3", 2*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 4),
	}
	st := newMemStore() // the alerts both managers read
	db, err := store.Open(filepath.Join(t.TempDir(), "ref.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ref, err := New(cfg, db, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := NewMemoryStore()
	m, err := New(cfg, ms, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	op := Op{ID: "in-00000001", Actor: "alice", Time: t0.Add(time.Hour)}
	for _, mm := range []*Manager{ref, m} {
		feed(mm, st, alerts...)
		if _, err := mm.Transition(ctx, op, engine.IncidentAcknowledged, ""); err != nil {
			t.Fatal(err)
		}
	}
	before, err := ms.Incident("in-00000001")
	if err != nil {
		t.Fatal(err)
	}
	for _, mm := range []*Manager{ref, m} {
		feed(mm, st, alert("al-4", 3*time.Minute, "ssh-bruteforce", "198.51.100.7", "web1", 6))
	}
	for _, id := range []string{"in-00000001", "in-00000002"} {
		got, err := ms.Incident(id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.Incident(id)
		if err != nil {
			t.Fatal(err)
		}
		// Audit sequences are each store's own.
		for _, inc := range []*engine.Incident{&got, &want} {
			for i := range inc.History {
				inc.History[i].Audit = 0
			}
		}
		// Compared as stored and shown: the bbolt store gives back empty
		// lists and UTC times where memory may hold nil and t0's zone.
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("%s in memory:\n%s\nin the store:\n%s", id, gj, wj)
		}
	}
	if len(before.Alerts) != 2 {
		t.Errorf("a copy read before al-4 joined now lists %v", before.Alerts)
	}
	open, last, err := ms.LoadIncidents()
	if err != nil || last != 2 || len(open) != 2 || open[0].ID != "in-00000001" || open[0].History[0].Audit == 0 {
		t.Errorf("LoadIncidents = %d open (%+v), last %d, %v", len(open), open, last, err)
	}
	if _, err := ms.Incident("in-00000009"); err == nil {
		t.Error("a missing incident was found")
	}
}
