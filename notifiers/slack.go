package notifiers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// DefaultSlackAPIURL is Slack's Web API base.
const DefaultSlackAPIURL = "https://slack.com/api/"

// SlackConfig configures Slack: either the Web API (token + channel,
// chat.postMessage with blocks) or an incoming webhook (whose URL is a
// secret). Exactly one of the two.
type SlackConfig struct {
	// TokenEnv/TokenFile hold a bot token (xoxb-…) for chat.postMessage.
	TokenEnv  string `yaml:"token_env,omitempty" json:"token_env,omitempty"`
	TokenFile string `yaml:"token_file,omitempty" json:"token_file,omitempty"`
	// Channel is a channel ID (C0123…) or name, API mode only.
	Channel string `yaml:"channel,omitempty" json:"channel,omitempty"`
	// APIURL overrides the Web API base (tests, Enterprise Grid proxies).
	APIURL string `yaml:"api_url,omitempty" json:"api_url,omitempty"`
	// WebhookURLEnv/WebhookURLFile hold an incoming-webhook URL.
	WebhookURLEnv  string         `yaml:"webhook_url_env,omitempty" json:"webhook_url_env,omitempty"`
	WebhookURLFile string         `yaml:"webhook_url_file,omitempty" json:"webhook_url_file,omitempty"`
	Timeout        time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Template       TemplateConfig `yaml:"template,omitzero" json:"template,omitzero"`
}

var slackChannel = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[#@]?[A-Za-z0-9._\-]{1,80}$`) })

// Validate checks the config without resolving secrets.
func (c *SlackConfig) Validate() error {
	var errs fieldErrs
	api := c.TokenEnv != "" || c.TokenFile != ""
	hook := c.WebhookURLEnv != "" || c.WebhookURLFile != ""
	switch {
	case api && hook:
		errs.add("token_env", "set either a token (API mode) or a webhook_url (webhook mode), not both")
	case !api && !hook:
		errs.add("token_env", "required: set token_env/token_file (API mode) or webhook_url_env/webhook_url_file")
	}
	validateSecretRef(&errs, "token", c.TokenEnv, c.TokenFile, false)
	validateSecretRef(&errs, "webhook_url", c.WebhookURLEnv, c.WebhookURLFile, false)
	switch {
	case api && c.Channel == "":
		errs.add("channel", "required in API mode")
	case c.Channel != "" && !slackChannel().MatchString(c.Channel):
		errs.add("channel", "%q is not a channel ID or name", c.Channel)
	case hook && c.Channel != "":
		errs.add("channel", "an incoming webhook posts to its own channel; remove channel")
	}
	if c.APIURL != "" {
		validateURL(&errs, "api_url", c.APIURL)
	}
	if c.Timeout < 0 {
		errs.add("timeout", "must not be negative")
	}
	return errs.join()
}

// Slack posts to Slack through the Web API or an incoming webhook.
type Slack struct {
	receiver string
	channel  string
	api      *slack.Client
	token    Secret
	hookURL  Secret
	client   *http.Client
	tmpl     *templates
	log      *slog.Logger
}

// NewSlack validates cfg, resolves its secret and parses its templates.
func NewSlack(cfg SlackConfig, o Options) (*Slack, error) {
	const ch = "slack"
	if err := cfg.Validate(); err != nil {
		return nil, setupError(o, ch, err)
	}
	s := &Slack{receiver: o.Receiver, channel: cfg.Channel, client: newHTTPClient(o, cfg.Timeout), log: o.logger(ch)}
	var err error
	// Pending remediations get their own block, so the default text leaves
	// them out.
	if s.tmpl, err = parseTemplates(cfg.Template, TemplateConfig{Title: defaultTitle, Text: defaultAlertsText}); err != nil {
		return nil, setupError(o, ch, err)
	}
	if cfg.WebhookURLEnv != "" || cfg.WebhookURLFile != "" {
		if s.hookURL, err = loadSecret("webhook_url", cfg.WebhookURLEnv, cfg.WebhookURLFile); err != nil {
			return nil, setupError(o, ch, err)
		}
		if _, err := checkURL(s.hookURL.reveal()); err != nil {
			return nil, setupError(o, ch, fmt.Errorf("webhook_url: %w", err))
		}
		return s, nil
	}
	if s.token, err = loadSecret("token", cfg.TokenEnv, cfg.TokenFile); err != nil {
		return nil, setupError(o, ch, err)
	}
	base := cfg.APIURL
	if base == "" {
		base = DefaultSlackAPIURL
	}
	if !strings.HasSuffix(base, "/") {
		// slack-go appends the method name to the base verbatim.
		base += "/"
	}
	u, err := checkURL(base)
	if err != nil {
		return nil, setupError(o, ch, fmt.Errorf("api_url: %w", err))
	}
	// slack-go sends the token as a form field; the Authorization header
	// is what Slack documents, and only the API host gets it.
	hc := *s.client
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &bearer{token: s.token, host: u.Host, next: next}
	s.api = slack.New(s.token.reveal(), slack.OptionAPIURL(base), slack.OptionHTTPClient(&hc))
	return s, nil
}

// bearer adds the token as an Authorization header for one host.
type bearer struct {
	token Secret
	host  string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.EqualFold(r.URL.Host, b.host) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token.reveal())
	}
	return b.next.RoundTrip(r)
}

