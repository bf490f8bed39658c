package notifiers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Teams card formats.
const (
	// TeamsAdaptive posts an Adaptive Card in a message envelope (Teams
	// Workflows webhooks).
	TeamsAdaptive = "adaptive"
	// TeamsMessageCard posts a legacy Office 365 connector MessageCard.
	TeamsMessageCard = "messagecard"
)

// TeamsConfig configures a Microsoft Teams incoming webhook.
type TeamsConfig struct {
	WebhookURLEnv  string `yaml:"webhook_url_env,omitempty" json:"webhook_url_env,omitempty"`
	WebhookURLFile string `yaml:"webhook_url_file,omitempty" json:"webhook_url_file,omitempty"`
	// Format is adaptive (default) or messagecard.
	Format   string         `yaml:"format,omitempty" json:"format,omitempty"`
	Timeout  time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

// Validate checks the config without resolving secrets.
func (c *TeamsConfig) Validate() error {
	var errs fieldErrs
	validateSecretRef(&errs, "webhook_url", c.WebhookURLEnv, c.WebhookURLFile, true)
	switch c.Format {
	case "", TeamsAdaptive, TeamsMessageCard:
	default:
		errs.add("format", "%q: want adaptive or messagecard", c.Format)
	}
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// MattermostConfig configures a Mattermost incoming webhook.
type MattermostConfig struct {
	WebhookURLEnv  string `yaml:"webhook_url_env,omitempty" json:"webhook_url_env,omitempty"`
	WebhookURLFile string `yaml:"webhook_url_file,omitempty" json:"webhook_url_file,omitempty"`
	// Channel and Username override the webhook's defaults when the
	// server allows it.
	Channel  string         `yaml:"channel,omitempty" json:"channel,omitempty"`
	Username string         `yaml:"username,omitempty" json:"username,omitempty"`
	Timeout  time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

var mattermostName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[@~]?[a-z0-9._\-]{1,64}$`) })

// Validate checks the config without resolving secrets.
func (c *MattermostConfig) Validate() error {
	var errs fieldErrs
	validateSecretRef(&errs, "webhook_url", c.WebhookURLEnv, c.WebhookURLFile, true)
	if c.Channel != "" && !mattermostName().MatchString(c.Channel) {
		errs.add("channel", "%q is not a channel name", c.Channel)
	}
	if c.Username != "" && !mattermostName().MatchString(c.Username) {
		errs.add("username", "%q is not a user name", c.Username)
	}
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// chatHook is what Teams and Mattermost share: a secret incoming-webhook
// URL taking a JSON document.
type chatHook struct {
	receiver string
	channel  string
	url      Secret
	client   *http.Client
	tmpl     *templates
	log      *slog.Logger
	build    func(m *Message, r rendered) any
}

func newChatHook(ch string, o Options, urlEnv, urlFile string, timeout time.Duration, tc TemplateConfig) (*chatHook, error) {
	h := &chatHook{receiver: o.Receiver, channel: ch, client: newHTTPClient(o, timeout), log: o.logger(ch)}
	var err error
	if h.url, err = loadSecret("webhook_url", urlEnv, urlFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	if _, err := checkURL(h.url.reveal()); err != nil {
		return nil, setupError(o, ch, fmt.Errorf("webhook_url: %w", err))
	}
	if h.tmpl, err = parseTemplates(tc, TemplateConfig{Title: defaultTitle, Text: defaultText}); err != nil {
		return nil, setupError(o, ch, err)
	}
	return h, nil
}

// Send posts m; status classes as for webhooks.
func (h *chatHook) Send(ctx context.Context, m *Message) (Result, error) {
	if err := checkMessage(m); err != nil {
		return fail(h.receiver, h.channel, 0, 0, true, err)
	}
	r, err := h.tmpl.render(m)
	if err != nil {
		return fail(h.receiver, h.channel, 0, 0, true, err)
	}
	body, err := json.Marshal(h.build(m, r))
	if err != nil {
		return fail(h.receiver, h.channel, 0, 0, true, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url.reveal(), bytes.NewReader(body))
	if err != nil {
		return fail(h.receiver, h.channel, 0, 0, true, scrub(err, h.url))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	rep, err := do(h.client, req)
	res, err := postResult(h.receiver, h.channel, rep, err, h.url)
	if err == nil && h.channel == "teams" && bytes.Contains(rep.body, []byte("delivery failed")) {
		// Office 365 connectors answer 200 and put the real failure
		// (often Teams' own 429) in the body.
		status := rep.status
		if bytes.Contains(rep.body, []byte("HTTP error 429")) {
			status = http.StatusTooManyRequests
		}
		res, err = fail(h.receiver, h.channel, status, 0, false, scrub(fmt.Errorf("teams: %s", snippet(rep.body)), h.url))
	}
	h.log.Debug(h.channel+" send", "key", m.Key, "status", res.Status, "ok", err == nil)
	return res, err
}

// fact is one name/value line of a card.
type fact struct{ Name, Value string }

func chatFacts(m *Message) []fact {
	d := newData(m)
	source := "-"
	if len(m.Alerts) > 0 {
		source = sourceString(m.Alerts[0])
		if len(m.Alerts) > 1 {
			source += fmt.Sprintf(" (+%d more)", len(m.Alerts)-1)
		}
	}
	fs := []fact{
		{"Status", strings.ToUpper(m.Status) + fmt.Sprintf(" · level %d", max(m.Level, 1))},
		{"Risk", riskString(d.MaxRisk)},
		{"Source", source},
		{"Scenario", scenarios(m.Alerts)},
	}
	if len(m.Pending) > 0 {
		fs = append(fs, fact{"Awaiting approval", pendingString(m.Pending[0]) + more1(len(m.Pending))})
	}
	return fs
}

func more1(n int) string {
	if n > 1 {
		return fmt.Sprintf(" (+%d more)", n-1)
	}
	return ""
}

// statusColor is the card accent: by risk while firing.
func statusColor(m *Message) string {
	switch m.Status {
	case StatusResolved:
		return "2E7D32"
	case StatusAcknowledged:
		return "757575"
	}
	switch riskLevel(newData(m).MaxRisk) {
	case "critical":
		return "D7000C"
	case "high":
		return "FF8C00"
	case "medium":
		return "FFC107"
	}
	return "2196F3"
}

// Teams posts cards to a Microsoft Teams incoming webhook.
type Teams struct{ *chatHook }

// NewTeams validates cfg, resolves the webhook URL and parses templates.
func NewTeams(cfg TeamsConfig, o Options) (*Teams, error) {
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, "teams", err)
	}
	h, err := newChatHook("teams", o, cfg.WebhookURLEnv, cfg.WebhookURLFile, cfg.Timeout, cfg.Template)
	if err != nil {
		return nil, err
	}
	h.build = teamsAdaptive
	if cfg.Format == TeamsMessageCard {
		h.build = teamsMessageCard
	}
	return &Teams{h}, nil
}

func teamsAdaptive(m *Message, r rendered) any {
	facts := []map[string]string{}
	for _, f := range chatFacts(m) {
		facts = append(facts, map[string]string{"title": f.Name, "value": f.Value})
	}
	color := "Default"
	if m.Status == StatusFiring {
		color = "Attention"
	}
	body := []map[string]any{
		{"type": "TextBlock", "text": r.Title, "weight": "Bolder", "size": "Medium", "wrap": true, "color": color},
		{"type": "FactSet", "facts": facts},
	}
	if r.Text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": r.Text, "wrap": true})
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": "phantomsoc · " + m.Key, "size": "Small", "isSubtle": true, "wrap": true})
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    body,
			},
		}},
	}
}

func teamsMessageCard(m *Message, r rendered) any {
	facts := []map[string]string{}
	for _, f := range chatFacts(m) {
		facts = append(facts, map[string]string{"name": f.Name, "value": f.Value})
	}
	return map[string]any{
		"@type":      "MessageCard",
		"@context":   "https://schema.org/extensions",
		"summary":    r.Title,
		"title":      r.Title,
		"themeColor": statusColor(m),
		"text":       r.Text,
		"sections":   []map[string]any{{"facts": facts}},
	}
}

// Mattermost posts to a Mattermost incoming webhook.
type Mattermost struct{ *chatHook }

// NewMattermost validates cfg, resolves the webhook URL and parses
// templates.
func NewMattermost(cfg MattermostConfig, o Options) (*Mattermost, error) {
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, "mattermost", err)
	}
	h, err := newChatHook("mattermost", o, cfg.WebhookURLEnv, cfg.WebhookURLFile, cfg.Timeout, cfg.Template)
	if err != nil {
		return nil, err
	}
	channel, username := cfg.Channel, cfg.Username
	h.build = func(m *Message, r rendered) any { return mattermostBody(m, r, channel, username) }
	return &Mattermost{h}, nil
}

// mattermostPayload is the incoming-webhook body.
type mattermostPayload struct {
	Text        string                 `json:"text"`
	Channel     string                 `json:"channel,omitempty"`
	Username    string                 `json:"username,omitempty"`
	Attachments []mattermostAttachment `json:"attachments"`
}

type mattermostAttachment struct {
	Fallback string            `json:"fallback"`
	Color    string            `json:"color"`
	Title    string            `json:"title"`
	Text     string            `json:"text,omitempty"`
	Fields   []mattermostField `json:"fields"`
	Footer   string            `json:"footer,omitempty"`
}

type mattermostField struct {
	Short bool   `json:"short"`
	Title string `json:"title"`
	Value string `json:"value"`
}

func mattermostBody(m *Message, r rendered, channel, username string) mattermostPayload {
	a := mattermostAttachment{Fallback: r.Title, Color: "#" + statusColor(m), Title: r.Title, Text: r.Text,
		Footer: "phantomsoc · " + m.Key}
	for _, f := range chatFacts(m) {
		a.Fields = append(a.Fields, mattermostField{Short: len(f.Value) < 40, Title: f.Name, Value: f.Value})
	}
	return mattermostPayload{Text: r.Title, Channel: channel, Username: username, Attachments: []mattermostAttachment{a}}
}
