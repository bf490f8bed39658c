package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine/route"
	"github.com/phantomsoc/phantomsoc/notifiers"
)

// InboundConfig is what the process that owns the database listens for
// from outside: PagerDuty's webhooks, through which an acknowledgement in
// PagerDuty stops the escalation.
type InboundConfig struct {
	PagerDuty *notifiers.PagerDutyWebhookConfig `yaml:"pagerduty"`
}

// validate checks the section; errors start with the field path.
func (c *InboundConfig) validate(routing bool) error {
	if c.PagerDuty == nil {
		return nil
	}
	var errs []error
	if err := c.PagerDuty.Validate(); err != nil {
		errs = append(errs, prefixFields("inbound.pagerduty.", err))
	}
	if !routing {
		errs = append(errs, errors.New("inbound.pagerduty: acknowledgements act on the routing tree: add a routing: section"))
	}
	return errors.Join(errs...)
}

// listenInbound binds the configured inbound webhooks, so that an address
// in use fails at startup; run serves them. Only the process that owns
// the database calls it, never a one-off command.
func (n *notifying) listenInbound(cfg *InboundConfig, logger *slog.Logger) error {
	if cfg.PagerDuty == nil {
		return nil
	}
	w, err := notifiers.NewPagerDutyWebhook(*cfg.PagerDuty, n.pagerDutyAck, notifiers.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("inbound: %w", err)
	}
	if err := w.Listen(); err != nil {
		return fmt.Errorf("inbound: %w", err)
	}
	n.pdHook = w
	return nil
}

// pagerDutyAck maps a PagerDuty incident back to its group by the dedup
// key we sent (the notification's ID) and acknowledges the group, as
// `alerts ack` does: a resolution in PagerDuty also means someone took
// it, so it stops the escalation too (the alert itself resolves when the
// engine stops raising it).
func (n *notifying) pagerDutyAck(ctx context.Context, ev notifiers.PagerDutyIncidentEvent) error {
	group, receiver, ok := n.pagerDutyGroup(ev.DedupKey)
	if !ok {
		return fmt.Errorf("%w: dedup key %q names no group", notifiers.ErrUnknownIncident, ev.DedupKey)
	}
	actor := "pagerduty"
	if ev.Agent != "" {
		actor += ":" + ev.Agent
	}
	detail := map[string]any{"via": "pagerduty", "event_type": ev.Type, "event_id": ev.EventID,
		"incident": ev.IncidentID, "dedup_key": ev.DedupKey, "receiver": receiver}
	if ev.AgentID != "" {
		detail["agent_id"] = ev.AgentID
	}
	_, err := n.ack(ctx, group, group, actor, detail)
	if errors.Is(err, route.ErrNotFound) {
		return fmt.Errorf("%w: group %s is closed or unknown", notifiers.ErrUnknownIncident, group)
	}
	if err != nil {
		return fmt.Errorf("acknowledge group %s from pagerduty: %w", group, err)
	}
	return nil
}

// pagerDutyGroup maps a dedup key back to its group and receiver: a
// notification ID (the key of incidents opened before keys were per
// group), a group's key with the receiver (notifiers.GroupDedupKey), or
// the hashed form of a group key too long for PagerDuty, found among the
// open groups.
func (n *notifying) pagerDutyGroup(dk string) (group, receiver string, ok bool) {
	if g, _, r, ok := route.ParseID(dk); ok {
		return g, r, true
	}
	i := strings.LastIndexByte(dk, ':')
	if i <= 0 || i == len(dk)-1 {
		return "", "", false
	}
	group, receiver = dk[:i], dk[i+1:]
	if !strings.HasPrefix(group, "phantomsoc-") {
		return group, receiver, true
	}
	n.mu.Lock()
	keys := n.disp.GroupKeys()
	n.mu.Unlock()
	for _, k := range keys {
		if notifiers.GroupDedupKey(k, receiver) == dk {
			return k, receiver, true
		}
	}
	return "", "", false
}

// closeInbound releases a webhook listener that run never served.
func (n *notifying) closeInbound() {
	if n.pdHook != nil {
		_ = n.pdHook.Close() // a listener Run already closed closes quietly
	}
}
