package notifiers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// DefaultPagerDutyEndpoint is the Events API v2 base.
const DefaultPagerDutyEndpoint = "https://events.pagerduty.com"

// PagerDutyConfig configures PagerDuty Events API v2.
type PagerDutyConfig struct {
	// RoutingKeyEnv/RoutingKeyFile hold the integration's routing key.
	RoutingKeyEnv  string `yaml:"routing_key_env,omitempty" json:"routing_key_env,omitempty"`
	RoutingKeyFile string `yaml:"routing_key_file,omitempty" json:"routing_key_file,omitempty"`
	// Endpoint is the API base; events go to {endpoint}/v2/enqueue.
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	// Source is payload.source when an alert names no host; default
	// "phantomsoc".
	Source   string         `yaml:"source,omitempty" json:"source,omitempty"`
	Timeout  time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

// Validate checks the config without resolving secrets.
func (c *PagerDutyConfig) Validate() error {
	var errs fieldErrs
	validateSecretRef(&errs, "routing_key", c.RoutingKeyEnv, c.RoutingKeyFile, true)
	if c.Endpoint != "" {
		validateURL(&errs, "endpoint", c.Endpoint)
	}
	if len(c.Source) > 255 || !validHeaderValue(c.Source) {
		errs.add("source", "must be at most 255 printable characters")
	}
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// PagerDuty sends Events API v2 events: trigger on firing, acknowledge
// and resolve with the same dedup key.
type PagerDuty struct {
	receiver string
	key      Secret
	url      string
	source   string
	client   *http.Client
	tmpl     *templates
	log      *slog.Logger
}

// NewPagerDuty validates cfg, resolves the routing key and parses the
// templates.
func NewPagerDuty(cfg PagerDutyConfig, o Options) (*PagerDuty, error) {
	const ch = "pagerduty"
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, ch, err)
	}
	p := &PagerDuty{receiver: o.Receiver, source: cfg.Source, client: newHTTPClient(o, cfg.Timeout), log: o.logger(ch)}
	if p.source == "" {
		p.source = "phantomsoc"
	}
	base := cfg.Endpoint
	if base == "" {
		base = DefaultPagerDutyEndpoint
	}
	p.url = strings.TrimRight(base, "/") + "/v2/enqueue"
	var err error
	if p.key, err = loadSecret("routing_key", cfg.RoutingKeyEnv, cfg.RoutingKeyFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if p.tmpl, err = parseTemplates(cfg.Template, TemplateConfig{Title: defaultTitle, Text: defaultText}); err != nil {
		return nil, setupError(o, ch, err)
	}
	return p, nil
}

// pdEvent is an Events API v2 request body.
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Client      string     `json:"client,omitempty"`
	Payload     *pdPayload `json:"payload,omitempty"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// pdReply is the Events API answer.
type pdReply struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// pdAction maps a notification status to an event action.
func pdAction(status string) string {
	switch status {
	case StatusResolved:
		return "resolve"
	case StatusAcknowledged:
		return "acknowledge"
	}
	return "trigger"
}

// pdSeverity maps a 0–10 risk to PagerDuty's four severities.
func pdSeverity(risk float64) string {
	switch riskLevel(risk) {
	case "critical":
		return "critical"
	case "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "info"
}

// DedupKey is the PagerDuty dedup_key for a message key: the key itself,
// or its SHA-256 when longer than PagerDuty's 255 characters. Resends
// reuse it, so PagerDuty folds them into one incident.
func DedupKey(key string) string {
	if len(key) <= 255 {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "phantomsoc-" + hex.EncodeToString(sum[:])
}

// GroupDedupKey is the PagerDuty dedup_key of a group's incident at a
// receiver: "GROUP:RECEIVER", or, when that is longer than PagerDuty's 255
// characters, the group's SHA-256 in its place. Every trigger, acknowledge
// and resolve of the group carries it, so they act on one incident, and a
// resend folds into it.
func GroupDedupKey(group, receiver string) string {
	if k := group + ":" + receiver; len(k) <= 255 {
		return k
	}
	sum := sha256.Sum256([]byte(group))
	return DedupKey("phantomsoc-" + hex.EncodeToString(sum[:]) + ":" + receiver)
}

// dedupKeyOf is m's dedup_key: its group's, or for a message without one
// (sent before groups were carried) its own key.
func dedupKeyOf(m *Message) string {
	if m.Group != "" {
		return GroupDedupKey(m.Group, m.Receiver)
	}
	return DedupKey(m.Key)
}

// pdBody builds the event for m.
func (p *PagerDuty) pdBody(m *Message) ([]byte, error) {
	ev := pdEvent{RoutingKey: p.key.reveal(), EventAction: pdAction(m.Status), DedupKey: dedupKeyOf(m)}
	if ev.EventAction == "trigger" {
		r, err := p.tmpl.render(m)
		if err != nil {
			return nil, err
		}
		d := newData(m)
		pl := &pdPayload{Summary: truncate(1024, r.Title), Source: p.source, Severity: pdSeverity(d.MaxRisk),
			Class: scenarios(m.Alerts), Component: "phantomsoc",
			CustomDetails: map[string]any{"text": r.Text, "level": m.Level, "receiver": m.Receiver, "key": m.Key}}
		if len(m.Alerts) > 0 {
			a := m.Alerts[0]
			if a.Host != "" {
				pl.Source = truncate(255, oneLine(a.Host))
			}
			if !a.Time.IsZero() {
				pl.Timestamp = a.Time.UTC().Format(time.RFC3339Nano)
			}
			pl.Group = truncate(255, sourceString(a))
		}
		if len(m.GroupLabels) > 0 {
			pl.CustomDetails["group_labels"] = m.GroupLabels
		}
		if len(m.Pending) > 0 {
			ps := make([]string, 0, len(m.Pending))
			for _, d := range m.Pending {
				ps = append(ps, pendingString(d))
			}
			pl.CustomDetails["pending"] = ps
		}
		ev.Payload = pl
		ev.Client = "phantomsoc"
	}
	return json.Marshal(ev)
}

// Send posts one event. 202 is accepted (Remote is the dedup key); 400 is
// permanent (the event is invalid); 429 and 5xx are temporary, 429 with
// Retry-After when PagerDuty gives one.
func (p *PagerDuty) Send(ctx context.Context, m *Message) (Result, error) {
	const ch = "pagerduty"
	if err := checkMessage(m); err != nil {
		return fail(p.receiver, ch, 0, 0, true, err)
	}
	body, err := p.pdBody(m)
	if err != nil {
		return fail(p.receiver, ch, 0, 0, true, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return fail(p.receiver, ch, 0, 0, true, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	rep, err := do(p.client, req)
	if err == nil && rep.status >= 400 && rep.status < 500 {
		// Name PagerDuty's own complaint, not the raw body.
		var pr pdReply
		if json.Unmarshal(rep.body, &pr) == nil && (pr.Message != "" || len(pr.Errors) > 0) {
			rep.body = fmt.Appendf(nil, "%s: %s", pr.Message, strings.Join(pr.Errors, "; "))
		}
	}
	res, err := postResult(p.receiver, ch, rep, err, p.key)
	if err != nil {
		return res, err
	}
	res.Remote = dedupKeyOf(m)
	var pr pdReply
	if json.Unmarshal(rep.body, &pr) == nil && pr.DedupKey != "" {
		res.Remote = pr.DedupKey
	}
	p.log.Debug("pagerduty send", "key", m.Key, "action", pdAction(m.Status), "status", res.Status)
	return res, nil
}
