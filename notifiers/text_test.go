package notifiers

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/phantomsoc/phantomsoc/internal/smtptest"
)

// defaultSets are every channel's default templates: Slack's (no
// pending in the text), the full set (PagerDuty, e-mail, webhook, Teams,
// Mattermost) and the SMS short text.
var defaultSets = []struct {
	name string
	tc   TemplateConfig
}{
	{"slack", TemplateConfig{Title: defaultTitle, Text: defaultAlertsText}},
	{"full", TemplateConfig{Title: defaultTitle, Text: defaultText, HTML: defaultHTML}},
	{"sms", TemplateConfig{Title: defaultTitle, Text: defaultShort}},
}

// goldenRenders renders msgs through each default set, a golden per set.
func goldenRenders(t *testing.T, msgs []*Message) {
	t.Helper()
	for _, s := range defaultSets {
		t.Run(s.name, func(t *testing.T) {
			tm, err := parseTemplates(TemplateConfig{}, s.tc)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, m := range msgs {
				r, err := tm.render(m)
				if err != nil {
					t.Fatalf("render(%s) = %v", m.Key, err)
				}
				fmt.Fprintf(&b, "== %s\ntitle: %s\ntext:\n%s\nhtml:\n%s\n", m.Key, r.Title, r.Text, r.HTML)
			}
			golden.RequireEqual(t, b.String())
		})
	}
}

// TestDefaultRenderGolden pins what the default templates make of the
// router's notifications (no free text), byte for byte. The goldens
// predate Message.Text: a message without it renders as it always did.
func TestDefaultRenderGolden(t *testing.T) {
	escalated := testMessage("grp-esc", StatusFiring)
	escalated.Level = 3
	goldenRenders(t, []*Message{
		testMessage("grp-firing", StatusFiring),
		escalated,
		hostileMessage("grp-hostile"),
		testMessage("grp-resolved", StatusResolved),
		{Key: "grp-empty", Status: StatusAcknowledged, Receiver: "ops"},
	})
}

// TestNoteRenderGolden pins the default rendering of messages with free
// text: a playbook's note, an escalation with pending remediations, and
// hostile text (mentions, markup, links, line breaks).
func TestNoteRenderGolden(t *testing.T) {
	esc := testMessage("note-escalation", StatusFiring)
	esc.Level, esc.Text = 2, "Escalated: ssh-brute-force still firing after 15m"
	hostile := hostileMessage("note-hostile")
	hostile.Text = "<!channel> see https://evil.example/x\r\n<script>alert(1)</script> & more"
	goldenRenders(t, []*Message{noteMessage("note-playbook"), esc, hostile})
}

// noteText is a playbook step's message: its second line quotes a link,
// as alert data might.
const noteText = "Blocked 198.51.100.7 for 4h: 42 failed SSH logins (risk 8.5)\nrunbook http://wiki.example/ssh"

// Its rendering: the title is the whole text on one line, defanged; the
// body starts with its first line.
const (
	noteTitle = "Blocked 198.51.100.7 for 4h: 42 failed SSH logins (risk 8.5) runbook hxxp[:]//wiki.example/ssh"
	noteFirst = "Blocked 198.51.100.7 for 4h: 42 failed SSH logins (risk 8.5)"
	// noteAlert is the alert's scenario, which follows the text.
	noteAlert = "ssh-bruteforce"
)

// noteMessage is a playbook's notification: one alert, the step's text.
func noteMessage(key string) *Message {
	m := testMessage(key, StatusFiring)
	m.Alerts, m.Pending = m.Alerts[:1], nil
	m.GroupLabels = map[string]string{"playbook": "ssh-brute-force", "step": "tell-soc", "message": noteText}
	m.Text = noteText
	return m
}

