package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
)

// term is a tmux session running the real binary in an 80×24 terminal.
type term struct {
	t    *testing.T
	name string
}

func newTerm(t *testing.T, cmdline string) *term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux (apt-get install tmux) to drive the console in a terminal")
	}
	tm := &term{t: t, name: fmt.Sprintf("ps%d", time.Now().UnixNano())}
	// remain-on-exit keeps the pane readable after the program quits.
	out, err := exec.Command("tmux", "new-session", "-d", "-s", tm.name, "-x", "80", "-y", "24", cmdline).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", tm.name).Run() })
	return tm
}

func (tm *term) screen() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", tm.name).Output()
	return string(out)
}

// screenEscapes is the screen with its colours and attributes as escape
// sequences.
func (tm *term) screenEscapes() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-e", "-t", tm.name).Output()
	return string(out)
}

func (tm *term) keys(keys ...string) {
	tm.t.Helper()
	if out, err := exec.Command("tmux", append([]string{"send-keys", "-t", tm.name}, keys...)...).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor waits until the screen shows want.
func (tm *term) waitFor(want string, within time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := tm.screen()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %q; it shows:\n%s", want, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alive reports whether the session still runs a program.
func (tm *term) alive() bool {
	return exec.Command("tmux", "has-session", "-t", tm.name).Run() == nil
}

// TestConsoleApprovesInATerminal drives the real binary in tmux at 80×24:
// the demo's campaign waits for approval, one key approves it, q quits, and
// the audit trail holds the approval and still verifies.
func TestConsoleApprovesInATerminal(t *testing.T) {
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "c.db")
	tm := newTerm(t, fmt.Sprintf("%s --db %s console --demo", bin, db))
	tm.waitFor("live", 20*time.Second)
	tm.keys("4")
	s := tm.waitFor("ssh-distribut", 20*time.Second)
	if !strings.Contains(s, "nft batch") {
		t.Errorf("pending view shows no nft batch:\n%s", s)
	}
	tm.keys("a")
	tm.waitFor("approved", 10*time.Second)
	tm.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for tm.alive() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if tm.alive() {
		t.Fatalf("console did not quit on q:\n%s", tm.screen())
	}
	out, err := exec.Command(bin, "--db", db, "audit", "list", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"action":"decision.approved"`)) || !bytes.Contains(out, []byte(`"actor":"console:`)) {
		t.Errorf("audit trail lacks the console's approval:\n%s", out)
	}
	if out, err := exec.Command(bin, "--db", db, "audit", "verify").CombinedOutput(); err != nil || !strings.Contains(string(out), "audit chain OK") {
		t.Errorf("audit verify after the console: %v: %s", err, out)
	}
}

// TestConsoleAttachesAndSurvivesTheDaemon attaches a console to a daemon,
// kills the daemon (the console says it is disconnected and retries), and
// sees it recover when a daemon is back on the same database.
func TestConsoleAttachesAndSurvivesTheDaemon(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	db := filepath.Join(dir, "d.db")
	cfg := filepath.Join(dir, "phantomsoc.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("sources:\n  - {name: auth, type: file, path: %s}\n", logPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	if err := os.WriteFile(logPath, []byte(attackLines(now, "203.0.113.50", 12, 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A restarted daemon resumes from the saved offset: it makes no new
	// decision, so only the first start waits for one.
	startDaemon := func(wantDecision bool) *exec.Cmd {
		d := exec.Command(bin, "--db", db, "--config", cfg, "--log-level", "error", "daemon")
		d.Stdout, d.Stderr = io.Discard, io.Discard
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Process.Kill(); _ = d.Wait() })
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		c := control.NewClient(socketPath(db))
		for {
			if st, err := c.Status(ctx); err == nil && (st.Decisions > 0 || !wantDecision) {
				return d
			}
			if ctx.Err() != nil {
				t.Fatal("daemon never reported a decision")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d := startDaemon(true)
	tm := newTerm(t, fmt.Sprintf("%s --db %s console --attach", bin, db))
	s := tm.waitFor("attached", 15*time.Second)
	if !strings.Contains(s, "203.0.113.50") {
		tm.keys("5")
		tm.waitFor("203.0.113.50", 10*time.Second)
	}
	_ = d.Process.Kill()
	_ = d.Wait()
	tm.waitFor("disconnected", 15*time.Second)
	startDaemon(false)
	tm.waitFor("● live", 20*time.Second)
	tm.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for tm.alive() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if tm.alive() {
		t.Fatal("attached console did not quit on q")
	}
	// Quitting an attached console leaves the daemon running.
	if _, err := control.NewClient(socketPath(db)).Status(t.Context()); err != nil {
		t.Errorf("daemon gone after the console quit: %v", err)
	}
}
