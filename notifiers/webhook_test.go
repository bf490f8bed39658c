package notifiers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testHMACKey = "hmac-key-5f0c1e"
	testHdrTok  = "hdr-token-a7d2"
)

// webhookReceiver verifies what a real receiver would: signature over the
// exact bytes, idempotency header, the secret header; it answers with
// status (and Retry-After when set).
type webhookReceiver struct {
	t          *testing.T
	status     atomic.Int32
	retryAfter atomic.Value // string
	mu         sync.Mutex
	keys       []string
	bodies     []WebhookPayload
	raw        [][]byte
}

func (wr *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(testHMACKey))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get("X-Phantomsoc-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		wr.t.Errorf("signature = %q, want %q", got, want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testHdrTok {
		wr.t.Errorf("Authorization = %q, want the secret bearer header", got)
	}
	if got := r.Header.Get("X-Tenant"); got != "soc-1" {
		wr.t.Errorf("X-Tenant = %q, want soc-1", got)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		wr.t.Errorf("Content-Type = %q", ct)
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		wr.t.Errorf("body is not JSON: %v", err)
	}
	key := r.Header.Get("X-Phantomsoc-Key")
	if key != p.Key {
		wr.t.Errorf("X-Phantomsoc-Key = %q, body key %q", key, p.Key)
	}
	wr.mu.Lock()
	wr.keys = append(wr.keys, key)
	wr.bodies = append(wr.bodies, p)
	wr.raw = append(wr.raw, body)
	wr.mu.Unlock()
	if ra, _ := wr.retryAfter.Load().(string); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	st := int(wr.status.Load())
	if st == 0 {
		st = http.StatusNoContent
	}
	if st >= 300 && st < 400 {
		w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
	}
	w.WriteHeader(st)
	if st >= 400 {
		fmt.Fprintf(w, `{"error":"status %d"}`, st)
	}
}

