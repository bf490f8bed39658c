package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/route"
	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/store"
)

const pdWebhookSecret = "whsec-test-5f1c0a"

// pdEvents is a PagerDuty Events API v2 server that records each event's
// action and dedup key.
type pdEvents struct {
	*httptest.Server
	mu     sync.Mutex
	events []string // "trigger <dedup_key>"
}

func newPDEvents(t *testing.T) *pdEvents {
	p := &pdEvents{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			RoutingKey  string `json:"routing_key"`
			EventAction string `json:"event_action"`
			DedupKey    string `json:"dedup_key"`
		}
		if r.URL.Path != "/v2/enqueue" || json.NewDecoder(r.Body).Decode(&ev) != nil || ev.RoutingKey != "pd-routing-key" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.events = append(p.events, ev.EventAction+" "+ev.DedupKey)
		p.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, ev.DedupKey)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pdEvents) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.events...)
}

// pdWebhookBody is a V3 webhook event about the incident with key.
func pdWebhookBody(eventType, key, agent string) []byte {
	ag := "null"
	if agent != "" {
		ag = fmt.Sprintf(`{"id":"PLH1HKV","summary":%q,"type":"user_reference"}`, agent)
	}
	return fmt.Appendf(nil, `{"event":{"id":"01DEN4HPBQAYEW","event_type":%q,"resource_type":"incident",`+
		`"occurred_at":"2026-11-23T12:03:00.000Z","agent":%s,"client":null,"data":{"id":"PGR0VU2","type":"incident",`+
		`"number":2,"status":"acknowledged","incident_key":%q,"title":"ssh-bruteforce"}}}`, eventType, ag, key)
}

func pdSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// escalationEnv routes every alert, one group each, to PagerDuty at
// level 1 and to a webhook ("lead") at level 2 after 15 minutes, with the
// inbound PagerDuty webhook listening on a loopback port.
type escalationEnv struct {
	n    *notifying
	db   *store.DB
	pd   *pdEvents
	lead *hookServer
	url  string
}

func newEscalationEnv(t *testing.T) *escalationEnv {
	t.Setenv("PD_TEST_ROUTING_KEY", "pd-routing-key")
	t.Setenv("PD_TEST_WEBHOOK_SECRET", pdWebhookSecret)
	env := &escalationEnv{pd: newPDEvents(t), lead: newHookServer(t)}
	env.lead.up.Store(true)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "phantomsoc.yaml")
	yml := fmt.Sprintf(`receivers:
  - name: pager
    pagerduty: {routing_key_env: PD_TEST_ROUTING_KEY, endpoint: %q}
  - name: lead
    webhook: {url: %q}
routing:
  route:
    group_by: ["..."]
    group_wait: 0s
    group_interval: 1m
    escalation:
      levels:
        - receivers: [pager]
        - receivers: [lead]
          after: 15m
inbound:
  pagerduty: {listen: "127.0.0.1:0", secret_env: PD_TEST_WEBHOOK_SECRET}
`, env.pd.URL, env.lead.URL)
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if env.db, err = store.Open(filepath.Join(dir, "d.db"), store.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.db.Close() })
	logger := slog.New(slog.DiscardHandler)
	if env.n, err = buildNotifying(t.Context(), &cfg, env.db, logger); err != nil {
		t.Fatal(err)
	}
	if err := env.n.listenInbound(&cfg.Inbound, logger); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.n.closeInbound)
	env.url = env.n.pdHook.URL()
	if !strings.HasPrefix(env.url, "http://127.0.0.1:") {
		t.Fatalf("webhook URL %q, want loopback", env.url)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.n.pdHook.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("webhook Run = %v", err)
		}
	})
	return env
}

// step ticks the router at at and delivers what is due.
func (env *escalationEnv) step(t *testing.T, at time.Time) {
	t.Helper()
	if err := env.n.tick(t.Context(), at); err != nil {
		t.Fatalf("tick at %v: %v", at, err)
	}
	if _, err := env.n.del.DeliverDue(t.Context()); err != nil {
		t.Fatalf("deliver: %v", err)
	}
}

