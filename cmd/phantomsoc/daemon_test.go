package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/store"
)

// attackLines writes n failed logins from one source, one second apart.
func attackLines(start time.Time, src string, n, pid int) string {
	var b strings.Builder
	for i := range n {
		t := start.Add(time.Duration(i) * time.Second)
		fmt.Fprintf(&b, "%s gw1 sshd[%d]: Failed password for root from %s port %d ssh2\n", t.Format(time.Stamp), pid+i, src, 40000+i)
	}
	return b.String()
}

// daemonSetup writes a config following one file, which holds 12 failed
// logins from 203.0.113.50 an hour ago; extra is appended to the config.
func daemonSetup(t *testing.T, extra string) (logPath, dbPath string, g *globals, now time.Time) {
	t.Helper()
	dir := t.TempDir()
	logPath = filepath.Join(dir, "auth.log")
	dbPath = filepath.Join(dir, "d.db")
	cfgPath := filepath.Join(dir, "phantomsoc.yaml")
	cfg := fmt.Sprintf("sources:\n  - name: auth\n    type: file\n    path: %s\n%s", logPath, extra)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	now = time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	if err := os.WriteFile(logPath, []byte(attackLines(now, "203.0.113.50", 12, 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	g = &globals{db: dbPath, config: cfgPath, output: outputTable, logFormat: "json", logLevel: "error"}
	return logPath, dbPath, g, now
}

// waitStatus polls the daemon's control socket until cond holds.
func waitStatus(t *testing.T, sock string, errc <-chan error, cond func(control.Status) bool) control.Status {
	t.Helper()
	c := control.NewClient(sock)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := c.Status(t.Context())
		if err == nil && cond(st) {
			return st
		}
		select {
		case err := <-errc:
			t.Fatalf("daemon exited early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon never reached the expected state; last status %+v, err %v", st, err)
		}
	}
}

// TestDaemonFollowsAndResumes runs the daemon on a followed file, stops it,
// appends, restarts it: nothing is read twice and nothing skipped.
func TestDaemonFollowsAndResumes(t *testing.T) {
	logPath, dbPath, g, now := daemonSetup(t, "")

	start := func() (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon") }()
		return cancel, errc
	}

	cancel, errc := start()
	st := waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Lines == 12 && s.Decisions > 0 })
	if st.Mode != "daemon" || !st.DryRun {
		t.Errorf("status = %+v, want daemon mode, dry-run", st)
	}
	// While the daemon owns the database, the listing commands ask it.
	alerts := mustRun(t, "", "--db", dbPath, "alerts", "list", "-o", "json")
	if !strings.Contains(alerts, `"source":"203.0.113.50"`) {
		t.Errorf("alerts list through the daemon = %q", alerts)
	}
	var first record
	if err := json.Unmarshal([]byte(alerts[:strings.IndexByte(alerts, '\n')]), &first); err != nil {
		t.Fatal(err)
	}
	if show := mustRun(t, "", "--db", dbPath, "alerts", "show", first.ID); !strings.Contains(show, first.ID) {
		t.Errorf("alerts show through the daemon = %q", show)
	}
	if _, err := run(t, "", "--db", dbPath, "alerts", "show", "al-99999999"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("alerts show of a missing ID through the daemon = %v, want not found", err)
	}
	if v := mustRun(t, "", "--db", dbPath, "audit", "verify"); !strings.Contains(v, "audit chain OK") {
		t.Errorf("audit verify through the daemon = %q", v)
	}
	if d := mustRun(t, "", "--db", dbPath, "decisions", "list"); !strings.Contains(d, "203.0.113.50") {
		t.Errorf("decisions list through the daemon = %q", d)
	}
	// Appended while running: followed.
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(attackLines(now.Add(time.Minute), "198.51.100.60", 8, 2000))
	f.Close()
	waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Lines == 20 })
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("daemon shutdown: %v", err)
	}

	// Written while down, then a restart: only the new lines are read.
	f, _ = os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(attackLines(now.Add(2*time.Minute), "198.51.100.61", 5, 3000))
	f.Close()
	cancel, errc = start()
	waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Lines == 5 })
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("daemon shutdown: %v", err)
	}

	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stats, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Lines != 25 {
		t.Errorf("stored lines = %d, want exactly 25 (no line read twice or skipped)", stats.Lines)
	}
	cp, err := db.Checkpoint(logPath)
	if err != nil || cp == nil || cp.Line != 25 {
		t.Errorf("checkpoint = %+v, %v; want line 25", cp, err)
	}
	decs, err := db.Decisions(store.DecisionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, d := range decs {
		targets = append(targets, d.TargetString())
	}
	if !strings.Contains(strings.Join(targets, " "), "203.0.113.50") {
		t.Errorf("decisions %v lack the brute-forcer 203.0.113.50", targets)
	}
}

func TestDaemonWithoutSourcesExplains(t *testing.T) {
	g := &globals{db: filepath.Join(t.TempDir(), "x.db"), output: outputTable, logFormat: "text", logLevel: "error"}
	err := runEngine(t.Context(), io.Discard, io.Discard, g, newRunOptions(), "daemon")
	if err == nil || !strings.Contains(err.Error(), "no sources configured") {
		t.Fatalf("runEngine = %v, want the no-sources advice", err)
	}
}

func TestSecondOwnerIsRefused(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "x.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = run(t, "", "--db", dbPath, "alerts", "list")
	if err == nil || !strings.Contains(err.Error(), "status") {
		t.Fatalf("alerts list on an owned database = %v, want advice to use the owner", err)
	}
}

func TestEngineRefusesToRunWithoutItsControlSocket(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "d.db")
	// A regular file where the socket belongs: the engine must not start.
	if err := os.WriteFile(socketPath(dbPath), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &globals{db: dbPath, output: outputTable, logFormat: "text", logLevel: "error"}
	run := newRunOptions()
	run.demo = true
	err := runEngine(t.Context(), io.Discard, io.Discard, g, run, "foreground")
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("runEngine with a blocked control socket = %v, want the socket error", err)
	}
}
