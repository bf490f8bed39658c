package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/store"
)

// buildBinary builds phantomsoc for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "phantomsoc")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDaemonKill9NeitherRereadsNorSkips kills a real daemon with SIGKILL
// mid-stream and restarts it: every line is counted exactly once. Then a
// SIGTERM stops it cleanly with exit status 0.
func TestDaemonKill9NeitherRereadsNorSkips(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	dbPath := filepath.Join(dir, "d.db")
	cfgPath := writeFile(t, dir, "c.yaml", fmt.Sprintf("sources:\n  - name: auth\n    type: file\n    path: %s\n", logPath))
	start := time.Now().UTC().Add(-2 * time.Hour)
	appendLog := func(from, n int) {
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(attackLines(start.Add(time.Duration(from)*time.Second), fmt.Sprintf("203.0.113.%d", 1+from%200), n, 1000+from))
	}
	daemon := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(bin, "--db", dbPath, "--config", cfgPath, "--log-format", "json", "--daemon")
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			if t.Failed() {
				t.Logf("daemon stderr:\n%s", errb.String())
			}
		})
		return cmd, done
	}
	sock := socketPath(dbPath)

	appendLog(0, 300)
	cmd, done := daemon()
	waitStatus(t, sock, done, func(s control.Status) bool { return s.Lines == 300 })
	// Kill it while it is busy with a large append.
	appendLog(300, 30000)
	waitStatus(t, sock, done, func(s control.Status) bool { return s.Lines > 300 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	// What was committed and the checkpoint must agree exactly.
	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := db.Stats()
	cp, _ := db.Checkpoint(logPath)
	db.Close()
	if cp == nil || uint64(cp.Line) != before.Lines {
		t.Fatalf("after kill -9: %d lines committed but checkpoint %+v", before.Lines, cp)
	}
	t.Logf("killed after %d of 30300 lines were committed", before.Lines)

	appendLog(30300, 150)
	cmd, done = daemon()
	waitStatus(t, sock, done, func(s control.Status) bool { return s.Lines == 30450-before.Lines })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}

	db, err = store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stats, _ := db.Stats()
	cp, _ = db.Checkpoint(logPath)
	if stats.Lines != 30450 || cp == nil || cp.Line != 30450 {
		t.Errorf("after kill -9 and restart: %d lines stored, checkpoint %+v; want exactly 30450", stats.Lines, cp)
	}
	if rep, err := db.VerifyAudit(); err != nil || !rep.OK {
		t.Errorf("audit after kill -9: %+v, %v", rep, err)
	}
}

// TestBenchReplaysAChildProcess runs bench's replay measurements against
// the built binary: a plain replay and one with the starter playbooks,
// twice each, with what each printed counted.
func TestBenchReplaysAChildProcess(t *testing.T) {
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "a.log")
	if _, err := writeSynth(path, 1, 5000, 1); err != nil {
		t.Fatal(err)
	}
	r := benchResult{Lines: 5000}
	if err := benchReplay(t.Context(), bin, path, 2, &r); err != nil {
		t.Fatal(err)
	}
	if err := benchReplayPlaybooks(t.Context(), bin, path, "starter", 2, &r); err != nil {
		t.Fatal(err)
	}
	if r.ReplayAlerts == 0 || r.ReplayDecisions == 0 || r.ReplaySeconds <= 0 || r.ReplayPeakMB <= 0 || r.ReplayLinesPerS <= 0 {
		t.Errorf("replay = %+v, want alerts, decisions, a time and a peak", r)
	}
	if r.PlaybooksSteps == 0 || r.PlaybooksSeconds <= 0 || r.PlaybooksPeakMB <= 0 {
		t.Errorf("replay with playbooks = %+v, want steps, a time and a peak", r)
	}
	if _, _, _, err := replayRuns(t.Context(), 1, bin, "--playbooks", filepath.Join(t.TempDir(), "none"), path); err == nil {
		t.Error("a replay that fails (no such playbooks) was measured")
	}
}