// TestPagerDutyAckStopsEscalation pages PagerDuty (level 1), posts a
// webhook to the running listener, then lets the level 2 delay pass: a
// correctly signed acknowledgement (or resolution) stops the chain;
// anything else leaves it running.
func TestPagerDutyAckStopsEscalation(t *testing.T) {
	tests := []struct {
		name string
		// body and header build the request from the incident's dedup key.
		body       func(key string) []byte
		header     func(body []byte) []string
		method     string
		wantCode   int
		wantActor  string // of the audit record; "" when nothing is acknowledged
		wantLevel2 bool
	}{
		{name: "acknowledged, signed",
			body:     func(k string) []byte { return pdWebhookBody("incident.acknowledged", k, "Jane Doe") },
			header:   func(b []byte) []string { return []string{pdSign(pdWebhookSecret, b)} },
			wantCode: http.StatusNoContent, wantActor: "pagerduty:Jane Doe"},
		{name: "resolved by nobody in particular, signed",
			body:     func(k string) []byte { return pdWebhookBody("incident.resolved", k, "") },
			header:   func(b []byte) []string { return []string{pdSign(pdWebhookSecret, b)} },
			wantCode: http.StatusNoContent, wantActor: "pagerduty"},
		{name: "two signatures while a secret rotates, one ours",
			body: func(k string) []byte { return pdWebhookBody("incident.acknowledged", k, "Jane Doe") },
			header: func(b []byte) []string {
				return []string{pdSign("old-secret", b) + ", " + pdSign(pdWebhookSecret, b)}
			},
			wantCode: http.StatusNoContent, wantActor: "pagerduty:Jane Doe"},
		{name: "signed with another secret",
			body:     func(k string) []byte { return pdWebhookBody("incident.acknowledged", k, "Mallory") },
			header:   func(b []byte) []string { return []string{pdSign("guessed", b)} },
			wantCode: http.StatusUnauthorized, wantLevel2: true},
		{name: "signature of another body",
			body:     func(k string) []byte { return pdWebhookBody("incident.acknowledged", k, "Mallory") },
			header:   func([]byte) []string { return []string{pdSign(pdWebhookSecret, []byte("{}"))} },
			wantCode: http.StatusUnauthorized, wantLevel2: true},
		{name: "unsigned",
			body:     func(k string) []byte { return pdWebhookBody("incident.acknowledged", k, "Mallory") },
			header:   func([]byte) []string { return nil },
			wantCode: http.StatusUnauthorized, wantLevel2: true},
		{name: "oversized, though signed",
			body: func(k string) []byte {
				b := pdWebhookBody("incident.acknowledged", k, "Jane Doe")
				return append(b[:len(b)-1], fmt.Sprintf(`,"pad":%q}`, strings.Repeat("x", 300<<10))...)
			},
			header:   func(b []byte) []string { return []string{pdSign(pdWebhookSecret, b)} },
			wantCode: http.StatusRequestEntityTooLarge, wantLevel2: true},
		{name: "another event type is accepted and ignored",
			body:     func(k string) []byte { return pdWebhookBody("incident.annotated", k, "Jane Doe") },
			header:   func(b []byte) []string { return []string{pdSign(pdWebhookSecret, b)} },
			wantCode: http.StatusNoContent, wantLevel2: true},
		{name: "an incident that is not ours is accepted and ignored",
			body: func(string) []byte {
				return pdWebhookBody("incident.acknowledged", `route{fingerprint="0000"}#99/1:pager`, "Jane Doe")
			},
			header:   func(b []byte) []string { return []string{pdSign(pdWebhookSecret, b)} },
			wantCode: http.StatusNoContent, wantLevel2: true},
		{name: "not a POST",
			body:     func(string) []byte { return nil },
			header:   func(b []byte) []string { return []string{pdSign(pdWebhookSecret, b)} },
			method:   http.MethodGet,
			wantCode: http.StatusMethodNotAllowed, wantLevel2: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEscalationEnv(t)
			a := engine.Alert{ID: "al-00000001", Time: time.Now(), Scenario: "ssh-bruteforce", Severity: 6, Risk: 8,
				Source: netip.MustParseAddr("203.0.113.7"), Key: "203.0.113.7"}
			env.n.Committed(&engine.Commit{Alerts: []engine.Alert{a}})
			t0 := time.Now() // the router stamps the alert with the wall clock
			env.step(t, t0)
			events := env.pd.list()
			if len(events) != 1 || !strings.HasPrefix(events[0], "trigger ") {
				t.Fatalf("PagerDuty got %q, want one trigger", events)
			}
			key := strings.TrimPrefix(events[0], "trigger ")
			body := tc.body(key)
			method := cmp.Or(tc.method, http.MethodPost)
			req, err := http.NewRequestWithContext(t.Context(), method, env.url, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for _, h := range tc.header(body) {
				req.Header.Add("X-PagerDuty-Signature", h)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("webhook answered %d, want %d", resp.StatusCode, tc.wantCode)
			}

			env.step(t, t0.Add(16*time.Minute))
			if n, _ := env.lead.counts(); (n > 0) != tc.wantLevel2 {
				t.Errorf("level 2 notified %d times, want level 2 sent: %v", n, tc.wantLevel2)
			}
			recs, err := env.db.AuditTail(20)
			if err != nil {
				t.Fatal(err)
			}
			var acks []store.AuditRecord
			for _, r := range recs {
				if r.Action == "alert.acknowledged" {
					acks = append(acks, r)
				}
			}
			if tc.wantActor == "" {
				if len(acks) > 0 {
					t.Errorf("audit holds acknowledgements by %q, want none", acks[0].Actor)
				}
				return
			}
			var detail struct {
				DedupKey string `json:"dedup_key"`
				Incident string `json:"incident"`
			}
			if len(acks) != 1 || json.Unmarshal(acks[0].Detail, &detail) != nil || acks[0].Actor != tc.wantActor ||
				detail.DedupKey != key || detail.Incident != "PGR0VU2" {
				t.Errorf("audit acknowledgements = %+v, want one by %q naming dedup key %q and incident PGR0VU2", acks, tc.wantActor, key)
			}
		})
	}
}

