package notifiers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	ttemplate "text/template"
	"time"
)

// SMSConfig configures an HTTP SMS gateway: one request per notification,
// its parameters rendered from templates and encoded as a form or JSON.
//
//	sms:
//	  url: https://sms.example.net/v1/messages
//	  encoding: json
//	  fields: {to: "+15550100", from: phantomsoc, text: "{{.Text}}", ref: "{{.Key}}"}
//	  auth: {scheme: bearer, secret_env: SMS_TOKEN}
type SMSConfig struct {
	// Method is POST (default), PUT or GET (fields go to the query).
	Method  string         `yaml:"method,omitempty" json:"method,omitempty"`
	URL     string         `yaml:"url,omitempty" json:"url,omitempty"`
	URLEnv  string         `yaml:"url_env,omitempty" json:"url_env,omitempty"`
	URLFile string         `yaml:"url_file,omitempty" json:"url_file,omitempty"`
	Headers []HeaderConfig `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Encoding is form (default) or json.
	Encoding string `yaml:"encoding,omitempty" json:"encoding,omitempty"`
	// Fields maps each gateway parameter to a text/template. Templates
	// see the notification Data plus .Text, the short message (which
	// starts with the message's free text; that alone is .Data.Text).
	Fields map[string]string `yaml:"fields" json:"fields"`
	Auth   SMSAuthConfig     `yaml:"auth,omitzero" json:"auth,omitzero"`
	// MaxLength bounds .Text in characters; default 160 (one SMS).
	MaxLength int            `yaml:"max_length,omitempty" json:"max_length,omitempty"`
	Timeout   time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template  TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

// SMSAuthConfig authenticates to the gateway: bearer sends
// "Authorization: Bearer <secret>", basic uses Username and the secret as
// password.
type SMSAuthConfig struct {
	Scheme     string `yaml:"scheme,omitempty" json:"scheme,omitempty"`
	Username   string `yaml:"username,omitempty" json:"username,omitempty"`
	SecretEnv  string `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	SecretFile string `yaml:"secret_file,omitempty" json:"secret_file,omitempty"`
}

// Validate checks the config without resolving secrets.
func (c *SMSConfig) Validate() error {
	var errs fieldErrs
	switch strings.ToUpper(c.Method) {
	case "", http.MethodPost, http.MethodPut, http.MethodGet:
	default:
		errs.add("method", "%q: want POST, PUT or GET", c.Method)
	}
	validateURLRef(&errs, c.URL, c.URLEnv, c.URLFile)
	validateHeaders(&errs, "headers", c.Headers)
	switch c.Encoding {
	case "", "form", "json":
	default:
		errs.add("encoding", "%q: want form or json", c.Encoding)
	}
	if strings.EqualFold(c.Method, http.MethodGet) && c.Encoding == "json" {
		errs.add("encoding", "a GET sends fields in the query; json needs POST or PUT")
	}
	if len(c.Fields) == 0 {
		errs.add("fields", "at least one field required (e.g. text: \"{{.Text}}\")")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
		if k == "" || len(k) > 64 || !validHeaderValue(k) {
			errs.add("fields", "%q is not a parameter name", k)
		}
	}
	switch strings.ToLower(c.Auth.Scheme) {
	case "":
		if c.Auth.SecretEnv != "" || c.Auth.SecretFile != "" || c.Auth.Username != "" {
			errs.add("auth.scheme", "required with a secret: bearer or basic")
		}
	case "bearer":
		validateSecretRef(&errs, "auth.secret", c.Auth.SecretEnv, c.Auth.SecretFile, true)
	case "basic":
		if c.Auth.Username == "" || strings.Contains(c.Auth.Username, ":") || !validHeaderValue(c.Auth.Username) {
			errs.add("auth.username", "required for basic, without ':'")
		}
		validateSecretRef(&errs, "auth.secret", c.Auth.SecretEnv, c.Auth.SecretFile, true)
	default:
		errs.add("auth.scheme", "%q: want bearer or basic", c.Auth.Scheme)
	}
	if c.MaxLength < 0 {
		errs.add("max_length", "must not be negative")
	}
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// SMS sends a short text through an HTTP SMS gateway.
type SMS struct {
	receiver string
	method   string
	url      Secret
	json     bool
	headers  []header
	fields   map[string]*ttemplate.Template
	scheme   string
	username string
	secret   Secret
	maxLen   int
	client   *http.Client
	tmpl     *templates
	log      *slog.Logger
}

// smsData is what field templates see.
type smsData struct {
	Data
	// Text is the short message, at most MaxLength characters. It hides
	// Data.Text, the message's free text, which the default short
	// template puts first.
	Text string
}

// NewSMS validates cfg, resolves its secrets and parses every template.
func NewSMS(cfg SMSConfig, o Options) (*SMS, error) {
	const ch = "sms"
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, ch, err)
	}
	s := &SMS{receiver: o.Receiver, method: strings.ToUpper(cfg.Method), json: cfg.Encoding == "json",
		scheme: strings.ToLower(cfg.Auth.Scheme), username: cfg.Auth.Username, maxLen: cfg.MaxLength,
		fields: map[string]*ttemplate.Template{}, client: newHTTPClient(o, cfg.Timeout), log: o.logger(ch)}
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.maxLen == 0 {
		s.maxLen = 160
	}
	var err error
	if cfg.URL != "" {
		s.url = NewSecret(cfg.URL)
	} else if s.url, err = loadSecret("url", cfg.URLEnv, cfg.URLFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if _, err := checkURL(s.url.reveal()); err != nil {
		return nil, setupError(o, ch, fmt.Errorf("url: %w", err))
	}
	if s.headers, err = loadHeaders("headers", cfg.Headers); err != nil {
		return nil, setupError(o, ch, err)
	}
	if s.secret, err = loadSecret("auth.secret", cfg.Auth.SecretEnv, cfg.Auth.SecretFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if s.tmpl, err = parseTemplates(cfg.Template, TemplateConfig{Title: defaultTitle, Text: defaultShort}); err != nil {
		return nil, setupError(o, ch, err)
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Fields)) {
		t, err := ttemplate.New(k).Funcs(textFuncs).Option("missingkey=error").Parse(cfg.Fields[k])
		if err != nil {
			return nil, setupError(o, ch, fmt.Errorf("fields.%s: %w", k, err))
		}
		s.fields[k] = t
	}
	for _, m := range sampleMessages() {
		if _, err := s.body(&m); err != nil {
			return nil, setupError(o, ch, fmt.Errorf("%w (rendering a sample %s message)", err, m.Status))
		}
	}
	return s, nil
}

