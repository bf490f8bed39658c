package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// incidentLog is two brute forces on different hosts half an hour apart,
// and the first source again three hours later: past the window.
func incidentLog(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, "Mar  1 10:00:%02d web1 sshd[%d]: Failed password for root from 198.51.100.7 port %d ssh2\n", i, 100+i, 40000+i)
	}
	for i := range 12 {
		fmt.Fprintf(&b, "Mar  1 10:30:%02d db1 sshd[%d]: Failed password for invalid user admin from 203.0.113.9 port %d ssh2\n", i, 200+i, 41000+i)
	}
	for i := range 12 {
		fmt.Fprintf(&b, "Mar  1 13:00:%02d web1 sshd[%d]: Failed password for root from 198.51.100.7 port %d ssh2\n", i, 300+i, 42000+i)
	}
	return writeTempLog(t, b.String())
}

// writeTempLog writes a log for a test and returns its path.
func writeTempLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeIncidents(t *testing.T, out string) []incidentView {
	t.Helper()
	var vs []incidentView
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v incidentView
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		vs = append(vs, v)
	}
	return vs
}

// TestIncidentsCLI replays a log into a database, merges its alerts into
// incidents, and walks one through ack and close; every command opens the
// database afresh, so the incidents survive reopening it.
func TestIncidentsCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	mustRun(t, "", "--db", db, "replay", "--year", "2026", incidentLog(t))
	// Until replay wires the incident sink itself, backfill merges what it
	// stored; with the sink it finds nothing left to do.
	mustRun(t, "", "--db", db, "incidents", "backfill")
	if out := mustRun(t, "", "--db", db, "incidents", "backfill", "-o", "json"); out != "{\"opened\":0}\n" {
		t.Errorf("second backfill = %q, want nothing opened", out)
	}

	list := decodeIncidents(t, mustRun(t, "", "--db", db, "incidents", "list", "-o", "json"))
	var got [][]string
	for _, v := range list {
		got = append(got, []string{v.ID, v.State, strings.Join(v.Sources, ","), strings.Join(v.Assets, ",")})
	}
	want := [][]string{
		{"in-00000003", "new", "198.51.100.7", "web1"},
		{"in-00000002", "new", "203.0.113.9", "db1"},
		{"in-00000001", "new", "198.51.100.7", "web1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("incidents list = %v, want %v", got, want)
	}
	raw := mustRun(t, "", "--db", db, "incidents", "show", "in-00000001", "-o", "json")
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "state", "severity", "risk", "owner", "tags", "opened", "acknowledged", "contained", "closed", "alerts", "decisions", "sources", "assets", "metrics", "timeline"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("incidents show -o json lacks %q", k)
		}
	}
	for _, k := range []string{"ttd_seconds", "tta_seconds", "ttc_seconds", "ttr_seconds"} {
		if _, ok := fields["metrics"].(map[string]any)[k]; !ok {
			t.Errorf("metrics lack %q", k)
		}
	}
	show := decodeIncidents(t, raw)[0]
	if show.Metrics.TTD == nil || *show.Metrics.TTD != 6 || show.Metrics.TTA != nil || len(show.Decisions) != 1 {
		t.Errorf("show = %+v, want detection after 6s, not acknowledged, one decision", show)
	}
	if tl := show.Timeline; len(tl) == 0 || tl[0].Kind != "event" || tl[0].Line != 1 || !strings.HasSuffix(tl[0].Origin, "auth.log") {
		t.Errorf("timeline starts %+v, want the first log line", tl)
	}

	ack := decodeIncidents(t, mustRun(t, "", "--db", db, "incidents", "ack", "in-00000001", "-o", "json"))[0]
	if ack.State != "acknowledged" || ack.Acknowledged == nil {
		t.Errorf("ack = %+v", ack)
	}
	if _, err := run(t, "", "--db", db, "incidents", "close", "in-00000001"); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("close without a reason = %v, want --reason asked for", err)
	}
	mustRun(t, "", "--db", db, "incidents", "close", "in-00000001", "--reason", "blocked; no login succeeded")
	if _, err := run(t, "", "--db", db, "incidents", "ack", "in-00000001"); err == nil || !strings.Contains(err.Error(), "never reopened") {
		t.Errorf("ack of a closed incident = %v, want refused", err)
	}
	if _, err := run(t, "", "--db", db, "incidents", "show", "in-00000042"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show of a missing incident = %v, want not found", err)
	}

	closed := decodeIncidents(t, mustRun(t, "", "--db", db, "incidents", "list", "--state", "closed", "-o", "json"))
	if len(closed) != 1 || closed[0].CloseReason != "blocked; no login succeeded" || closed[0].Metrics.TTR == nil {
		t.Errorf("closed incidents = %+v", closed)
	}
	text := mustRun(t, "", "--db", db, "incidents", "show", "in-00000001")
	for _, want := range []string{"incident.acknowledged", "incident.closed", "by cli:", "auth.log:1 "} {
		if !strings.Contains(text, want) {
			t.Errorf("incidents show lacks %q:\n%s", want, text)
		}
	}
	if v := mustRun(t, "", "--db", db, "audit", "verify"); !strings.Contains(v, "audit chain OK") {
		t.Errorf("audit verify = %q", v)
	}
	if m := mustRun(t, "", "--db", db, "incidents", "metrics", "-o", "json"); !strings.Contains(m, `"incidents":3`) {
		t.Errorf("incidents metrics = %q", m)
	}
}