// TestInboundConfigErrors: the section's errors name file:line:col and
// the field.
func TestInboundConfigErrors(t *testing.T) {
	const routing = "receivers:\n  - {name: ops, webhook: {url: \"http://127.0.0.1:9/x\"}}\nrouting:\n  route: {receiver: ops}\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no secret", routing + "inbound:\n  pagerduty:\n    listen: 127.0.0.1:8095\n",
			[]string{"bad.yaml:7:", "inbound.pagerduty.secret_env: required"}},
		{"secret twice", routing + "inbound:\n  pagerduty: {secret_env: A, secret_file: /run/s}\n",
			[]string{"bad.yaml:6:", "inbound.pagerduty.secret_env: set only one"}},
		{"bad listen and path", routing + "inbound:\n  pagerduty:\n    secret_env: A\n    listen: localhost\n    path: pagerduty\n",
			[]string{"bad.yaml:8:13: inbound.pagerduty.listen", "bad.yaml:9:11: inbound.pagerduty.path"}},
		{"no routing", "inbound:\n  pagerduty: {secret_env: A}\n",
			[]string{"bad.yaml:2:", "inbound.pagerduty: acknowledgements act on the routing tree"}},
		{"unknown field", routing + "inbound:\n  pagerduty: {secret_env: A, secret: hunter2}\n",
			[]string{"bad.yaml:6:", "secret"}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(p)
			if err == nil {
				t.Fatal("loadConfig accepted a bad inbound section")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestPagerDutyGroupFromDedupKey maps every dedup key form back to its
// group: a notification ID (incidents opened before keys were per group),
// a group key with its receiver, and the hashed form of a group key too
// long for PagerDuty, found among the open groups.
func TestPagerDutyGroupFromDedupKey(t *testing.T) {
	r, err := route.New(route.Config{Route: route.Route{Receiver: "pd", GroupBy: []string{"scenario", "host"}}, Receivers: []string{"pd"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	d, err := route.NewDispatcher(r, route.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("h", 300) // a host label that makes the group key too long
	d.Add(&engine.Alert{ID: "al-1", Time: now, Scenario: "ssh-bruteforce", Host: long, Key: "198.51.100.7", Risk: 8,
		Source: netip.MustParseAddr("198.51.100.7")})
	keys := d.GroupKeys()
	if len(keys) != 1 {
		t.Fatalf("groups %v, want one", keys)
	}
	group := keys[0]
	if k := notifiers.GroupDedupKey(group, "pd"); !strings.HasPrefix(k, "phantomsoc-") {
		t.Fatalf("group key %d bytes gives dedup key %.40q, want the hashed form", len(group), k)
	}
	n := &notifying{disp: d}
	for _, tc := range []struct {
		dk        string
		wantGroup string
		ok        bool
	}{
		{"g1#3/2:pd", "g1#3", true},
		{"g1#3:pd", "g1#3", true},
		{notifiers.GroupDedupKey(group, "pd"), group, true},
		{notifiers.GroupDedupKey(group+"x", "pd"), "", false},
		{"nocolon", "", false},
		{"g1#3:", "", false},
	} {
		g, recv, ok := n.pagerDutyGroup(tc.dk)
		if ok != tc.ok || g != tc.wantGroup || (ok && recv != "pd") {
			t.Errorf("pagerDutyGroup(%.40q) = %.40q %q %v, want %.40q %v", tc.dk, g, recv, ok, tc.wantGroup, tc.ok)
		}
	}
}