// body renders the fields and encodes them.
func (s *SMS) body(m *Message) ([]byte, error) {
	r, err := s.tmpl.render(m)
	if err != nil {
		return nil, err
	}
	d := smsData{Data: newData(m), Text: truncate(s.maxLen, oneLine(r.Text))}
	d.Title = r.Title
	vals := make(map[string]string, len(s.fields))
	var buf bytes.Buffer
	for k, t := range s.fields {
		buf.Reset()
		if err := t.Execute(&limitWriter{w: &buf, n: 4096}, d); err != nil {
			return nil, fmt.Errorf("fields.%s: %w", k, err)
		}
		vals[k] = buf.String()
	}
	if s.json {
		return json.Marshal(vals)
	}
	form := url.Values{}
	for k, v := range vals {
		form.Set(k, v)
	}
	return []byte(form.Encode()), nil
}

// Send posts the short message. Status classes as for webhooks.
func (s *SMS) Send(ctx context.Context, m *Message) (Result, error) {
	const ch = "sms"
	if err := checkMessage(m); err != nil {
		return fail(s.receiver, ch, 0, 0, true, err)
	}
	body, err := s.body(m)
	if err != nil {
		return fail(s.receiver, ch, 0, 0, true, err)
	}
	target := s.url.reveal()
	var rd io.Reader = bytes.NewReader(body)
	if s.method == http.MethodGet {
		u, _ := url.Parse(target)
		q := u.Query()
		extra, _ := url.ParseQuery(string(body))
		for k, v := range extra {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		target, rd = u.String(), nil
	}
	req, err := http.NewRequestWithContext(ctx, s.method, target, rd)
	if err != nil {
		return fail(s.receiver, ch, 0, 0, true, scrub(err, s.secrets()...))
	}
	setHeaders(req, s.headers)
	if rd != nil {
		if s.json {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderKey, m.Key)
	switch s.scheme {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+s.secret.reveal())
	case "basic":
		req.SetBasicAuth(s.username, s.secret.reveal())
	}
	rep, err := do(s.client, req)
	res, err := postResult(s.receiver, ch, rep, err, s.secrets()...)
	s.log.Debug("sms send", "key", m.Key, "status", res.Status, "ok", err == nil)
	return res, err
}

func (s *SMS) secrets() []Secret {
	out := []Secret{s.url, s.secret}
	for _, h := range s.headers {
		out = append(out, h.value)
	}
	return out
}