func newTestWebhook(t *testing.T, url string, o Options) *Webhook {
	t.Helper()
	t.Setenv("TEST_WEBHOOK_HMAC", testHMACKey)
	t.Setenv("TEST_WEBHOOK_TOKEN", testHdrTok)
	w, err := NewWebhook(WebhookConfig{
		URL:       url,
		SecretEnv: "TEST_WEBHOOK_HMAC",
		Headers: []HeaderConfig{
			{Name: "Authorization", Value: "Bearer ", ValueEnv: "TEST_WEBHOOK_TOKEN"},
			{Name: "X-Tenant", Value: "soc-1"},
		},
		Timeout: 5 * time.Second,
	}, o)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

func TestWebhookSendSchemaAndIdempotency(t *testing.T) {
	rcv := &webhookReceiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	w := newTestWebhook(t, srv.URL+"/hook", Options{Receiver: "ops"})

	m := testMessage("grp-ops-1", StatusFiring)
	for range 2 { // a resend
		res, err := w.Send(t.Context(), m)
		if err != nil {
			t.Fatalf("Send = %v", err)
		}
		if res.Status != http.StatusNoContent || res.Remote != m.Key {
			t.Errorf("Send = %+v, want status 204, remote %q", res, m.Key)
		}
	}
	if len(rcv.keys) != 2 || rcv.keys[0] != rcv.keys[1] || rcv.keys[0] != "grp-ops-1" {
		t.Errorf("idempotency keys = %q, want the message key twice", rcv.keys)
	}
	if string(rcv.raw[0]) != string(rcv.raw[1]) {
		t.Errorf("a resend changed the body:\n%s\n%s", rcv.raw[0], rcv.raw[1])
	}

	// The documented schema, by field name.
	var generic map[string]any
	if err := json.Unmarshal(rcv.raw[0], &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "key", "status", "receiver", "level", "group_labels", "title", "text", "alerts", "pending"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("body lacks %q: %s", k, rcv.raw[0])
		}
	}
	alert := generic["alerts"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "scenario", "source", "risk", "severity", "time", "summary"} {
		if _, ok := alert[k]; !ok {
			t.Errorf("alert lacks %q: %v", k, alert)
		}
	}
	p := rcv.bodies[0]
	if p.Version != 1 || p.Status != "firing" || p.Receiver != "ops" || p.GroupLabels["scenario"] != "ssh-bruteforce" {
		t.Errorf("payload header = %+v", p)
	}
	if a := p.Alerts[0]; a.Source != "198.51.100.7" || a.Risk != 8.5 || !strings.Contains(a.Summary, "ssh-bruteforce from 198.51.100.7") {
		t.Errorf("alert = %+v", a)
	}
	if len(p.Pending) != 1 || p.Pending[0].Action != "block" || p.Pending[0].Target != "198.51.100.7" || p.Pending[0].TTL != "4h0m0s" {
		t.Errorf("pending = %+v", p.Pending)
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	rcv := &webhookReceiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	w := newTestWebhook(t, srv.URL, Options{Receiver: "ops"})
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)

	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantErr    bool
		permanent  bool
		wantRetry  time.Duration // lower bound
	}{
		{name: "200", status: 200},
		{name: "202", status: 202},
		{name: "204", status: 204},
		{name: "301 not followed", status: 301, wantErr: true, permanent: true},
		{name: "400", status: 400, wantErr: true, permanent: true},
		{name: "401", status: 401, wantErr: true, permanent: true},
		{name: "404", status: 404, wantErr: true, permanent: true},
		{name: "408", status: 408, wantErr: true},
		{name: "429 seconds", status: 429, retryAfter: "7", wantErr: true, wantRetry: 7 * time.Second},
		{name: "429 huge capped", status: 429, retryAfter: "999999", wantErr: true, wantRetry: time.Hour},
		{name: "500", status: 500, wantErr: true},
		{name: "503 date", status: 503, retryAfter: date, wantErr: true, wantRetry: 80 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv.status.Store(int32(tc.status))
			rcv.retryAfter.Store(tc.retryAfter)
			res, err := w.Send(t.Context(), testMessage("k-"+tc.name[:3], StatusFiring))
			if res.Status != tc.status {
				t.Errorf("Result.Status = %d, want %d", res.Status, tc.status)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Send error = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				return
			}
			e := asError(t, err)
			if e.Permanent != tc.permanent || res.Permanent != tc.permanent || e.Temporary() == tc.permanent {
				t.Errorf("permanent = %v/%v, want %v (%v)", e.Permanent, res.Permanent, tc.permanent, err)
			}
			if res.RetryAfter < tc.wantRetry || (tc.wantRetry == 0 && res.RetryAfter != 0) || res.RetryAfter > time.Hour {
				t.Errorf("RetryAfter = %v, want ≥ %v", res.RetryAfter, tc.wantRetry)
			}
			if e.RateLimited() != (tc.status == 429) {
				t.Errorf("RateLimited = %v", e.RateLimited())
			}
			if !strings.Contains(err.Error(), `receiver "ops"`) {
				t.Errorf("error %q does not name the receiver", err)
			}
		})
	}
}

func TestWebhookDownIsTemporaryAndScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	const pathSecret = "tok-9b1f2e77"
	url := srv.URL + "/in/" + pathSecret
	srv.Close() // connection refused from now on
	t.Setenv("TEST_WEBHOOK_URL", url)
	var logs logBuffer
	w, err := NewWebhook(WebhookConfig{URLEnv: "TEST_WEBHOOK_URL"}, Options{Receiver: "ops", Logger: debugLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Send(t.Context(), testMessage("k1", StatusFiring))
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	e := asError(t, err)
	if e.Permanent || res.Permanent || res.Status != 0 {
		t.Errorf("Send = %+v, %v; want temporary, no status", res, err)
	}
	noSecret(t, pathSecret, err.Error(), fmt.Sprintf("%+v %#v", err, err), logs.String())
}

func TestWebhookRejectsBadMessages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a bad message reached the server")
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL}, Options{Receiver: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Message{
		testMessage("", StatusFiring),
		testMessage("has space", StatusFiring),
		testMessage("crlf\r\nX-Evil: 1", StatusFiring),
		testMessage("k", "exploded"),
		testMessage(strings.Repeat("k", 300), StatusFiring),
	} {
		if _, err := w.Send(t.Context(), m); err == nil || !asError(t, err).Permanent {
			t.Errorf("Send(key %q, status %q) = %v, want a permanent error", m.Key, m.Status, err)
		}
	}
}

func BenchmarkWebhookSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	b.Setenv("BENCH_HMAC", testHMACKey)
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, SecretEnv: "BENCH_HMAC"}, Options{Receiver: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	m := testMessage("bench-1", StatusFiring)
	ctx := b.Context()
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := w.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "requests/s")
}