// TestIncidentsThroughDaemon: the daemon's sink opens incidents as it
// commits alerts, and the commands act through its control socket.
func TestIncidentsThroughDaemon(t *testing.T) {
	_, dbPath, g, _ := daemonSetup(t, "incidents:\n  window: 30m\n")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon") }()
	waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Lines == 12 && s.Decisions > 0 })

	var list []incidentView
	for deadline := time.Now().Add(10 * time.Second); len(list) == 0 && time.Now().Before(deadline); {
		list = decodeIncidents(t, mustRun(t, "", "--db", dbPath, "incidents", "list", "-o", "json"))
	}
	if len(list) != 1 || list[0].Sources[0] != "203.0.113.50" || len(list[0].Decisions) == 0 {
		t.Fatalf("incidents through the daemon = %+v", list)
	}
	id := list[0].ID
	mustRun(t, "", "--db", dbPath, "incidents", "assign", id, "alice")
	if st := decodeIncidents(t, mustRun(t, "", "--db", dbPath, "incidents", "state", id, "contained", "-o", "json"))[0]; st.State != "contained" || st.Owner != "alice" {
		t.Errorf("state through the daemon = %+v", st)
	}
	if _, err := run(t, "", "--db", dbPath, "incidents", "state", id, "acknowledged"); err == nil || !strings.Contains(err.Error(), "cannot go back") {
		t.Errorf("going back through the daemon = %v, want refused", err)
	}
	if _, err := run(t, "", "--db", dbPath, "incidents", "show", "in-00000099"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show of a missing incident through the daemon = %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("daemon shutdown: %v", err)
	}
	// After the daemon: the file has it.
	if st := decodeIncidents(t, mustRun(t, "", "--db", dbPath, "incidents", "show", id, "-o", "json"))[0]; st.State != "contained" || st.Contained == nil {
		t.Errorf("after restart = %+v", st)
	}
}

// TestReadOnlyCommandMigratesAnOlderFile makes a schema 6 file by hand
// (incident lists inside the incident, no member bucket) and lists it with
// a read-only command: the file is migrated, and the incident reads back
// whole.
func TestReadOnlyCommandMigratesAnOlderFile(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "old.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	old := `{"id":"in-00000001","title":"ssh-bruteforce from 198.51.100.7","state":"new","severity":"medium","risk":5,` +
		`"detected":"2026-03-01T09:59:00Z","opened":"2026-03-01T10:00:00Z","last_seen":"2026-03-01T10:00:00Z",` +
		`"alerts":["al-00000001","al-00000002"],"decisions":[],"sources":["198.51.100.7"],"assets":["web1"],` +
		`"history":[{"time":"2026-03-01T10:00:00Z","actor":"engine","action":"opened","detail":"al-00000001","audit":1}]}`
	b, err := bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("incident_members")); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("incidents")).Put([]byte{0, 0, 0, 0, 0, 0, 0, 1}, append([]byte{1}, old...)); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("version"), []byte{0, 0, 0, 0, 0, 0, 0, 6})
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "--db", dbPath, "incidents", "show", "in-00000001", "-o", "json")
	var inc engine.Incident
	if err := json.Unmarshal([]byte(out), &inc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inc.Alerts, []string{"al-00000001", "al-00000002"}) || !reflect.DeepEqual(inc.Sources, []string{"198.51.100.7"}) || !reflect.DeepEqual(inc.Assets, []string{"web1"}) {
		t.Errorf("migrated incident = %+v", inc)
	}
}
