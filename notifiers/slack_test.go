package notifiers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSlackToken = "xoxb-1234-5678-secretsecret"

// slackAPI is a chat.postMessage endpoint that checks the token and
// records the blocks.
type slackAPI struct {
	t     *testing.T
	mu    sync.Mutex
	posts []slackPost
	reply func(w http.ResponseWriter) // nil: ok
	// histories counts conversations.history calls.
	histories int
}

type slackPost struct {
	channel, text string
	blocks        []map[string]any
	metadata      map[string]any
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/conversations.history" {
		s.history(w, r)
		return
	}
	if r.URL.Path != "/api/chat.postMessage" {
		s.t.Errorf("path = %q, want /api/chat.postMessage", r.URL.Path)
	}
	if err := r.ParseForm(); err != nil {
		s.t.Fatal(err)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testSlackToken {
		s.t.Errorf("Authorization = %q, want the bearer token", got)
	}
	if got := r.PostForm.Get("token"); got != "" && got != testSlackToken {
		s.t.Errorf("form token = %q", got)
	}
	p := slackPost{channel: r.PostForm.Get("channel"), text: r.PostForm.Get("text")}
	if err := json.Unmarshal([]byte(r.PostForm.Get("blocks")), &p.blocks); err != nil {
		s.t.Errorf("blocks = %q: %v", r.PostForm.Get("blocks"), err)
	}
	if md := r.PostForm.Get("metadata"); md != "" {
		_ = json.Unmarshal([]byte(md), &p.metadata)
	}
	if r.PostForm.Get("unfurl_links") != "false" {
		s.t.Errorf("unfurl_links = %q, want false", r.PostForm.Get("unfurl_links"))
	}
	s.mu.Lock()
	s.posts = append(s.posts, p)
	reply := s.reply
	s.mu.Unlock()
	if reply != nil {
		reply(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ok":true,"channel":"C0SECOPS","ts":"1714564800.000100","message":{"text":"x"}}`)
}

// history answers conversations.history with the posts so far, their
// metadata included when asked for, newest first as Slack does.
func (s *slackAPI) history(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.t.Fatal(err)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testSlackToken {
		s.t.Errorf("history Authorization = %q, want the bearer token", got)
	}
	if r.Form.Get("channel") != "C0SECOPS" {
		s.t.Errorf("history channel = %q", r.Form.Get("channel"))
	}
	s.mu.Lock()
	var msgs []map[string]any
	for i := len(s.posts) - 1; i >= 0; i-- {
		m := map[string]any{"type": "message", "text": s.posts[i].text, "ts": fmt.Sprintf("1714564800.%06d", i+1)}
		if r.Form.Get("include_all_metadata") == "1" && s.posts[i].metadata != nil {
			m["metadata"] = s.posts[i].metadata
		}
		msgs = append(msgs, m)
	}
	s.histories++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "messages": msgs, "has_more": false})
}

func (s *slackAPI) setReply(f func(w http.ResponseWriter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = f
}

func newTestSlack(t *testing.T, base string, o Options) *Slack {
	t.Helper()
	t.Setenv("TEST_SLACK_TOKEN", testSlackToken)
	s, err := NewSlack(SlackConfig{TokenEnv: "TEST_SLACK_TOKEN", Channel: "C0SECOPS", APIURL: base}, o)
	if err != nil {
		t.Fatalf("NewSlack: %v", err)
	}
	return s
}

// blockTexts flattens every text in blocks, for assertions.
func blockTexts(blocks []map[string]any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s + "\n")
			}
			for _, vv := range x {
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	for _, bl := range blocks {
		walk(bl)
	}
	return b.String()
}

func TestSlackPostMessageBlocks(t *testing.T) {
	api := &slackAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	s := newTestSlack(t, srv.URL+"/api/", Options{Receiver: "ops"})

	res, err := s.Send(t.Context(), testMessage("grp-ops-1", StatusFiring))
	if err != nil {
		t.Fatalf("Send = %v", err)
	}
	if res.Remote != "1714564800.000100" || res.Status != 200 {
		t.Errorf("Send = %+v, want the ts as Remote", res)
	}
	if len(api.posts) != 1 {
		t.Fatalf("posts = %d", len(api.posts))
	}
	p := api.posts[0]
	if p.channel != "C0SECOPS" || !strings.HasPrefix(p.text, "[FIRING]") {
		t.Errorf("channel %q text %q", p.channel, p.text)
	}
	if p.metadata["event_type"] != "phantomsoc_notification" {
		t.Errorf("metadata = %v, want the key for reconciliation", p.metadata)
	}
	types := []string{}
	for _, b := range p.blocks {
		types = append(types, b["type"].(string))
	}
	if strings.Join(types, ",") != "header,section,section,section,context" {
		t.Errorf("block types = %v", types)
	}
	all := blockTexts(p.blocks)
	for _, want := range []string{
		"*Risk*\n8.5/10 critical", "*Source*\n198.51.100.7 (+1 more)", "*Scenario*\nssh-bruteforce, port-scan",
		"ssh-bruteforce from 198.51.100.7 on gw1", "Awaiting approval:", "block 198.51.100.7 for 4h0m0s",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("blocks lack %q:\n%s", want, all)
		}
	}
}

func TestSlackLinkFree(t *testing.T) {
	api := &slackAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	s := newTestSlack(t, srv.URL+"/api", Options{Receiver: "ops"}) // slash added
	if _, err := s.Send(t.Context(), hostileMessage("k-hostile")); err != nil {
		t.Fatal(err)
	}
	all := blockTexts(api.posts[0].blocks) + api.posts[0].text
	for _, bad := range []string{"<!channel>", "http://", "https://", "<script>"} {
		if strings.Contains(all, bad) {
			t.Errorf("Slack text contains %q:\n%s", bad, all)
		}
	}
}

