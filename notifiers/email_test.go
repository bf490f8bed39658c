package notifiers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/internal/smtptest"
)

const (
	testSMTPUser = smtptest.User
	testSMTPPass = smtptest.Pass
)

func newTestEmail(t *testing.T, port int, mode, caFile string, o Options) *Email {
	t.Helper()
	t.Setenv("TEST_SMTP_PASS", testSMTPPass)
	e, err := NewEmail(EmailConfig{
		Host: "127.0.0.1", Port: port, TLS: mode, CAFile: caFile,
		Auth: "plain", Username: testSMTPUser, PasswordEnv: "TEST_SMTP_PASS",
		From: "phantomsoc <alerts@example.org>", To: []string{"soc@example.org", "Oncall <oncall@example.org>"},
		Timeout: 10 * time.Second,
	}, o)
	if err != nil {
		t.Fatalf("NewEmail: %v", err)
	}
	return e
}

// parts reads a multipart/alternative message into content type → body.
func parts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p) // quoted-printable is decoded by NextPart
		out[ct] = string(b)
	}
	return out
}

func TestEmailDelivery(t *testing.T) {
	cert, caFile := smtptest.SelfSigned(t)
	for _, mode := range []string{TLSStartTLS, TLSImplicit, TLSOpportunistic} {
		t.Run(mode, func(t *testing.T) {
			box, port := smtptest.Start(t, cert, mode == TLSImplicit)
			var logs logBuffer
			e := newTestEmail(t, port, mode, caFile, Options{Receiver: "mail-ops", Logger: debugLogger(&logs)})

			m := hostileMessage("grp-mail-7")
			res, err := e.Send(t.Context(), m)
			if err != nil {
				t.Fatalf("Send = %v", err)
			}
			wantID := "<" + MessageID(m.Key, "example.org") + ">"
			if res.Remote != wantID || res.Status != 250 {
				t.Errorf("Send = %+v, want Remote %s", res, wantID)
			}
			// A resend carries the same Message-ID.
			if _, err := e.Send(t.Context(), m); err != nil {
				t.Fatalf("resend = %v", err)
			}
			got := box.All()
			if len(got) != 2 {
				t.Fatalf("server received %d messages, want 2", len(got))
			}
			r := got[0]
			if !r.TLS || !r.Auth {
				t.Errorf("tls=%v auth=%v, want both", r.TLS, r.Auth)
			}
			if r.From != "alerts@example.org" || strings.Join(r.To, ",") != "soc@example.org,oncall@example.org" {
				t.Errorf("envelope %s → %v", r.From, r.To)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
			if err != nil {
				t.Fatal(err)
			}
			msg2, _ := mail.ReadMessage(bytes.NewReader(got[1].Data))
			if id := msg.Header.Get("Message-Id"); id != wantID || msg2.Header.Get("Message-Id") != id {
				t.Errorf("Message-ID = %q / %q, want %q both times", id, msg2.Header.Get("Message-Id"), wantID)
			}
			if k := msg.Header.Get("X-Phantomsoc-Key"); k != m.Key {
				t.Errorf("X-Phantomsoc-Key = %q", k)
			}
			subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if !strings.HasPrefix(subj, "[FIRING] ssh-bruteforce, port-scan") {
				t.Errorf("Subject = %q", subj)
			}
			if msg.Header.Get("Bcc") != "" {
				t.Errorf("a user name injected a Bcc header")
			}
			ps := parts(t, msg)
			text, html := ps["text/plain"], ps["text/html"]
			if !strings.Contains(text, "ssh-bruteforce from 198.51.100.7") || !strings.Contains(text, "Awaiting approval") {
				t.Errorf("text part = %q", text)
			}
			if !strings.Contains(html, "<li>ssh-bruteforce from 198.51.100.7") || strings.Contains(html, "<script>") ||
				!strings.Contains(html, "&lt;script&gt;") {
				t.Errorf("html part not escaped or incomplete:\n%s", html)
			}
			noSecret(t, testSMTPPass, logs.String())
		})
	}
}

func TestEmailFailures(t *testing.T) {
	cert, caFile := smtptest.SelfSigned(t)
	box, port := smtptest.Start(t, cert, false)
	_ = box

	t.Run("wrong password is permanent", func(t *testing.T) {
		t.Setenv("TEST_SMTP_BAD", "not-the-password-8e1")
		e, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: port, CAFile: caFile, Auth: "plain",
			Username: testSMTPUser, PasswordEnv: "TEST_SMTP_BAD", From: "alerts@example.org", To: []string{"soc@example.org"}},
			Options{Receiver: "mail-ops"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Send(t.Context(), testMessage("k1", StatusFiring))
		if err == nil || !res.Permanent || res.Status != 535 {
			t.Fatalf("Send = %+v, %v; want permanent 535", res, err)
		}
		noSecret(t, "not-the-password-8e1", err.Error(), fmt.Sprintf("%+v", err))
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Setenv("TEST_SMTP_PASS", testSMTPPass)
		e, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: port, Auth: "plain", Username: testSMTPUser,
			PasswordEnv: "TEST_SMTP_PASS", From: "alerts@example.org", To: []string{"soc@example.org"}}, Options{Receiver: "mail-ops"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Send(t.Context(), testMessage("k1", StatusFiring)); err == nil {
			t.Fatal("Send trusted a self-signed certificate without ca_file")
		}
	})
	t.Run("server down is temporary", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		dead := l.Addr().(*net.TCPAddr).Port
		l.Close()
		e := newTestEmail(t, dead, TLSStartTLS, caFile, Options{Receiver: "mail-ops"})
		res, err := e.Send(t.Context(), testMessage("k1", StatusFiring))
		if err == nil || res.Permanent {
			t.Fatalf("Send = %+v, %v; want temporary", res, err)
		}
	})
}

