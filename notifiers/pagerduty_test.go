package notifiers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testRoutingKey = "R0UT1NGKEY0123456789abcdefabcdef"

// pdServer implements the Events API v2 answers: 202 for a valid event,
// 400 for an invalid one, and scripted 429/5xx.
type pdServer struct {
	t      *testing.T
	mu     sync.Mutex
	events []pdEvent
	next   []int // scripted statuses, consumed first
}

func (p *pdServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		p.t.Errorf("%s %s, want POST /v2/enqueue", r.Method, r.URL.Path)
	}
	var ev pdEvent
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"invalid event","message":"Event object is invalid","errors":["bad JSON"]}`)
		return
	}
	p.mu.Lock()
	p.events = append(p.events, ev)
	status := http.StatusAccepted
	if len(p.next) > 0 {
		status, p.next = p.next[0], p.next[1:]
	}
	p.mu.Unlock()
	if ev.RoutingKey != testRoutingKey {
		status = http.StatusBadRequest
	}
	switch ev.EventAction {
	case "trigger":
		if ev.Payload == nil || ev.Payload.Summary == "" || ev.Payload.Source == "" || ev.Payload.Severity == "" {
			status = http.StatusBadRequest
		}
	case "acknowledge", "resolve":
	default:
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	switch status {
	case http.StatusAccepted:
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, ev.DedupKey)
	case http.StatusBadRequest:
		w.WriteHeader(status)
		fmt.Fprint(w, `{"status":"invalid event","message":"Event object is invalid","errors":["'routing_key' is invalid"]}`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(status)
	default:
		w.WriteHeader(status)
		fmt.Fprint(w, "upstream trouble")
	}
}

func (p *pdServer) script(statuses ...int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = statuses
}

func newTestPagerDuty(t *testing.T, endpoint string) *PagerDuty {
	t.Helper()
	t.Setenv("TEST_PD_KEY", testRoutingKey)
	p, err := NewPagerDuty(PagerDutyConfig{RoutingKeyEnv: "TEST_PD_KEY", Endpoint: endpoint}, Options{Receiver: "oncall"})
	if err != nil {
		t.Fatalf("NewPagerDuty: %v", err)
	}
	return p
}

func TestPagerDutyLifecycle(t *testing.T) {
	srv := &pdServer{t: t}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	p := newTestPagerDuty(t, hs.URL+"/")

	const key = "grp-oncall-42"
	for _, st := range []string{StatusFiring, StatusFiring, StatusAcknowledged, StatusResolved} {
		res, err := p.Send(t.Context(), testMessage(key, st))
		if err != nil {
			t.Fatalf("Send(%s) = %v", st, err)
		}
		if res.Status != http.StatusAccepted || res.Remote != key {
			t.Errorf("Send(%s) = %+v, want 202 with the dedup key", st, res)
		}
	}
	wantActions := []string{"trigger", "trigger", "acknowledge", "resolve"}
	if len(srv.events) != len(wantActions) {
		t.Fatalf("events = %d, want %d", len(srv.events), len(wantActions))
	}
	for i, ev := range srv.events {
		if ev.EventAction != wantActions[i] || ev.DedupKey != key || ev.RoutingKey != testRoutingKey {
			t.Errorf("event %d = %s/%s, want %s/%s", i, ev.EventAction, ev.DedupKey, wantActions[i], key)
		}
	}
	trig := srv.events[0].Payload
	if trig.Severity != "critical" || trig.Source != "gw1" || trig.Timestamp != "2024-05-01T12:00:00Z" || trig.Class == "" {
		t.Errorf("trigger payload = %+v", trig)
	}
	if srv.events[2].Payload != nil || srv.events[3].Payload != nil {
		t.Errorf("acknowledge/resolve carry a payload")
	}
	// A resend is byte-identical in what PagerDuty dedups on.
	if a, b := srv.events[0], srv.events[1]; a.DedupKey != b.DedupKey || a.Payload.Summary != b.Payload.Summary {
		t.Errorf("resend differs: %+v vs %+v", a, b)
	}
}

func TestPagerDutyResponses(t *testing.T) {
	srv := &pdServer{t: t}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	p := newTestPagerDuty(t, hs.URL)

	tests := []struct {
		name      string
		status    int
		wantErr   bool
		permanent bool
		retry     time.Duration
	}{
		{name: "202", status: 202},
		{name: "400 invalid", status: 400, wantErr: true, permanent: true},
		{name: "429 retry-after", status: 429, wantErr: true, retry: 5 * time.Second},
		{name: "500", status: 500, wantErr: true},
		{name: "502", status: 502, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.script(tc.status)
			res, err := p.Send(t.Context(), testMessage("k-"+tc.name[:3], StatusFiring))
			if (err != nil) != tc.wantErr || res.Status != tc.status || res.Permanent != tc.permanent || res.RetryAfter != tc.retry {
				t.Errorf("Send = %+v, %v; want status %d permanent %v retry %v", res, err, tc.status, tc.permanent, tc.retry)
			}
			if err != nil {
				e := asError(t, err)
				if e.Channel != "pagerduty" || e.Receiver != "oncall" {
					t.Errorf("error = %+v", e)
				}
				noSecret(t, testRoutingKey, err.Error(), fmt.Sprintf("%+v", err))
			}
		})
	}
}

// TestPagerDutyOneIncidentPerGroup checks every message about a group —
// each with its own key, as the router makes them — reaches PagerDuty
// under the group's dedup key, so the resolve closes what the trigger
// opened.
func TestPagerDutyOneIncidentPerGroup(t *testing.T) {
	srv := &pdServer{t: t}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	p := newTestPagerDuty(t, hs.URL+"/")
	const group = `{}/{scenario="ssh-bruteforce"}#7`
	for i, st := range []string{StatusFiring, StatusFiring, StatusResolved} {
		m := testMessage(fmt.Sprintf("%s/%d:ops", group, i+1), st)
		m.Group = group
		res, err := p.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		if want := group + ":ops"; res.Remote != want {
			t.Errorf("message %d: remote %q, want the group's key %q", i+1, res.Remote, want)
		}
	}
	for i, ev := range srv.events {
		if ev.DedupKey != group+":ops" {
			t.Errorf("event %d (%s) dedup_key %q, want %q", i, ev.EventAction, ev.DedupKey, group+":ops")
		}
	}
	long := strings.Repeat("g", 300)
	if k := GroupDedupKey(long, "ops"); len(k) > 255 || k != GroupDedupKey(long, "ops") || !strings.HasSuffix(k, ":ops") ||
		k == GroupDedupKey(long+"x", "ops") {
		t.Errorf("GroupDedupKey(300-byte group) = %q: want stable, distinct, ≤ 255, ending in the receiver", k)
	}
}

func TestPagerDutyDedupKeyBounded(t *testing.T) {
	long := make([]byte, 400)
	for i := range long {
		long[i] = 'k'
	}
	if got := DedupKey(string(long)); len(got) > 255 || got != DedupKey(string(long)) {
		t.Errorf("DedupKey(400 bytes) = %q (%d), want stable and ≤ 255", got, len(got))
	}
	if got := DedupKey("short"); got != "short" {
		t.Errorf("DedupKey(short) = %q", got)
	}
}
