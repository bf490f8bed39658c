package notifiers

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// testMessage is a firing group of two alerts (documentation addresses)
// with one remediation awaiting approval.
func testMessage(key, status string) *Message {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return &Message{
		Key:         key,
		Status:      status,
		Receiver:    "ops",
		GroupLabels: map[string]string{"scenario": "ssh-bruteforce"},
		Level:       1,
		Alerts: []engine.Alert{
			{ID: "01HX0001", Time: t0, First: t0.Add(-2 * time.Minute), Scenario: "ssh-bruteforce", Severity: 6,
				Key: "198.51.100.7", Source: netip.MustParseAddr("198.51.100.7"), Sources: 1, Host: "gw1",
				Users: []string{"root"}, Count: 42, Propose: engine.ActionBlock, Risk: 8.5, Confidence: 0.9,
				Labels: map[string]string{"severity": "high"}},
			{ID: "01HX0002", Time: t0.Add(time.Second), Scenario: "port-scan", Severity: 3,
				Key: "203.0.113.9", Source: netip.MustParseAddr("203.0.113.9"), Dest: netip.MustParseAddr("192.0.2.10"),
				Count: 300, Propose: engine.ActionRateLimit, Risk: 4.1},
		},
		Pending: []engine.Decision{{ID: "01HX0003", Time: t0, AlertID: "01HX0001", Scenario: "ssh-bruteforce",
			Action: engine.ActionBlock, Target: netip.MustParsePrefix("198.51.100.7/32"), TTL: 4 * time.Hour,
			Expires: t0.Add(4 * time.Hour), State: engine.StatePending, Risk: 8.5, Reason: "risk 8.5 ≥ 8"}},
	}
}

// hostileMessage carries attacker-chosen text where logs put it.
func hostileMessage(key string) *Message {
	m := testMessage(key, StatusFiring)
	m.Alerts[0].Host = "<!channel> http://evil.example/x <script>alert(1)</script>"
	m.Alerts[0].Users = []string{"admin\r\nBcc: victim@example.org", "[click](https://evil.example)"}
	return m
}

// logBuffer is a goroutine-safe buffer for a JSON slog handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func debugLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// asError returns err as *Error or fails.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *notifiers.Error", err, err)
	}
	return e
}

// noSecret fails when any text contains secret.
func noSecret(t *testing.T, secret string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("secret %q leaked in %q", secret, s)
		}
	}
}