func TestSlackErrors(t *testing.T) {
	api := &slackAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	var logs logBuffer
	s := newTestSlack(t, srv.URL+"/api/", Options{Receiver: "ops", Logger: debugLogger(&logs)})

	tests := []struct {
		name       string
		reply      func(w http.ResponseWriter)
		status     int
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "rate limited", status: 429, retryAfter: 30 * time.Second, reply: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}},
		{name: "channel not found", status: 200, permanent: true, reply: func(w http.ResponseWriter) {
			fmt.Fprint(w, `{"ok":false,"error":"channel_not_found"}`)
		}},
		{name: "invalid auth", status: 200, permanent: true, reply: func(w http.ResponseWriter) {
			fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		}},
		{name: "internal error", status: 200, reply: func(w http.ResponseWriter) {
			fmt.Fprint(w, `{"ok":false,"error":"internal_error"}`)
		}},
		{name: "503", status: 503, reply: func(w http.ResponseWriter) { w.WriteHeader(503) }},
		{name: "404", status: 404, permanent: true, reply: func(w http.ResponseWriter) { w.WriteHeader(404) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api.setReply(tc.reply)
			res, err := s.Send(t.Context(), testMessage("k1", StatusFiring))
			if err == nil {
				t.Fatalf("Send = %+v, want an error", res)
			}
			e := asError(t, err)
			if res.Status != tc.status || res.Permanent != tc.permanent || e.Permanent != tc.permanent || res.RetryAfter != tc.retryAfter {
				t.Errorf("Send = %+v, %v; want status %d permanent %v retry %v", res, err, tc.status, tc.permanent, tc.retryAfter)
			}
			if tc.status == 429 && !e.RateLimited() {
				t.Errorf("RateLimited() = false for %v", err)
			}
			noSecret(t, testSlackToken, err.Error(), fmt.Sprintf("%+v", err))
		})
	}
	noSecret(t, testSlackToken, logs.String())
}

func TestSlackIncomingWebhook(t *testing.T) {
	const hookPath = "/services/T000/B000/hooksecret77"
	var mu sync.Mutex
	var got []map[string]any
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != hookPath {
			t.Errorf("path = %q", r.URL.Path)
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("webhook mode sent Authorization")
		}
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		mu.Lock()
		got = append(got, m)
		st := status
		mu.Unlock()
		if st == 429 {
			w.Header().Set("Retry-After", "12")
		}
		w.WriteHeader(st)
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	t.Setenv("TEST_SLACK_HOOK", srv.URL+hookPath)
	s, err := NewSlack(SlackConfig{WebhookURLEnv: "TEST_SLACK_HOOK"}, Options{Receiver: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(t.Context(), testMessage("k1", StatusResolved)); err != nil {
		t.Fatalf("Send = %v", err)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0]["text"].(string), "[RESOLVED]") || got[0]["blocks"] == nil {
		t.Fatalf("webhook body = %v", got)
	}

	for _, tc := range []struct {
		status    int
		permanent bool
		retry     time.Duration
	}{{429, false, 12 * time.Second}, {404, true, 0}, {500, false, 0}} {
		mu.Lock()
		status = tc.status
		mu.Unlock()
		res, err := s.Send(t.Context(), testMessage("k1", StatusFiring))
		if err == nil || res.Status != tc.status || res.Permanent != tc.permanent || res.RetryAfter != tc.retry {
			t.Errorf("status %d: Send = %+v, %v", tc.status, res, err)
		}
		if err != nil {
			noSecret(t, "hooksecret77", err.Error(), fmt.Sprintf("%+v", err))
		}
	}

	// Down: the transport error would quote the URL.
	srv.Close()
	_, err = s.Send(t.Context(), testMessage("k1", StatusFiring))
	if err == nil || asError(t, err).Permanent {
		t.Fatalf("Send to a closed server = %v, want temporary", err)
	}
	noSecret(t, "hooksecret77", err.Error(), fmt.Sprintf("%+v %#v", err, err))
}

// TestSlackReconcilesAfterACrash delivers a message, "crashes" after
// Slack took it but before the outcome was recorded, then restarts: the
// new Deliverer finds the post in the channel's history by its key and
// marks it sent without posting twice. A message whose post never left
// is found missing and posted once.
func TestSlackReconcilesAfterACrash(t *testing.T) {
	api := &slackAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	s := newTestSlack(t, srv.URL+"/api/", Options{Receiver: "soc"})
	ob := &memOutbox{}
	sent := testMessage("grp#1/1:soc", StatusFiring)
	sent.Receiver = "soc"
	ob.add(sent)
	ob.crash = func(key string) bool { return key == "grp#1/1:soc" }
	d, err := NewDeliverer(ob, map[string]Sender{"soc": s}, DeliveryOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeliverDue(t.Context()); !errors.Is(err, errCrash) {
		t.Fatalf("first pass = %v, want the crash", err)
	}
	// The second message's attempt started, but the process died before
	// the request left.
	lost := testMessage("grp#1/2:soc", StatusResolved)
	lost.Receiver = "soc"
	ob.add(lost)
	ob.mu.Lock()
	ob.rows["grp#1/2:soc"].state = "sending"
	ob.mu.Unlock()
	ob.crash = nil

	d, err = NewDeliverer(ob, map[string]Sender{"soc": s}, DeliveryOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.posts) != 2 || api.histories != 2 {
		t.Fatalf("%d posts, %d history reads; want 2 posts (each message once) and 2 reads", len(api.posts), api.histories)
	}
	if st := ob.states(); st["sent"] != 2 {
		t.Errorf("outbox states %v, want both sent", st)
	}
}
