package notifiers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPagerDutyWebhook posts to the webhook running on a loopback port:
// what reaches the handler, what PagerDuty is answered, and that the
// secret shows in no log or error.
func TestPagerDutyWebhook(t *testing.T) {
	const secret = "pd-whsec-8c1d07e2"
	t.Setenv("TEST_PD_WEBHOOK_SECRET", secret)
	sign := func(body string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		return "v1=" + hex.EncodeToString(m.Sum(nil))
	}
	var (
		mu  sync.Mutex
		got []PagerDutyIncidentEvent
	)
	handle := func(_ context.Context, ev PagerDutyIncidentEvent) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		switch ev.DedupKey {
		case "not-ours":
			return ErrUnknownIncident
		case "db-down":
			return errors.New("database is locked")
		}
		return nil
	}
	var logs logBuffer
	w, err := NewPagerDutyWebhook(PagerDutyWebhookConfig{Listen: "127.0.0.1:0", Path: "/hooks/pd", SecretEnv: "TEST_PD_WEBHOOK_SECRET"},
		handle, Options{Logger: debugLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	if err := w.Listen(); err != nil { // idempotent: Run may have bound it first
		t.Fatal(err)
	}
	event := func(typ, key, agent string) string {
		a := "null"
		if agent != "" {
			a = `{"id":"PUSER01","summary":"` + agent + `","type":"user_reference"}`
		}
		return `{"event":{"id":"EV1","event_type":"` + typ + `","resource_type":"incident","occurred_at":"2026-11-23T12:00:00Z",` +
			`"agent":` + a + `,"data":{"id":"PINC01","type":"incident","incident_key":"` + key + `"}}}`
	}
	tests := []struct {
		name     string
		body     string
		sig      string // "" signs the body
		wantCode int
		want     string // the handler's view of the event; "" when it is not called
	}{
		{"acknowledged", event("incident.acknowledged", "g#1/1:pager", `Jane\nDoe`), "", http.StatusNoContent,
			"incident.acknowledged PINC01 g#1/1:pager Jane Doe PUSER01 2026-11-23T12:00:00Z"},
		{"resolved automatically", event("incident.resolved", "g#1/2:pager", ""), "", http.StatusNoContent,
			"incident.resolved PINC01 g#1/2:pager   2026-11-23T12:00:00Z"},
		{"not ours", event("incident.acknowledged", "not-ours", "Jane"), "", http.StatusNoContent,
			"incident.acknowledged PINC01 not-ours Jane PUSER01 2026-11-23T12:00:00Z"},
		{"handler failed: PagerDuty retries", event("incident.acknowledged", "db-down", "Jane"), "", http.StatusInternalServerError,
			"incident.acknowledged PINC01 db-down Jane PUSER01 2026-11-23T12:00:00Z"},
		{"no dedup key", event("incident.acknowledged", "", "Jane"), "", http.StatusNoContent, ""},
		{"ping", `{"event":{"id":"EV0","event_type":"pagey.ping","resource_type":"pagey","data":{}}}`, "", http.StatusNoContent, ""},
		{"signed garbage", `not json`, "", http.StatusBadRequest, ""},
		{"not hex", event("incident.acknowledged", "g#1/1:pager", "Jane"), "v1=zz", http.StatusUnauthorized, ""},
		{"other scheme", event("incident.acknowledged", "g#1/1:pager", "Jane"), "v0=" + strings.Repeat("0", 64), http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, w.URL(), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			sig := tc.sig
			if sig == "" {
				sig = sign(tc.body)
			}
			req.Header.Set(HeaderPagerDutySignature, sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			mu.Lock()
			defer mu.Unlock()
			var seen string
			if len(got) == 1 {
				e := got[0]
				seen = strings.Join([]string{e.Type, e.IncidentID, e.DedupKey, e.Agent, e.AgentID, e.OccurredAt.Format(time.RFC3339)}, " ")
			} else if len(got) > 1 {
				t.Fatalf("handler called %d times", len(got))
			}
			if seen != tc.want {
				t.Errorf("handler saw %q, want %q", seen, tc.want)
			}
		})
	}
	_, err = NewPagerDutyWebhook(PagerDutyWebhookConfig{SecretEnv: "TEST_PD_WEBHOOK_UNSET_ZZ"}, handle, Options{})
	if err == nil || !strings.Contains(err.Error(), "secret_env") {
		t.Errorf("NewPagerDutyWebhook with an unset secret = %v, want a secret_env error", err)
	}
	noSecret(t, secret, logs.String(), err.Error())
	if !strings.Contains(logs.String(), "bad signature") {
		t.Errorf("logs lack the refused signature:\n%s", logs.String())
	}
}
