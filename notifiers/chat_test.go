package notifiers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// jsonSink records JSON bodies posted to one path and answers status.
type jsonSink struct {
	t      *testing.T
	path   string
	status int
	mu     sync.Mutex
	bodies []map[string]any
}

func (s *jsonSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path || r.Method != http.MethodPost {
		s.t.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, s.path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.t.Errorf("Content-Type = %q", ct)
	}
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Errorf("body %s: %v", b, err)
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, m)
	status := s.status
	s.mu.Unlock()
	w.WriteHeader(status)
}

// at walks a decoded JSON document: keys for objects, ints for arrays.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %T is not an object", path, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: %v is not an array of > %d", path, v, k)
			}
			v = a[k]
		}
	}
	return v
}

func TestTeams(t *testing.T) {
	const path = "/workflows/hooksecret-teams-41"
	for _, format := range []string{"", TeamsMessageCard} {
		t.Run("format="+format, func(t *testing.T) {
			sink := &jsonSink{t: t, path: path, status: http.StatusAccepted}
			srv := httptest.NewServer(sink)
			defer srv.Close()
			t.Setenv("TEST_TEAMS_URL", srv.URL+path)
			n, err := NewTeams(TeamsConfig{WebhookURLEnv: "TEST_TEAMS_URL", Format: format}, Options{Receiver: "teams-soc"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := n.Send(t.Context(), testMessage("k-teams", StatusFiring))
			if err != nil || res.Status != http.StatusAccepted {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			b := sink.bodies[0]
			var facts []any
			if format == "" {
				if at(t, b, "type") != "message" || at(t, b, "attachments", 0, "contentType") != "application/vnd.microsoft.card.adaptive" {
					t.Errorf("envelope = %v", b)
				}
				card := at(t, b, "attachments", 0, "content")
				if at(t, card, "type") != "AdaptiveCard" || !strings.HasPrefix(at(t, card, "body", 0, "text").(string), "[FIRING]") {
					t.Errorf("card = %v", card)
				}
				facts = at(t, card, "body", 1, "facts").([]any)
			} else {
				if at(t, b, "@type") != "MessageCard" || at(t, b, "themeColor") != "D7000C" {
					t.Errorf("card = %v", b)
				}
				facts = at(t, b, "sections", 0, "facts").([]any)
			}
			s := fmt.Sprint(facts)
			for _, want := range []string{"Risk", "8.5/10 critical", "198.51.100.7 (+1 more)", "block 198.51.100.7"} {
				if !strings.Contains(s, want) {
					t.Errorf("facts lack %q: %s", want, s)
				}
			}
		})
	}
}

func TestMattermost(t *testing.T) {
	const path = "/hooks/mmsecret5512"
	sink := &jsonSink{t: t, path: path, status: http.StatusOK}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	t.Setenv("TEST_MM_URL", srv.URL+path)
	n, err := NewMattermost(MattermostConfig{WebhookURLEnv: "TEST_MM_URL", Channel: "soc-alerts", Username: "phantomsoc"},
		Options{Receiver: "mm"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(t.Context(), testMessage("k-mm", StatusResolved)); err != nil {
		t.Fatal(err)
	}
	b := sink.bodies[0]
	if !strings.HasPrefix(at(t, b, "text").(string), "[RESOLVED]") || at(t, b, "channel") != "soc-alerts" || at(t, b, "username") != "phantomsoc" {
		t.Errorf("body = %v", b)
	}
	if at(t, b, "attachments", 0, "color") != "#2E7D32" || at(t, b, "attachments", 0, "fields", 1, "title") != "Risk" {
		t.Errorf("attachment = %v", at(t, b, "attachments", 0))
	}
	if !strings.Contains(at(t, b, "attachments", 0, "text").(string), "port-scan from 203.0.113.9 to 192.0.2.10") {
		t.Errorf("attachment text = %v", at(t, b, "attachments", 0, "text"))
	}

	sink.mu.Lock()
	sink.status = http.StatusBadRequest
	sink.mu.Unlock()
	res, err := n.Send(t.Context(), testMessage("k-mm", StatusFiring))
	if err == nil || !res.Permanent {
		t.Fatalf("Send on 400 = %+v, %v; want permanent", res, err)
	}
	noSecret(t, "mmsecret5512", err.Error())
	srv.Close()
	_, err = n.Send(t.Context(), testMessage("k-mm", StatusFiring))
	if err == nil || asError(t, err).Permanent {
		t.Fatalf("Send to closed server = %v, want temporary", err)
	}
	noSecret(t, "mmsecret5512", err.Error(), fmt.Sprintf("%+v", err))
}

func TestTeamsConnectorThrottleIn200(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId x")
	}))
	defer srv.Close()
	t.Setenv("TEST_TEAMS_URL", srv.URL+"/webhookb2/x")
	n, err := NewTeams(TeamsConfig{WebhookURLEnv: "TEST_TEAMS_URL", Format: TeamsMessageCard}, Options{Receiver: "teams-soc"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.Send(t.Context(), testMessage("k", StatusFiring))
	if err == nil || res.Status != http.StatusTooManyRequests || res.Permanent {
		t.Fatalf("Send = %+v, %v; want a temporary 429", res, err)
	}
}
