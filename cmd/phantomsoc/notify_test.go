package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/store"
)

// hookServer is a webhook receiver that can be down, and counts every
// delivery by its idempotency key.
type hookServer struct {
	*httptest.Server
	up     atomic.Bool
	mu     sync.Mutex
	keys   map[string]int
	bodies []string
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{keys: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.up.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.keys[r.Header.Get(notifiers.HeaderKey)]++
		h.bodies = append(h.bodies, string(body))
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) counts() (distinct, twice int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.keys {
		distinct++
		if n > 1 {
			twice++
		}
	}
	return distinct, twice
}

// notifyConfig follows logPath and routes every alert, in its own group, to
// a webhook receiver at hookURL; extra lines go into the routing section.
func notifyConfig(t testing.TB, dir, logPath, hookURL string, extra ...string) string {
	cfg := fmt.Sprintf(`sources:
  - {name: auth, type: file, path: %s}
receivers:
  - name: hook
    webhook: {url: %q}
routing:
  route:
    receiver: hook
    group_by: ["..."]
    group_wait: 0s
    group_interval: 1s
`, logPath, hookURL)
	for _, e := range extra {
		cfg += "  " + e + "\n"
	}
	p := filepath.Join(dir, "phantomsoc.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNotificationsSurviveAKill queues alerts while the receiver is down,
// kills the daemon with SIGKILL, restarts it and brings the receiver up:
// every alert is delivered, none twice.
func TestNotificationsSurviveAKill(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	hook := newHookServer(t)
	logPath := filepath.Join(dir, "auth.log")
	db := filepath.Join(dir, "d.db")
	cfg := notifyConfig(t, dir, logPath, hook.URL)
	const sources = 100
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var lines strings.Builder
	for i := range sources {
		lines.WriteString(attackLines(now.Add(time.Duration(i)*time.Second), fmt.Sprintf("203.0.113.%d", i+1), 12, 1000+i))
	}
	if err := os.WriteFile(logPath, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		d := exec.Command(bin, "--db", db, "--config", cfg, "--log-level", "error", "daemon")
		d.Stdout, d.Stderr = io.Discard, io.Discard
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Process.Kill(); _ = d.Wait() })
		return d
	}
	d := start()
	// Wait until every alert's notification is queued in the outbox.
	c := control.NewClient(socketPath(db))
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Status(t.Context())
		if err == nil && st.Alerts >= sources {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon never raised %d alerts (status %+v, %v)", sources, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the router ticks and queues
	if err := d.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.Wait()
	if n, _ := hook.counts(); n != 0 {
		t.Fatalf("%d notifications arrived while the receiver was down", n)
	}
	sdb, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := sdb.Pending(0)
	sdb.Close()
	if err != nil || len(queued) < sources {
		t.Fatalf("outbox after the kill holds %d pending (%v), want at least %d", len(queued), err, sources)
	}
	hook.up.Store(true)
	start()
	deadline = time.Now().Add(60 * time.Second)
	for {
		n, _ := hook.counts()
		if n >= len(queued) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d notifications arrived after the restart", n, len(queued))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n, twice := hook.counts(); n != len(queued) || twice != 0 {
		t.Fatalf("%d distinct notifications arrived, %d of them twice; want %d, none twice", n, twice, len(queued))
	}
}

// TestSilencesAndAckThroughTheDaemon: a silence made before an attack keeps
// its alert from paging while another source's alert is delivered; an
// acknowledgement is audited; both work with and without a daemon.
func TestSilencesAndAckThroughTheDaemon(t *testing.T) {
	dir := t.TempDir()
	hook := newHookServer(t)
	hook.up.Store(true)
	logPath := filepath.Join(dir, "auth.log")
	dbPath := filepath.Join(dir, "d.db")
	cfg := notifyConfig(t, dir, logPath, hook.URL)
	args := func(a ...string) []string { return append([]string{"--db", dbPath, "--config", cfg}, a...) }
	// No daemon yet: the silence goes into the saved router state.
	mustRun(t, "", args("silences", "add", "--matcher", "source=203.0.113.77", "--duration", "1h", "--comment", "red team")...)
	if out := mustRun(t, "", args("silences", "list", "-o", "json")...); !strings.Contains(out, `"source=203.0.113.77"`) {
		t.Fatalf("silences list = %s", out)
	}
	if _, err := run(t, "", args("silences", "add", "--matcher", "source=1.2.3.4")...); err == nil {
		t.Error("a silence without a comment was accepted")
	}
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	body := attackLines(now, "203.0.113.77", 12, 1000) + attackLines(now.Add(time.Second), "203.0.113.78", 12, 2000)
	if err := os.WriteFile(logPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &globals{db: dbPath, config: cfg, output: outputTable, logFormat: "json", logLevel: "error"}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon") }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Alerts >= 2 })
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := hook.counts(); n == 0 && time.Now().Before(deadline); n, _ = hook.counts() {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	hook.mu.Lock()
	joined := strings.Join(hook.bodies, "\n")
	hook.mu.Unlock()
	if !strings.Contains(joined, "203.0.113.78") || strings.Contains(joined, "203.0.113.77") {
		t.Errorf("delivered:\n%s\nwant the unsilenced source's alerts only", joined)
	}
	if st := mustRun(t, "", args("status")...); !strings.Contains(st, "notifications: ") || !strings.Contains(st, " sent,") {
		t.Errorf("status lacks the notification counts:\n%s", st)
	}
	// Through the daemon now.
	out := mustRun(t, "", args("silences", "list", "-o", "json")...)
	var s struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &s); err != nil || s.ID == "" {
		t.Fatalf("silences list through the daemon = %s (%v)", out, err)
	}
	mustRun(t, "", args("silences", "expire", s.ID)...)
	alerts := mustRun(t, "", args("alerts", "list", "-o", "json")...)
	var first struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(alerts, "\n", 2)[0]), &first); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "", args("alerts", "ack", first.ID)...); !strings.Contains(out, "acknowledged "+first.ID) {
		t.Errorf("alerts ack = %q", out)
	}
	if audit := mustRun(t, "", args("audit", "list", "-o", "json")...); !strings.Contains(audit, `"action":"alert.acknowledged"`) {
		t.Error("the acknowledgement is not in the audit trail")
	}
}

// TestResolvedIsNotified: an alert quiet for resolve_timeout is notified as
// resolved.
func TestResolvedIsNotified(t *testing.T) {
	dir := t.TempDir()
	hook := newHookServer(t)
	hook.up.Store(true)
	logPath := filepath.Join(dir, "auth.log")
	dbPath := filepath.Join(dir, "d.db")
	cfg := notifyConfig(t, dir, logPath, hook.URL, "resolve_timeout: 1s")
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	if err := os.WriteFile(logPath, []byte(attackLines(now, "203.0.113.90", 12, 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &globals{db: dbPath, config: cfg, output: outputTable, logFormat: "json", logLevel: "error"}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon") }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		hook.mu.Lock()
		all := strings.Join(hook.bodies, "\n")
		hook.mu.Unlock()
		if strings.Contains(all, `"status":"firing"`) && strings.Contains(all, `"status":"resolved"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no firing then resolved notification within 15s; got:\n%s", all)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
