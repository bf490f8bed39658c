package notifiers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Notification statuses.
const (
	StatusFiring       = "firing"
	StatusResolved     = "resolved"
	StatusAcknowledged = "acknowledged"
)

// Message is one notification: a group of alerts reaching one receiver.
type Message struct {
	// Key is the stable idempotency/dedup key of this notification: the
	// same key is the same notification, and a resend must reuse it so the
	// far side (PagerDuty dedup_key, webhook X-Phantomsoc-Key, e-mail
	// Message-ID) can recognise it.
	Key string
	// Group is the key of the alert group the message is about. A receiver
	// that keeps one incident per group (PagerDuty) keys it by Group and
	// receiver, so the resolve closes what the trigger opened; Key stays
	// per message.
	Group string `json:",omitempty"`
	// Status is StatusFiring, StatusResolved or StatusAcknowledged.
	Status      string
	Receiver    string
	GroupLabels map[string]string
	Alerts      []engine.Alert
	// Pending are remediations waiting for an analyst's approval, if any.
	Pending []engine.Decision
	// Level is the escalation level, 1–3.
	Level int
	// Text is free text from a playbook step or an analyst, shown above
	// the alerts: the default templates make it the title and the first
	// line of the text. Empty for the router's own notifications, whose
	// rendering it leaves unchanged.
	Text string `json:",omitempty"`
}

// Result is what a send produced, success or not.
type Result struct {
	// Status is the HTTP status (or SMTP reply code) the far side answered
	// with; 0 when no answer arrived.
	Status int
	// RetryAfter is how long the far side asked us to wait (Retry-After,
	// Slack rate limits); 0 when it did not say.
	RetryAfter time.Duration
	// Permanent reports a failure that retrying the same message cannot
	// fix (bad payload, unknown channel, revoked token).
	Permanent bool
	// Remote identifies the delivered notification on the far side: a
	// Slack message ts, a PagerDuty dedup key, an SMTP Message-ID.
	Remote string
}

// Sender delivers one message. Errors are *Error, saying whether a retry
// may succeed and when.
type Sender interface {
	Send(ctx context.Context, m *Message) (Result, error)
}

// Error is a failed delivery. It never holds a secret: errors from the
// transport are scrubbed of secret values (webhook URLs, tokens) before
// they are wrapped.
type Error struct {
	Receiver string
	// Channel is "slack", "pagerduty", "email", "webhook", "teams",
	// "mattermost" or "sms".
	Channel    string
	Status     int
	RetryAfter time.Duration
	Permanent  bool
	Err        error
}

func (e *Error) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	s := fmt.Sprintf("notify receiver %q via %s (%s", e.Receiver, e.Channel, kind)
	if e.Status != 0 {
		s += fmt.Sprintf(", status %d", e.Status)
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	return s + "): " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying the same message later may succeed.
func (e *Error) Temporary() bool { return !e.Permanent }

// RateLimited reports whether the far side refused for rate limiting.
func (e *Error) RateLimited() bool { return e.Status == http.StatusTooManyRequests }

// result is the Result matching e.
func (e *Error) result() Result {
	return Result{Status: e.Status, RetryAfter: e.RetryAfter, Permanent: e.Permanent}
}

// fail builds the Result and *Error of a failed send.
func fail(receiver, channel string, status int, retryAfter time.Duration, permanent bool, err error) (Result, error) {
	e := &Error{Receiver: receiver, Channel: channel, Status: status, RetryAfter: retryAfter, Permanent: permanent, Err: err}
	return e.result(), e
}

// Options carries what every channel constructor needs besides its config.
type Options struct {
	// Receiver names the receiver in errors and logs.
	Receiver string
	// Logger receives Debug records per send; nil discards.
	Logger *slog.Logger
	// HTTPClient overrides the client HTTP channels build (tests, proxies).
	// Redirects are never followed, whatever client is given.
	HTTPClient *http.Client
}

func (o Options) logger(channel string) *slog.Logger {
	l := o.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("component", "notifiers", "channel", channel, "receiver", o.Receiver)
}

// setupError names the receiver and channel of a constructor failure.
func setupError(o Options, channel string, err error) error {
	return fmt.Errorf("receiver %q: %s: %w", o.Receiver, channel, err)
}

// FieldError is a config validation failure at a field path
// ("headers[1].name"); the config loader prefixes the receiver's path.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// fieldErrs collects FieldErrors for a Validate method.
type fieldErrs []error

func (f *fieldErrs) add(field, format string, args ...any) {
	*f = append(*f, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

func (f fieldErrs) join() error { return errors.Join(f...) }

// userAgent identifies our requests.
const userAgent = "phantomsoc-notifier/1"

// maxKey bounds Message.Key: it travels in headers and dedup fields.
const maxKey = 255

// checkMessage refuses a message no channel can send faithfully. The key
// travels in HTTP headers and e-mail Message-IDs, so it must be printable
// ASCII without spaces.
func checkMessage(m *Message) error {
	if m == nil {
		return errors.New("nil message")
	}
	if m.Key == "" || len(m.Key) > maxKey {
		return fmt.Errorf("message key must be 1–%d bytes, got %d", maxKey, len(m.Key))
	}
	for i := 0; i < len(m.Key); i++ {
		if c := m.Key[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("message key %q: byte %d is not printable ASCII", m.Key, i)
		}
	}
	if !validStatus(m.Status) {
		return fmt.Errorf("message %s: unknown status %q", m.Key, m.Status)
	}
	return nil
}

func validStatus(s string) bool {
	return s == StatusFiring || s == StatusResolved || s == StatusAcknowledged
}

var (
	_ Sender = (*Slack)(nil)
	_ Sender = (*PagerDuty)(nil)
	_ Sender = (*Email)(nil)
	_ Sender = (*Webhook)(nil)
	_ Sender = (*Teams)(nil)
	_ Sender = (*Mattermost)(nil)
	_ Sender = (*SMS)(nil)
)
