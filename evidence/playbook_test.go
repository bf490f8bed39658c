package evidence

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

func TestPlaybookCollector(t *testing.T) {
	path, _ := writeLog(t, authLog)
	e := newEnv(t, Options{LogFile: path})
	ctx := t.Context()
	alert := engine.Alert{ID: "al-00000001", Time: time.Date(2026, 11, 23, 10, 0, 2, 0, time.UTC), Scenario: "ssh-compromise-suspected",
		Source: netip.MustParseAddr("192.0.2.10"), Users: []string{"alice"}, Count: 3, Risk: 8}
	if err := e.db.Commit(ctx, &engine.Commit{Alerts: []engine.Alert{alert}, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	pc := Playbook{C: e.c}
	step := time.Date(2026, 11, 23, 10, 6, 0, 0, time.UTC)
	targets := []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("192.0.2.11/32")}
	for _, tc := range []struct {
		typ      string
		duration time.Duration
		refs     int
	}{
		{engine.EvidenceEnrichment, 0, 2},
		{engine.EvidenceLogs, 10 * time.Minute, 1},
		{engine.EvidenceAuthHistory, 24 * time.Hour, 1},
	} {
		ref, err := pc.Collect(ctx, playbooks.EvidenceRequest{
			Playbook: "compromise-suspected", Step: "collect", AlertID: alert.ID, IncidentID: "in-00000001",
			Time: step, Type: tc.typ, Targets: targets, Duration: tc.duration,
		})
		if err != nil {
			t.Fatalf("Collect %s: %v", tc.typ, err)
		}
		refs := strings.Split(ref, ",")
		if len(refs) != tc.refs {
			t.Errorf("Collect %s = %q, want %d hashes", tc.typ, ref, tc.refs)
		}
		for _, id := range refs {
			items, err := e.db.Evidence(store.EvidenceQuery{Incident: "in-00000001", ID: id})
			if err != nil || len(items) != 1 || items[0].Collector != "playbook:compromise-suspected" || items[0].Type != tc.typ {
				t.Errorf("item %s = %+v, %v", id, items, err)
			}
		}
	}
	logs, _ := e.db.Evidence(store.EvidenceQuery{Incident: "in-00000001"})
	for _, it := range logs {
		if it.Type == engine.EvidenceLogs && (it.Meta["window_from"] != "2026-11-23T09:56:00Z" || it.Meta["lines"] != "6") {
			t.Errorf("logs item meta = %v, want the 10 minutes before the step", it.Meta)
		}
	}
}