// Send posts m. In API mode Result.Remote is the message ts. Slack has no
// idempotency key: the key rides in the message metadata
// (event_type phantomsoc_notification) so a reconciler can find a post
// that may have happened before resending it.
func (s *Slack) Send(ctx context.Context, m *Message) (Result, error) {
	const ch = "slack"
	if err := checkMessage(m); err != nil {
		return fail(s.receiver, ch, 0, 0, true, err)
	}
	r, err := s.tmpl.render(m)
	if err != nil {
		return fail(s.receiver, ch, 0, 0, true, err)
	}
	blocks := slackBlocks(m, r)
	if !s.hookURL.IsZero() {
		no := false
		err := slack.PostWebhookCustomHTTPContext(ctx, s.hookURL.reveal(), s.client, &slack.WebhookMessage{
			Text: slackEscape(r.Title), Blocks: &slack.Blocks{BlockSet: blocks}, UnfurlLinks: &no, UnfurlMedia: &no,
		})
		if err != nil {
			return s.fail(err)
		}
		s.log.Debug("slack webhook send", "key", m.Key)
		return Result{Status: http.StatusOK}, nil
	}
	channel, ts, err := s.api.PostMessageContext(ctx, s.channel,
		slack.MsgOptionText(slackEscape(r.Title), false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "phantomsoc_notification",
			EventPayload: map[string]any{"key": m.Key, "status": m.Status}}),
	)
	if err != nil {
		return s.fail(err)
	}
	s.log.Debug("slack send", "key", m.Key, "channel_id", channel, "ts", ts)
	return Result{Status: http.StatusOK, Remote: ts}, nil
}

// reconcilePages bounds the history a reconciliation reads (200
// messages a page).
const reconcilePages = 5

// Reconcile looks for m in the channel's history since it was queued, by
// the key its metadata carries: Slack has no idempotency key, so a post
// whose outcome was lost in a crash is found rather than posted twice. An
// incoming webhook cannot read history; it reports not found.
func (s *Slack) Reconcile(ctx context.Context, m *Message, since time.Time) (string, bool, error) {
	if s.api == nil {
		return "", false, nil
	}
	p := &slack.GetConversationHistoryParameters{ChannelID: s.channel, IncludeAllMetadata: true, Limit: 200}
	if !since.IsZero() {
		p.Oldest = fmt.Sprintf("%d.000000", since.Add(-time.Minute).Unix())
	}
	for range reconcilePages {
		h, err := s.api.GetConversationHistoryContext(ctx, p)
		if err != nil {
			_, err = s.fail(err)
			return "", false, err
		}
		for _, msg := range h.Messages {
			if msg.Metadata.EventType == "phantomsoc_notification" && msg.Metadata.EventPayload["key"] == m.Key {
				return msg.Timestamp, true, nil
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			break
		}
		p.Cursor = h.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// slackTemporary are Web API error codes a retry can outlive.
var slackTemporary = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
	"ratelimited": true, "rate_limited": true, "team_added_to_org": true,
}

func (s *Slack) fail(err error) (Result, error) {
	const ch = "slack"
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	err = scrub(err, s.token, s.hookURL)
	switch {
	case errors.As(err, &rl):
		return fail(s.receiver, ch, http.StatusTooManyRequests, min(rl.RetryAfter, maxRetryAfter), false, err)
	case errors.As(err, &sc):
		_, permanent := classify(sc.Code)
		return fail(s.receiver, ch, sc.Code, 0, permanent, err)
	case errors.As(err, &se):
		return fail(s.receiver, ch, http.StatusOK, 0, !slackTemporary[se.Err], fmt.Errorf("slack api: %w", err))
	}
	return fail(s.receiver, ch, 0, 0, false, err)
}

// slackEscape escapes the three characters mrkdwn gives meaning to, so
// alert data cannot form links or <!channel> mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackTruncate truncates escaped text without leaving half an entity.
func slackTruncate(n int, s string) string {
	t := truncate(n, s)
	if t == s {
		return t
	}
	if i := strings.LastIndexByte(t, '&'); i >= 0 && !strings.Contains(t[i:], ";") {
		t = t[:i] + "…"
	}
	return t
}

// Slack's block limits.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
)

// slackBlocks lays out a notification: a header, fields for status, risk,
// source and scenario, the text summary, and pending remediations.
func slackBlocks(m *Message, r rendered) []slack.Block {
	d := newData(m)
	field := func(name, value string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType,
			"*"+name+"*\n"+slackEscape(truncate(slackFieldMax-len(name)-4, value)), false, true)
	}
	source := "-"
	if len(m.Alerts) > 0 {
		source = sourceString(m.Alerts[0])
		if n := len(m.Alerts); n > 1 {
			source += fmt.Sprintf(" (+%d more)", n-1)
		}
	}
	fields := []*slack.TextBlockObject{
		field("Status", strings.ToUpper(m.Status)+fmt.Sprintf(" · level %d", max(m.Level, 1))),
		field("Risk", riskString(d.MaxRisk)),
		field("Source", source),
		field("Scenario", scenarios(m.Alerts)),
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(slackHeaderMax, r.Title), false, false)),
		slack.NewSectionBlock(nil, fields, nil),
	}
	// mrkdwn, escaped and verbatim: no mention, channel or URL in alert
	// data becomes live.
	section := func(text string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
			slackTruncate(slackSectionMax, slackEscape(text)), false, true), nil, nil)
	}
	if r.Text != "" {
		blocks = append(blocks, section(r.Text))
	}
	if len(m.Pending) > 0 {
		var b strings.Builder
		b.WriteString("Awaiting approval:")
		for _, p := range m.Pending[:min(len(m.Pending), 10)] {
			b.WriteString("\n• " + pendingString(p))
		}
		if len(m.Pending) > 10 {
			fmt.Fprintf(&b, "\n… and %d more", len(m.Pending)-10)
		}
		blocks = append(blocks, section(b.String()))
	}
	blocks = append(blocks, slack.NewContextBlock("",
		slack.NewTextBlockObject(slack.PlainTextType, truncate(slackFieldMax, "phantomsoc · "+m.Key), false, false)))
	return blocks
}
