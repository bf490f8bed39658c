package notifiers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256 of
// the exact body bytes under the receiver's secret; verify it with a
// constant-time compare before parsing. The key header repeats
// WebhookPayload.Key so a receiver can dedup before reading the body.
const (
	HeaderSignature = "X-Phantomsoc-Signature"
	HeaderKey       = "X-Phantomsoc-Key"
)

// WebhookConfig configures a generic JSON webhook.
type WebhookConfig struct {
	// URL is the endpoint; when it embeds a token, give it through
	// url_env or url_file instead.
	URL     string `yaml:"url,omitempty" json:"url,omitempty"`
	URLEnv  string `yaml:"url_env,omitempty" json:"url_env,omitempty"`
	URLFile string `yaml:"url_file,omitempty" json:"url_file,omitempty"`
	// SecretEnv/SecretFile hold the HMAC key; without one, no signature
	// header is sent.
	SecretEnv  string         `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	SecretFile string         `yaml:"secret_file,omitempty" json:"secret_file,omitempty"`
	Headers    []HeaderConfig `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Timeout bounds one request; default 10s.
	Timeout  time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

// Validate checks the config without resolving secrets.
func (c *WebhookConfig) Validate() error {
	var errs fieldErrs
	validateURLRef(&errs, c.URL, c.URLEnv, c.URLFile)
	validateSecretRef(&errs, "secret", c.SecretEnv, c.SecretFile, false)
	validateHeaders(&errs, "headers", c.Headers)
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// WebhookPayload is the JSON body a webhook receives, schema version 1.
// Fields are only ever added, never renamed or removed; a breaking change
// bumps Version.
type WebhookPayload struct {
	Version int `json:"version"`
	// Key is the idempotency key: the same key is the same notification,
	// resent. Also in the X-Phantomsoc-Key header.
	Key string `json:"key"`
	// Status is "firing", "resolved" or "acknowledged".
	Status      string            `json:"status"`
	Receiver    string            `json:"receiver"`
	Level       int               `json:"level"`
	GroupLabels map[string]string `json:"group_labels"`
	// Title and Text are the receiver's rendered templates.
	Title   string           `json:"title"`
	Text    string           `json:"text"`
	Alerts  []WebhookAlert   `json:"alerts"`
	Pending []WebhookPending `json:"pending"`
	// TruncatedAlerts counts alerts left out of Alerts (beyond
	// webhookMaxAlerts).
	TruncatedAlerts int `json:"truncated_alerts,omitempty"`
}

// WebhookAlert is one alert in a WebhookPayload.
type WebhookAlert struct {
	ID       string `json:"id"`
	Scenario string `json:"scenario"`
	// Source is the blamed address, campaign prefixes or group key.
	Source   string            `json:"source"`
	Risk     float64           `json:"risk"`
	Severity float64           `json:"severity"`
	Time     time.Time         `json:"time"`
	Count    int               `json:"count"`
	Summary  string            `json:"summary"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// WebhookPending is one remediation awaiting approval in a WebhookPayload.
type WebhookPending struct {
	ID      string    `json:"id"`
	AlertID string    `json:"alert_id"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	TTL     string    `json:"ttl,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	Risk    float64   `json:"risk"`
	Reason  string    `json:"reason,omitempty"`
}

// webhookMaxAlerts bounds a body; the group's size is still in
// TruncatedAlerts.
const webhookMaxAlerts = 500

// webhookPayload builds the body schema from m and its rendering.
func webhookPayload(m *Message, r rendered) WebhookPayload {
	p := WebhookPayload{Version: 1, Key: m.Key, Status: m.Status, Receiver: m.Receiver, Level: m.Level,
		GroupLabels: m.GroupLabels, Title: r.Title, Text: r.Text,
		Alerts: make([]WebhookAlert, 0, min(len(m.Alerts), webhookMaxAlerts)), Pending: make([]WebhookPending, 0, len(m.Pending))}
	if p.GroupLabels == nil {
		p.GroupLabels = map[string]string{}
	}
	for i, a := range m.Alerts {
		if i == webhookMaxAlerts {
			p.TruncatedAlerts = len(m.Alerts) - i
			break
		}
		p.Alerts = append(p.Alerts, WebhookAlert{ID: a.ID, Scenario: a.Scenario, Source: sourceString(a), Risk: a.Risk,
			Severity: a.Severity, Time: a.Time.UTC(), Count: a.Count, Summary: summary(a), Labels: a.Labels})
	}
	for _, d := range m.Pending {
		wp := WebhookPending{ID: d.ID, AlertID: d.AlertID, Action: d.Action, Target: engine.PrefixString(d.Target),
			Expires: d.Expires.UTC(), Risk: d.Risk, Reason: d.Reason}
		if d.TTL > 0 {
			wp.TTL = d.TTL.String()
		}
		p.Pending = append(p.Pending, wp)
	}
	return p
}

// webhookBody renders and marshals m.
func webhookBody(m *Message, t *templates) ([]byte, error) {
	r, err := t.render(m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(webhookPayload(m, r))
}

// sign is the X-Phantomsoc-Signature value of body.
func sign(secret Secret, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret.reveal()))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Webhook posts a signed JSON body (WebhookPayload) to a URL.
type Webhook struct {
	receiver string
	url      Secret
	secret   Secret
	headers  []header
	client   *http.Client
	tmpl     *templates
	log      *slog.Logger
}

// NewWebhook validates cfg, resolves its secrets and parses its templates.
func NewWebhook(cfg WebhookConfig, o Options) (*Webhook, error) {
	const ch = "webhook"
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, ch, err)
	}
	w := &Webhook{receiver: o.Receiver, client: newHTTPClient(o, cfg.Timeout), log: o.logger(ch)}
	var err error
	if cfg.URL != "" {
		w.url = NewSecret(cfg.URL)
	} else if w.url, err = loadSecret("url", cfg.URLEnv, cfg.URLFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if _, err := checkURL(w.url.reveal()); err != nil {
		return nil, setupError(o, ch, fmt.Errorf("url: %w", err))
	}
	if w.secret, err = loadSecret("secret", cfg.SecretEnv, cfg.SecretFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if w.headers, err = loadHeaders("headers", cfg.Headers); err != nil {
		return nil, setupError(o, ch, err)
	}
	if w.tmpl, err = parseTemplates(cfg.Template, TemplateConfig{Title: defaultTitle, Text: defaultText}); err != nil {
		return nil, setupError(o, ch, err)
	}
	return w, nil
}

// Send posts m. 2xx is delivered; 408, 429 and 5xx are temporary (with
// Retry-After); any other status is permanent.
func (w *Webhook) Send(ctx context.Context, m *Message) (Result, error) {
	const ch = "webhook"
	if err := checkMessage(m); err != nil {
		return fail(w.receiver, ch, 0, 0, true, err)
	}
	body, err := webhookBody(m, w.tmpl)
	if err != nil {
		return fail(w.receiver, ch, 0, 0, true, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.reveal(), bytes.NewReader(body))
	if err != nil {
		return fail(w.receiver, ch, 0, 0, true, scrub(err, w.secrets()...))
	}
	setHeaders(req, w.headers)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderKey, m.Key)
	if !w.secret.IsZero() {
		req.Header.Set(HeaderSignature, sign(w.secret, body))
	}
	rep, err := do(w.client, req)
	res, err := postResult(w.receiver, ch, rep, err, w.secrets()...)
	if err == nil {
		res.Remote = m.Key
	}
	w.log.Debug("webhook send", "key", m.Key, "status", res.Status, "bytes", len(body), "ok", err == nil)
	return res, err
}

func (w *Webhook) secrets() []Secret {
	s := []Secret{w.url, w.secret}
	for _, h := range w.headers {
		s = append(s, h.value)
	}
	return s
}
