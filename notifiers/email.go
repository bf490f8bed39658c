package notifiers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// E-mail TLS modes.
const (
	// TLSStartTLS upgrades with STARTTLS and fails if the server cannot.
	TLSStartTLS = "starttls"
	// TLSOpportunistic upgrades with STARTTLS when offered.
	TLSOpportunistic = "opportunistic"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear; allowed only to a loopback relay.
	TLSNone = "none"
)

// EmailConfig configures e-mail over SMTP.
type EmailConfig struct {
	Host string `yaml:"host" json:"host"`
	// Port defaults to 587 (starttls, opportunistic), 465 (tls) or 25
	// (none).
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// TLS is starttls (default), opportunistic, tls or none.
	TLS string `yaml:"tls,omitempty" json:"tls,omitempty"`
	// CAFile is a PEM bundle trusted instead of the system roots (a
	// private CA, a test's self-signed certificate).
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// Auth is plain, login or empty (no authentication). Both need TLS:
	// go-mail refuses to send credentials in clear.
	Auth         string   `yaml:"auth,omitempty" json:"auth,omitempty"`
	Username     string   `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordEnv  string   `yaml:"password_env,omitempty" json:"password_env,omitempty"`
	PasswordFile string   `yaml:"password_file,omitempty" json:"password_file,omitempty"`
	From         string   `yaml:"from" json:"from"`
	To           []string `yaml:"to" json:"to"`
	// MessageIDDomain is the right side of Message-IDs; default the
	// From address's domain.
	MessageIDDomain string         `yaml:"message_id_domain,omitempty" json:"message_id_domain,omitempty"`
	Timeout         time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template        TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

var hostnameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.?$`)
})

// validHost accepts a DNS name or an IP address: the value reaches the
// SMTP dialogue (TLS server name, EHLO replies), so nothing else may pass.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	return len(h) <= 253 && hostnameRE().MatchString(h)
}

