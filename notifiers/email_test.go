package notifiers

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	testSMTPUser = "alerts@example.org"
	testSMTPPass = "smtp-pass-3c9e1b"
)

// selfSigned makes a certificate for 127.0.0.1 and writes it as a PEM CA
// file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "phantomsoc test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

// mailbox is a go-smtp backend that requires AUTH PLAIN and records
// what it accepts.
type mailbox struct {
	mu   sync.Mutex
	msgs []received
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	auth bool
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &mailSession{box: b, cur: received{tls: isTLS}, conn: c}, nil
}

func (b *mailbox) all() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type mailSession struct {
	box  *mailbox
	conn *smtp.Conn
	cur  received
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != testSMTPUser || password != testSMTPPass {
			return smtp.ErrAuthFailed
		}
		s.cur.auth = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.cur.auth {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	// STARTTLS happens after the session began: ask the connection now.
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.cur = received{tls: s.cur.tls, auth: s.cur.auth} }
func (s *mailSession) Logout() error { return nil }

// startSMTP serves on 127.0.0.1:0; implicit wraps the listener in TLS
// (SMTPS), otherwise the server offers STARTTLS. AUTH is not offered
// before TLS.
func startSMTP(t *testing.T, cert tls.Certificate, implicit bool) (*mailbox, int) {
	t.Helper()
	box := &mailbox{}
	s := smtp.NewServer(box)
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if implicit {
		l = tls.NewListener(l, s.TLSConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-done
	})
	return box, port
}

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
	cert, caFile := selfSigned(t)
	for _, mode := range []string{TLSStartTLS, TLSImplicit, TLSOpportunistic} {
		t.Run(mode, func(t *testing.T) {
			box, port := startSMTP(t, cert, mode == TLSImplicit)
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
			got := box.all()
			if len(got) != 2 {
				t.Fatalf("server received %d messages, want 2", len(got))
			}
			r := got[0]
			if !r.tls || !r.auth {
				t.Errorf("tls=%v auth=%v, want both", r.tls, r.auth)
			}
			if r.from != "alerts@example.org" || strings.Join(r.to, ",") != "soc@example.org,oncall@example.org" {
				t.Errorf("envelope %s → %v", r.from, r.to)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(r.data))
			if err != nil {
				t.Fatal(err)
			}
			msg2, _ := mail.ReadMessage(bytes.NewReader(got[1].data))
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
	cert, caFile := selfSigned(t)
	box, port := startSMTP(t, cert, false)
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