func TestMessageID(t *testing.T) {
	tests := []struct{ key, want string }{
		{"grp-ops-1", "phantomsoc.grp-ops-1@example.org"},
		{"a.b.c", "phantomsoc.a.b.c@example.org"},
	}
	for _, tc := range tests {
		if got := MessageID(tc.key, "example.org"); got != tc.want {
			t.Errorf("MessageID(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
	// Keys that are not a dot-atom are hashed, stably.
	for _, k := range []string{"a<b>@c", "x..y", "[group]", strings.Repeat("k", 200)} {
		got := MessageID(k, "example.org")
		if got != MessageID(k, "example.org") || strings.ContainsAny(got[:strings.IndexByte(got, '@')], "<>[]@") {
			t.Errorf("MessageID(%q) = %q", k, got)
		}
	}
}

func TestEmailDocument(t *testing.T) {
	cert, caFile := smtptest.SelfSigned(t)
	box, port := smtptest.Start(t, cert, false)
	var logs logBuffer
	e := newTestEmail(t, port, TLSStartTLS, caFile, Options{Receiver: "mail-ops", Logger: debugLogger(&logs)})
	d := &Document{Key: "report-weekly-1", Subject: "phantomsoc: weekly summary", Text: "The weekly summary is attached.",
		Name: "weekly.csv", ContentType: "text/csv; charset=utf-8", Data: []byte("section,name,value\nalerts,total,42\n")}
	res, err := e.SendDocument(t.Context(), d)
	if err != nil {
		t.Fatalf("SendDocument = %v", err)
	}
	if want := "<" + MessageID(d.Key, "example.org") + ">"; res.Remote != want {
		t.Errorf("Remote = %q, want %q", res.Remote, want)
	}
	got := box.All()
	if len(got) != 1 || !got[0].TLS || !got[0].Auth {
		t.Fatalf("server received %+v, want one message over TLS with auth", got)
	}
	h, ps := smtptest.Parts(t, got[0].Data)
	if h.Get("X-Phantomsoc-Key") != d.Key || h.Get("Subject") != d.Subject {
		t.Errorf("key %q, subject %q", h.Get("X-Phantomsoc-Key"), h.Get("Subject"))
	}
	if len(ps) != 2 {
		t.Fatalf("parts = %+v, want text and attachment", ps)
	}
	if ps[0].ContentType != "text/plain" || !strings.Contains(string(ps[0].Data), d.Text) {
		t.Errorf("body = %s %q", ps[0].ContentType, ps[0].Data)
	}
	if a := ps[1]; a.ContentType != "text/csv" || a.Filename != "weekly.csv" || string(a.Data) != string(d.Data) {
		t.Errorf("attachment = %s %q %q", a.ContentType, a.Filename, a.Data)
	}
	noSecret(t, testSMTPPass, logs.String())
}

func TestEmailDocumentRefused(t *testing.T) {
	e := newTestEmail(t, 1, TLSStartTLS, "", Options{Receiver: "mail-ops"})
	ok := Document{Key: "k", Name: "r.html", ContentType: "text/html"}
	tests := []struct {
		name string
		edit func(d *Document)
	}{
		{"no key", func(d *Document) { d.Key = "" }},
		{"path in name", func(d *Document) { d.Name = "../r.html" }},
		{"header in name", func(d *Document) { d.Name = "r.html\r\nBcc: x@example.org" }},
		{"bad content type", func(d *Document) { d.ContentType = "html" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ok
			tc.edit(&d)
			res, err := e.SendDocument(t.Context(), &d)
			if err == nil || !res.Permanent {
				t.Errorf("SendDocument(%+v) = %+v, %v; want a permanent refusal", d, res, err)
			}
		})
	}
}