// parseAddr accepts one bare or named address without control
// characters (an SMTP command carries it).
func parseAddr(s string) (*mail.Address, error) {
	if !validHeaderValue(s) {
		return nil, errors.New("contains control characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Validate checks the config without resolving secrets.
func (c *EmailConfig) Validate() error {
	var errs fieldErrs
	if !validHost(c.Host) {
		errs.add("host", "%q is not a host name or address", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		errs.add("port", "%d is not a port", c.Port)
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSOpportunistic, TLSImplicit:
	case TLSNone:
		if !isLoopbackHost(c.Host) {
			errs.add("tls", "none is allowed only to a loopback relay, not %q", c.Host)
		}
	default:
		errs.add("tls", "%q: want starttls, opportunistic, tls or none", c.TLS)
	}
	switch strings.ToLower(c.Auth) {
	case "":
		if c.Username != "" || c.PasswordEnv != "" || c.PasswordFile != "" {
			errs.add("auth", "username/password set but auth is empty: set plain or login")
		}
	case "plain", "login":
		if c.TLS == TLSNone {
			errs.add("auth", "authentication needs TLS")
		}
		if c.Username == "" || !validHeaderValue(c.Username) {
			errs.add("username", "required with auth, printable")
		}
		validateSecretRef(&errs, "password", c.PasswordEnv, c.PasswordFile, true)
	default:
		errs.add("auth", "%q: want plain or login", c.Auth)
	}
	if _, err := parseAddr(c.From); err != nil {
		errs.add("from", "%q: %v", c.From, err)
	}
	if len(c.To) == 0 {
		errs.add("to", "at least one recipient required")
	}
	for i, t := range c.To {
		if _, err := parseAddr(t); err != nil {
			errs.add(fmt.Sprintf("to[%d]", i), "%q: %v", t, err)
		}
	}
	if c.MessageIDDomain != "" && !validHost(c.MessageIDDomain) {
		errs.add("message_id_domain", "%q is not a domain", c.MessageIDDomain)
	}
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// Email sends multipart (plain text and HTML) mail through an SMTP server.
type Email struct {
	receiver string
	cfg      EmailConfig
	password Secret
	tlsConf  *tls.Config
	domain   string
	tmpl     *templates
	log      *slog.Logger
}

// NewEmail validates cfg, resolves the password, loads the CA file and
// parses the templates.
func NewEmail(cfg EmailConfig, o Options) (*Email, error) {
	const ch = "email"
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, ch, err)
	}
	e := &Email{receiver: o.Receiver, cfg: cfg, log: o.logger(ch), domain: cfg.MessageIDDomain}
	if e.cfg.TLS == "" {
		e.cfg.TLS = TLSStartTLS
	}
	if e.cfg.Port == 0 {
		switch e.cfg.TLS {
		case TLSImplicit:
			e.cfg.Port = 465
		case TLSNone:
			e.cfg.Port = 25
		default:
			e.cfg.Port = 587
		}
	}
	if e.cfg.Timeout == 0 {
		e.cfg.Timeout = defaultTimeout
	}
	if e.domain == "" {
		from, _ := mail.ParseAddress(cfg.From)
		e.domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
		if !validHost(e.domain) {
			e.domain = "phantomsoc.invalid"
		}
	}
	e.tlsConf = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, setupError(o, ch, fmt.Errorf("ca_file: %w", err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, setupError(o, ch, fmt.Errorf("ca_file: no PEM certificate in %s", cfg.CAFile))
		}
		e.tlsConf.RootCAs = pool
	}
	var err error
	if e.password, err = loadSecret("password", cfg.PasswordEnv, cfg.PasswordFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if e.tmpl, err = parseTemplates(cfg.Template, TemplateConfig{Title: defaultTitle, Text: defaultText, HTML: defaultHTML}); err != nil {
		return nil, setupError(o, ch, err)
	}
	return e, nil
}

var dotAtom = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~\-]+(\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~\-]+)*$`)
})

// MessageID is the Message-ID (without angle brackets) of the
// notification with key: the key itself when it is a valid RFC 5322
// dot-atom, else its SHA-256. The same key always gives the same ID, so
// a resend is recognisable (and deduplicated by many mail systems).
func MessageID(key, domain string) string {
	if len(key) <= 128 && dotAtom().MatchString(key) {
		return "phantomsoc." + key + "@" + domain
	}
	sum := sha256.Sum256([]byte(key))
	return "phantomsoc." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// Send delivers m as one message to every recipient. Result.Remote is
// the Message-ID.
func (e *Email) Send(ctx context.Context, m *Message) (Result, error) {
	const ch = "email"
	if err := checkMessage(m); err != nil {
		return fail(e.receiver, ch, 0, 0, true, err)
	}
	r, err := e.tmpl.render(m)
	if err != nil {
		return fail(e.receiver, ch, 0, 0, true, err)
	}
	msg, id, err := e.newMsg(m.Key, r.Title)
	if err != nil {
		return fail(e.receiver, ch, 0, 0, true, err)
	}
	msg.SetGenHeader(gomail.Header("X-Phantomsoc-Status"), m.Status)
	msg.SetBodyString(gomail.TypeTextPlain, r.Text+"\n")
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return e.transmit(ctx, msg, m.Key, id)
}

// Document is a file mailed as an attachment with a short text body: a
// scheduled report.
type Document struct {
	// Key names the document for Message-ID and X-Phantomsoc-Key, as a
	// Message's key does: the same key, the same Message-ID.
	Key     string
	Subject string
	Text    string
	// Name is the attachment's file name, ContentType its media type.
	Name        string
	ContentType string
	Data        []byte
}

// SendDocument mails d to every recipient with the configured SMTP
// settings. Result.Remote is the Message-ID.
func (e *Email) SendDocument(ctx context.Context, d *Document) (Result, error) {
	const ch = "email"
	if err := checkDocument(d); err != nil {
		return fail(e.receiver, ch, 0, 0, true, err)
	}
	msg, id, err := e.newMsg(d.Key, d.Subject)
	if err != nil {
		return fail(e.receiver, ch, 0, 0, true, err)
	}
	msg.SetBodyString(gomail.TypeTextPlain, d.Text+"\n")
	msg.AttachReadSeeker(d.Name, bytes.NewReader(d.Data), gomail.WithFileContentType(gomail.ContentType(d.ContentType)))
	return e.transmit(ctx, msg, d.Key, id)
}

// checkDocument refuses what would reach a header unchecked: the key,
// the attachment's name and its media type.
func checkDocument(d *Document) error {
	if err := checkMessage(&Message{Key: d.Key, Status: StatusFiring}); err != nil {
		return err
	}
	if d.Name == "" || !validHeaderValue(d.Name) || strings.ContainsAny(d.Name, "/\\\"") {
		return fmt.Errorf("document %s: attachment name %q: want a plain file name", d.Key, d.Name)
	}
	if mt, _, err := mime.ParseMediaType(d.ContentType); err != nil || !strings.Contains(mt, "/") || !validHeaderValue(d.ContentType) {
		return fmt.Errorf("document %s: content type %q: not a media type", d.Key, d.ContentType)
	}
	return nil
}

// newMsg starts a message with the headers every mail carries.
func (e *Email) newMsg(key, subject string) (*gomail.Msg, string, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(e.cfg.From); err != nil {
		return nil, "", fmt.Errorf("from: %w", err)
	}
	if err := msg.To(e.cfg.To...); err != nil {
		return nil, "", fmt.Errorf("to: %w", err)
	}
	id := MessageID(key, e.domain)
	msg.Subject(truncate(250, subject))
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.SetGenHeader(gomail.HeaderXMailer, userAgent)
	msg.SetGenHeader(gomail.Header(HeaderKey), key)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	return msg, id, nil
}

// transmit sends msg through the configured server.
func (e *Email) transmit(ctx context.Context, msg *gomail.Msg, key, id string) (Result, error) {
	const ch = "email"
	opts := []gomail.Option{
		gomail.WithPort(e.cfg.Port),
		gomail.WithTimeout(e.cfg.Timeout),
		gomail.WithTLSConfig(e.tlsConf.Clone()),
	}
	switch e.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	switch strings.ToLower(e.cfg.Auth) {
	case "plain":
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain))
	case "login":
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthLogin))
	}
	if e.cfg.Auth != "" {
		opts = append(opts, gomail.WithUsername(e.cfg.Username), gomail.WithPassword(e.password.reveal()))
	}
	client, err := gomail.NewClient(e.cfg.Host, opts...)
	if err != nil {
		return fail(e.receiver, ch, 0, 0, true, scrub(err, e.password))
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return e.fail(fmt.Errorf("connect to %s:%d: %w", e.cfg.Host, e.cfg.Port, err))
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		return e.fail(fmt.Errorf("send via %s:%d: %w", e.cfg.Host, e.cfg.Port, err))
	}
	// The server took the message at the end of DATA; a failed QUIT does
	// not undo that, and reporting it would cause a duplicate.
	if err := client.CloseWithSMTPClient(conn); err != nil {
		e.log.Debug("email quit failed after delivery", "key", key, "err", scrub(err, e.password))
	}
	e.log.Debug("email send", "key", key, "message_id", id, "recipients", len(e.cfg.To))
	return Result{Status: 250, Remote: "<" + id + ">"}, nil
}

// fail classifies an SMTP failure: a 5xx reply is permanent, a 4xx or a
// network failure temporary.
func (e *Email) fail(err error) (Result, error) {
	const ch = "email"
	var se *gomail.SendError
	var te *textproto.Error
	code := 0
	permanent := false
	switch {
	case errors.As(err, &se):
		// IsTemp is false for anything not a 4xx reply, network errors
		// included; only a 5xx reply is a refusal.
		code = se.ErrorCode()
		permanent = code >= 500
	case errors.As(err, &te):
		code = te.Code
		permanent = te.Code >= 500
	}
	return fail(e.receiver, ch, code, 0, permanent, scrub(err, e.password))
}
