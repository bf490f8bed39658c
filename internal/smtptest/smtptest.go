// Package smtptest runs a real SMTP server (emersion/go-smtp) on loopback
// for tests of what sends mail: STARTTLS or implicit TLS with a
// self-signed certificate, AUTH PLAIN required, every message recorded.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
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

// The credentials the server accepts.
const (
	User = "alerts@example.org"
	Pass = "smtp-pass-3c9e1b"
)

// SelfSigned makes a certificate for 127.0.0.1 and writes it as a PEM CA
// file.
func SelfSigned(t testing.TB) (tls.Certificate, string) {
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

// Mailbox is a go-smtp backend that requires AUTH PLAIN and records what
// it accepts.
type Mailbox struct {
	mu   sync.Mutex
	msgs []Received
}

// Received is one accepted message: its envelope, its data and how the
// session was secured.
type Received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	Auth bool
}

// NewSession implements smtp.Backend.
func (b *Mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{box: b, cur: Received{TLS: isTLS}, conn: c}, nil
}

// All returns the messages accepted so far, oldest first.
func (b *Mailbox) All() []Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Received(nil), b.msgs...)
}

type session struct {
	box  *Mailbox
	conn *smtp.Conn
	cur  Received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != User || password != Pass {
			return smtp.ErrAuthFailed
		}
		s.cur.Auth = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.cur.Auth {
		return smtp.ErrAuthRequired
	}
	s.cur.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	// STARTTLS happens after the session began: ask the connection now.
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = Received{TLS: s.cur.TLS, Auth: s.cur.Auth} }
func (s *session) Logout() error { return nil }

// Start serves on 127.0.0.1:0 until the test ends; implicit wraps the
// listener in TLS (SMTPS), otherwise the server offers STARTTLS. AUTH is
// not offered before TLS.
func Start(t testing.TB, cert tls.Certificate, implicit bool) (*Mailbox, int) {
	t.Helper()
	box := &Mailbox{}
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

// Part is one leaf of a MIME message, its transfer encoding undone.
type Part struct {
	ContentType string
	// Filename is the Content-Disposition's, "" for an inline part.
	Filename string
	Data     []byte
}

// Parts parses a message and returns its header and its leaf parts in
// order, descending into nested multiparts.
func Parts(t testing.TB, data []byte) (mail.Header, []Part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	var out []Part
	var walk func(ct, cte, cd string, body io.Reader)
	walk = func(ct, cte, cd string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Fatalf("read %s: %v", mt, err)
				}
				// NextPart undoes quoted-printable and drops its header.
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p)
			}
		}
		if strings.EqualFold(cte, "base64") {
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("read %s part: %v", mt, err)
		}
		var name string
		if _, dp, err := mime.ParseMediaType(cd); err == nil {
			name = dp["filename"]
		}
		out = append(out, Part{ContentType: mt, Filename: name, Data: b})
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Header.Get("Content-Disposition"), msg.Body)
	return msg.Header, out
}
