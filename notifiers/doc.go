// Package notifiers delivers notifications — a Message: a group of alerts
// reaching one receiver — over six channels, one file each: Slack (Web API
// with blocks, or an incoming webhook), PagerDuty Events API v2, e-mail
// over SMTP, a signed JSON webhook, Microsoft Teams and Mattermost
// incoming webhooks (chat.go), and an HTTP SMS gateway.
//
// Every channel is a Sender built by New<Channel>(cfg, Options): the
// constructor validates the config, resolves secrets from *_env or *_file
// fields (never from the config itself) and parses the receiver's
// templates, so a bad receiver fails at startup with an error naming it.
// Send is safe for concurrent use and never retries: it reports, through
// Result and *Error, whether the failure is permanent and how long the far
// side asked to wait; the caller (engine/route's outbox) owns retries.
//
// Message.Key is the idempotency key. Channels that can carry it do, so a
// resend after a crash is recognised rather than duplicated: PagerDuty's
// dedup_key, the X-Phantomsoc-Key webhook and SMS header, the e-mail
// Message-ID (MessageID), and Slack message metadata.
//
// Alert data comes from attackers' log lines. Templates and layouts keep
// notifications link-free (URL-like text is defanged, Slack mrkdwn is
// escaped, HTML is html/template), and nothing from a Message is ever used
// as a URL, a header name or an SMTP command.
package notifiers