// TestMessageTextShown sends a playbook's note through every channel to
// its test server and checks that the far side shows the text as the
// title (or first words) and as the first line of the body, above the
// alerts, with no live link.
func TestMessageTextShown(t *testing.T) {
	tests := []struct {
		name string
		// send delivers m and returns the title and body the far side got.
		send func(t *testing.T, m *Message) (title, body string)
	}{
		{"slack", func(t *testing.T, m *Message) (string, string) {
			api := &slackAPI{t: t}
			srv := httptest.NewServer(api)
			defer srv.Close()
			s := newTestSlack(t, srv.URL+"/api/", Options{Receiver: "ops"})
			if _, err := s.Send(t.Context(), m); err != nil {
				t.Fatalf("Send = %v", err)
			}
			p := api.posts[0]
			header := at(t, toAny(p.blocks), 0, "text", "text").(string)
			if p.text != header {
				t.Errorf("fallback text %q differs from the header %q", p.text, header)
			}
			return header, at(t, toAny(p.blocks), 2, "text", "text").(string)
		}},
		{"pagerduty", func(t *testing.T, m *Message) (string, string) {
			pd := &pdServer{t: t}
			srv := httptest.NewServer(pd)
			defer srv.Close()
			if _, err := newTestPagerDuty(t, srv.URL).Send(t.Context(), m); err != nil {
				t.Fatalf("Send = %v", err)
			}
			pl := pd.events[0].Payload
			return pl.Summary, pl.CustomDetails["text"].(string)
		}},
		{"email text", func(t *testing.T, m *Message) (string, string) {
			subj, parts := sendMail(t, m)
			return subj, parts["text/plain"]
		}},
		{"email html", func(t *testing.T, m *Message) (string, string) {
			_, parts := sendMail(t, m)
			html := parts["text/html"]
			h2, rest, ok := strings.Cut(strings.TrimPrefix(html, "<h2>"), "</h2>\n")
			if !ok {
				t.Fatalf("html part = %s", html)
			}
			return h2, strings.TrimPrefix(rest, `<p style="white-space: pre-line">`)
		}},
		{"webhook", func(t *testing.T, m *Message) (string, string) {
			wr := &webhookReceiver{t: t}
			srv := httptest.NewServer(wr)
			defer srv.Close()
			if _, err := newTestWebhook(t, srv.URL, Options{Receiver: "ops"}).Send(t.Context(), m); err != nil {
				t.Fatalf("Send = %v", err)
			}
			p := wr.bodies[0]
			if p.GroupLabels["message"] != noteText {
				t.Errorf("group_labels = %v, want the message kept for routing", p.GroupLabels)
			}
			return p.Title, p.Text
		}},
		{"teams adaptive", func(t *testing.T, m *Message) (string, string) {
			b := sendChat(t, "teams", TeamsAdaptive, m)
			card := at(t, b, "attachments", 0, "content")
			return at(t, card, "body", 0, "text").(string), at(t, card, "body", 2, "text").(string)
		}},
		{"teams messagecard", func(t *testing.T, m *Message) (string, string) {
			b := sendChat(t, "teams", TeamsMessageCard, m)
			return at(t, b, "title").(string), at(t, b, "text").(string)
		}},
		{"mattermost", func(t *testing.T, m *Message) (string, string) {
			b := sendChat(t, "mattermost", "", m)
			return at(t, b, "text").(string), at(t, b, "attachments", 0, "text").(string)
		}},
		{"sms", func(t *testing.T, m *Message) (string, string) {
			gw := &smsGateway{t: t}
			srv := httptest.NewServer(gw)
			defer srv.Close()
			n, err := NewSMS(SMSConfig{URL: srv.URL + "/send", Fields: map[string]string{"text": "{{.Text}}", "note": "{{.Data.Text}}"}}, Options{Receiver: "pager"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.Send(t.Context(), m); err != nil {
				t.Fatalf("Send = %v", err)
			}
			// One line of at most 160 characters: the text leads it, so
			// it stands for both title and first line.
			text := gw.reqs[0].params["text"]
			if note := gw.reqs[0].params["note"]; note != noteText {
				t.Errorf("{{.Data.Text}} = %q, want the raw text %q", note, noteText)
			}
			if !strings.HasPrefix(text, noteTitle) {
				t.Fatalf("text = %q, want it to start with %q", text, noteTitle)
			}
			return noteTitle, noteFirst + "\n" + strings.TrimPrefix(text, noteTitle)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			title, body := tc.send(t, noteMessage("playbook:ssh-brute-force/tell-soc/notify/a1"))
			if title != noteTitle {
				t.Errorf("title = %q, want %q", title, noteTitle)
			}
			first, rest, _ := strings.Cut(body, "\n")
			if first != noteFirst {
				t.Errorf("body's first line = %q, want %q (body %q)", first, noteFirst, body)
			}
			if !strings.Contains(rest, noteAlert) {
				t.Errorf("body = %q, want the alert %q below the text", body, noteAlert)
			}
			if liveURL.MatchString(title + body) {
				t.Errorf("a live link in title %q or body %q", title, body)
			}
		})
	}
}

// toAny turns decoded blocks into what at walks.
func toAny(blocks []map[string]any) []any {
	out := make([]any, len(blocks))
	for i, b := range blocks {
		out[i] = b
	}
	return out
}

// sendMail delivers m through a STARTTLS test server and returns the
// decoded subject and the parts.
func sendMail(t *testing.T, m *Message) (string, map[string]string) {
	t.Helper()
	cert, caFile := smtptest.SelfSigned(t)
	box, port := smtptest.Start(t, cert, false)
	if _, err := newTestEmail(t, port, TLSStartTLS, caFile, Options{Receiver: "mail-ops"}).Send(t.Context(), m); err != nil {
		t.Fatalf("Send = %v", err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(box.All()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	ps := parts(t, msg)
	for ct, b := range ps {
		ps[ct] = strings.ReplaceAll(b, "\r\n", "\n")
	}
	return subj, ps
}

// sendChat posts m through a Teams (format) or Mattermost webhook and
// returns the decoded body.
func sendChat(t *testing.T, channel, format string, m *Message) map[string]any {
	t.Helper()
	const path = "/hooks/chat-note-1"
	sink := &jsonSink{t: t, path: path, status: http.StatusOK}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	t.Setenv("TEST_CHAT_URL", srv.URL+path)
	var s Sender
	var err error
	if channel == "teams" {
		s, err = NewTeams(TeamsConfig{WebhookURLEnv: "TEST_CHAT_URL", Format: format}, Options{Receiver: "chat"})
	} else {
		s, err = NewMattermost(MattermostConfig{WebhookURLEnv: "TEST_CHAT_URL"}, Options{Receiver: "chat"})
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send = %v", err)
	}
	return sink.bodies[0]
}
