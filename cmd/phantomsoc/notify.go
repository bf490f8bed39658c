package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/route"
	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/store"
)

// ReceiverConfig is one notification receiver: the name routes use and
// exactly one channel.
type ReceiverConfig struct {
	Name       string                      `yaml:"name"`
	Slack      *notifiers.SlackConfig      `yaml:"slack,omitempty"`
	PagerDuty  *notifiers.PagerDutyConfig  `yaml:"pagerduty,omitempty"`
	Email      *notifiers.EmailConfig      `yaml:"email,omitempty"`
	Webhook    *notifiers.WebhookConfig    `yaml:"webhook,omitempty"`
	Teams      *notifiers.TeamsConfig      `yaml:"teams,omitempty"`
	Mattermost *notifiers.MattermostConfig `yaml:"mattermost,omitempty"`
	SMS        *notifiers.SMSConfig        `yaml:"sms,omitempty"`
}

var receiverName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`) })

// uniqueName checks the name at field f (receivers[2]) and that seen has
// not had it yet, and adds it.
func uniqueName(f, name string, seen map[string]bool) error {
	defer func() { seen[name] = true }()
	if !receiverName().MatchString(name) {
		return fmt.Errorf("%s.name: %q: want 1-63 of [A-Za-z0-9_.-]", f, name)
	}
	if seen[name] {
		return fmt.Errorf("%s.name: %q is used twice", f, name)
	}
	return nil
}

// validateReceivers checks every receiver; errors start with the field path.
func validateReceivers(rs []ReceiverConfig) error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range rs {
		f := fmt.Sprintf("receivers[%d]", i)
		if err := uniqueName(f, r.Name, seen); err != nil {
			errs = append(errs, err)
		}
		n := 0
		check := func(field string, set bool, v interface{ Validate() error }) {
			if !set {
				return
			}
			n++
			if err := v.Validate(); err != nil {
				errs = append(errs, prefixFields(f+"."+field+".", err))
			}
		}
		check("slack", r.Slack != nil, r.Slack)
		check("pagerduty", r.PagerDuty != nil, r.PagerDuty)
		check("email", r.Email != nil, r.Email)
		check("webhook", r.Webhook != nil, r.Webhook)
		check("teams", r.Teams != nil, r.Teams)
		check("mattermost", r.Mattermost != nil, r.Mattermost)
		check("sms", r.SMS != nil, r.SMS)
		if n != 1 {
			errs = append(errs, fmt.Errorf("%s: give exactly one channel (slack, pagerduty, email, webhook, teams, mattermost or sms), not %d", f, n))
		}
	}
	return errors.Join(errs...)
}

// sender builds r's channel.
func (r *ReceiverConfig) sender(logger *slog.Logger) (notifiers.Sender, error) {
	o := notifiers.Options{Receiver: r.Name, Logger: logger}
	switch {
	case r.Slack != nil:
		return notifiers.NewSlack(*r.Slack, o)
	case r.PagerDuty != nil:
		return notifiers.NewPagerDuty(*r.PagerDuty, o)
	case r.Email != nil:
		return notifiers.NewEmail(*r.Email, o)
	case r.Webhook != nil:
		return notifiers.NewWebhook(*r.Webhook, o)
	case r.Teams != nil:
		return notifiers.NewTeams(*r.Teams, o)
	case r.Mattermost != nil:
		return notifiers.NewMattermost(*r.Mattermost, o)
	case r.SMS != nil:
		return notifiers.NewSMS(*r.SMS, o)
	}
	return nil, fmt.Errorf("receiver %s: no channel", r.Name)
}

// notifying routes committed alerts and delivers the notifications through
// the store's outbox: a notification is durable before it is sent, and what
// changed in the router's groups, alerts and silences is saved with it, so a
// restart neither loses nor repeats one.
type notifying struct {
	db   *store.DB
	out  *storeOutbox
	del  *notifiers.Deliverer
	log  *slog.Logger
	wake chan struct{}
	// pdHook is the inbound PagerDuty webhook, when configured and bound.
	pdHook *notifiers.PagerDutyWebhook

	mu   sync.Mutex
	disp *route.Dispatcher
	// unsent are notifications the router handed over whose enqueue
	// failed: the router has moved on, so they go first, again, in the
	// next tick's transaction rather than being lost.
	unsent []store.Notification
}

// buildNotifying returns nil when no routing is configured.
func buildNotifying(ctx context.Context, cfg *Config, db *store.DB, logger *slog.Logger) (*notifying, error) {
	if !cfg.routingConfigured() {
		return nil, nil
	}
	r, err := route.New(cfg.Routing)
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	// An attack still going on raises its alert again; one quiet for an
	// hour is over unless the config says otherwise.
	resolve := time.Hour
	if rt := cfg.Routing.ResolveTimeout; rt != nil {
		resolve = time.Duration(*rt)
	}
	disp, err := route.NewDispatcher(r, route.Options{Logger: logger, ResolveTimeout: resolve, TrackChanges: true})
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	if err := restoreRouter(ctx, db, disp); err != nil {
		return nil, err
	}
	senders := map[string]notifiers.Sender{}
	for i := range cfg.Receivers {
		s, err := cfg.Receivers[i].sender(logger)
		if err != nil {
			return nil, err
		}
		senders[cfg.Receivers[i].Name] = s
	}
	out := &storeOutbox{db: db, fresh: map[string]struct{}{}}
	del, err := notifiers.NewDeliverer(out, senders, notifiers.DeliveryOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	return &notifying{db: db, out: out, del: del, disp: disp, log: logger.With("component", "notify"), wake: make(chan struct{}, 1)}, nil
}

// Committed hands durable alerts to the router; it never blocks on a send.
func (n *notifying) Committed(c *engine.Commit) {
	if len(c.Alerts) == 0 {
		return
	}
	n.mu.Lock()
	for i := range c.Alerts {
		n.disp.Add(&c.Alerts[i])
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run ticks the router, queues its notifications and delivers them until
// ctx ends.
func (n *notifying) run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { _ = n.del.Run(ctx) })
	if n.pdHook != nil {
		wg.Go(func() {
			if err := n.pdHook.Run(ctx); err != nil {
				n.log.Error("pagerduty webhook stopped", "err", err)
			}
		})
	}
	defer wg.Wait()
	for {
		if err := n.tick(ctx, time.Now()); err != nil && ctx.Err() == nil {
			n.log.Error("route notifications", "err", err)
		}
		n.mu.Lock()
		next := n.disp.Next()
		n.mu.Unlock()
		wait := time.Second
		if !next.IsZero() {
			wait = min(max(time.Until(next), 0), time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		case <-time.After(wait):
		}
	}
}

// tick moves what the router says is due into the outbox, with what
// changed in the router's state: both durable before anything is sent.
func (n *notifying) tick(ctx context.Context, now time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.disp.Tick(now)
	c := n.disp.Changes()
	if len(out) == 0 && len(n.unsent) == 0 && c.Empty() {
		return nil
	}
	ns := make([]store.Notification, 0, len(n.unsent)+len(out))
	ns = append(ns, n.unsent...)
	for i := range out {
		rn := &out[i]
		m := notifiers.Message{Key: rn.ID(), Group: rn.GroupKey, Status: string(rn.Status), Receiver: rn.Receiver, GroupLabels: rn.GroupLabels, Level: rn.Level}
		for _, e := range rn.Alerts {
			m.Alerts = append(m.Alerts, e.Alert)
		}
		payload, err := json.Marshal(&m)
		if err != nil {
			n.disp.Resave()
			return fmt.Errorf("encode notification %s: %w", m.Key, err)
		}
		// Its first attempt is recorded with it (sending, attempt 1): that
		// saves the deliverer a transaction, and a sync, per message. A
		// crash before the send leaves what a crash after any Attempt
		// does: a message retried with its idempotency key.
		sn := store.Notification{Key: m.Key, Receiver: m.Receiver, Status: m.Status, Created: rn.At, Payload: payload,
			State: store.NoteSending, Attempts: 1}
		if rn.Silenced {
			sn.State, sn.Attempts = store.NoteSuppressed, 0
		}
		ns = append(ns, sn)
	}
	added, err := n.db.EnqueueWithState(ctx, ns, stateUpdate(&c))
	if err != nil {
		n.disp.Resave()
		n.unsent = ns
		n.log.Error("notifications not queued; retrying with the next tick", "count", len(ns), "err", err)
		return err
	}
	n.unsent = nil
	n.out.recorded(ns, added)
	if len(added) > 0 {
		n.del.Wake()
	}
	return nil
}

// enqueueDirect queues m outside the router (a playbook's message to a
// named receiver): durable before it is sent, like the router's, then
// delivered and retried by the same deliverer. A key already queued is
// left as it is.
func (n *notifying) enqueueDirect(ctx context.Context, m *notifiers.Message, at time.Time) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", m.Key, err)
	}
	sn := store.Notification{Key: m.Key, Receiver: m.Receiver, Status: m.Status, Created: at, Payload: payload}
	if _, err := n.db.Enqueue(ctx, []store.Notification{sn}); err != nil {
		return fmt.Errorf("queue notification %s: %w", m.Key, err)
	}
	n.del.Wake()
	return nil
}

// storeOutbox is the store as the Deliverer's outbox.
type storeOutbox struct {
	db *store.DB
	// fresh holds the notifications this process queued with their first
	// attempt already recorded, until the deliverer makes that attempt.
	mu    sync.Mutex
	fresh map[string]struct{}
}

// recorded notes which of the notifications just queued (added: the keys
// that were new) carry their first attempt.
func (o *storeOutbox) recorded(ns []store.Notification, added []string) {
	isNew := make(map[string]bool, len(added))
	for _, k := range added {
		isNew[k] = true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range ns {
		if n.State == store.NoteSending && isNew[n.Key] {
			o.fresh[n.Key] = struct{}{}
		}
	}
}

// take reports whether key's attempt was recorded when it was queued, and
// forgets it: a later attempt is recorded on its own.
func (o *storeOutbox) take(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.fresh[key]
	delete(o.fresh, key)
	return ok
}

func (o *storeOutbox) Pending(perReceiver int) ([]notifiers.Queued, error) {
	ns, err := o.db.Pending(perReceiver)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]notifiers.Queued, 0, len(ns))
	for _, n := range ns {
		q := notifiers.Queued{Attempts: n.Attempts, NextTry: n.NextTry, Queued: n.Created}
		if _, ok := o.fresh[n.Key]; ok {
			q.Attempts-- // the recorded attempt is the one about to be made
		} else if n.State == store.NoteSending {
			q.MaybeSent = true // left sending by a process that died
		}
		if err := json.Unmarshal(n.Payload, &q.Message); err != nil {
			return nil, fmt.Errorf("notification %s: %w", n.Key, err)
		}
		q.Message.Key, q.Message.Receiver = n.Key, n.Receiver
		out = append(out, q)
	}
	return out, nil
}

func (o *storeOutbox) Attempt(ctx context.Context, key string) error {
	if o.take(key) {
		return nil
	}
	_, err := o.db.Attempt(ctx, key)
	return err
}

func (o *storeOutbox) Outcome(ctx context.Context, key string, r notifiers.Outcome) error {
	so := store.Outcome{State: store.NoteQueued, NextTry: r.NextTry, Code: r.Code, Err: r.Err, Remote: r.Remote}
	switch {
	case r.Sent:
		so.State = store.NoteSent
	case r.Failed:
		so.State = store.NoteFailed
	}
	o.take(key) // a receiver that is not configured fails without an attempt
	_, err := o.db.RecordOutcome(ctx, key, so)
	return err
}

// routerOps are the analyst's operations on the router: silences and
// acknowledgements. The daemon serves them on its control socket; with no
// daemon they work on the router state saved in the database.
type routerOps interface {
	AddSilence(ctx context.Context, s route.Silence) (string, error)
	ExpireSilence(ctx context.Context, id string) error
	Silences(ctx context.Context) ([]route.Silence, error)
	Ack(ctx context.Context, alertID, by string) ([]string, error)
}

// ops runs fn on the dispatcher under the lock and saves what it changed,
// with the audit records fn returns, in one transaction.
func (n *notifying) ops(ctx context.Context, fn func(d *route.Dispatcher) ([]store.AuditRecord, error)) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	audit, err := fn(n.disp)
	if err != nil {
		return err
	}
	c := n.disp.Changes()
	if err := n.db.SaveState(ctx, stateUpdate(&c), audit...); err != nil {
		n.disp.Resave()
		return err
	}
	return nil
}

func (n *notifying) AddSilence(ctx context.Context, s route.Silence) (id string, err error) {
	return id, n.ops(ctx, func(d *route.Dispatcher) ([]store.AuditRecord, error) {
		id, err = d.AddSilence(s)
		return nil, err
	})
}

func (n *notifying) ExpireSilence(ctx context.Context, id string) error {
	return n.ops(ctx, func(d *route.Dispatcher) ([]store.AuditRecord, error) { return nil, d.ExpireSilence(id, time.Now()) })
}

func (n *notifying) Silences(context.Context) ([]route.Silence, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.disp.Silences(), nil
}

// Ack acknowledges an alert (by ID) in every group it is in, stopping
// their escalation.
func (n *notifying) Ack(ctx context.Context, alertID, by string) (groups []string, err error) {
	a, err := n.db.Alert(alertID)
	if err != nil {
		return nil, err
	}
	fp := route.Fingerprint(&a)
	return n.ack(ctx, fp, alertID, by, map[string]any{"fingerprint": fp})
}

// ack acknowledges ref (an alert's fingerprint or a group key) by whom,
// stopping the escalation of its groups, and audits it about subject with
// detail and the groups, in one transaction with the router's state.
func (n *notifying) ack(ctx context.Context, ref, subject, by string, detail map[string]any) (groups []string, err error) {
	err = n.ops(ctx, func(d *route.Dispatcher) ([]store.AuditRecord, error) {
		if groups, err = d.Ack(ref, by, time.Now()); err != nil {
			return nil, err
		}
		detail["groups"] = groups
		return []store.AuditRecord{{Actor: by, Action: "alert.acknowledged", Subject: subject, Detail: mustJSON(detail)}}, nil
	})
	return groups, err
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) // maps of strings and string slices always encode
	return b
}

// serveRouter exposes the router's operations on the control socket.
func serveRouter(srv *control.Server, n *notifying) {
	ctx := context.Background()
	srv.Handle("silence-add", func(args []byte) (any, error) {
		var s route.Silence
		if err := json.Unmarshal(args, &s); err != nil {
			return nil, err
		}
		return n.AddSilence(ctx, s)
	})
	srv.Handle("silence-expire", func(args []byte) (any, error) {
		var id string
		if err := json.Unmarshal(args, &id); err != nil {
			return nil, err
		}
		return true, n.ExpireSilence(ctx, id)
	})
	srv.Handle("silences", func([]byte) (any, error) { return n.Silences(ctx) })
	srv.Handle("ack", func(args []byte) (any, error) {
		var c idCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return n.Ack(ctx, c.ID, c.Actor)
	})
}

// remoteRouter calls the daemon.
type remoteRouter struct{ c *control.Client }

func (r remoteRouter) AddSilence(ctx context.Context, s route.Silence) (id string, err error) {
	return id, r.c.Call(ctx, "silence-add", s, &id)
}
func (r remoteRouter) ExpireSilence(ctx context.Context, id string) error {
	var done bool
	return r.c.Call(ctx, "silence-expire", id, &done)
}
func (r remoteRouter) Silences(ctx context.Context) (out []route.Silence, err error) {
	return out, r.c.Call(ctx, "silences", nil, &out)
}
func (r remoteRouter) Ack(ctx context.Context, alertID, by string) (out []string, err error) {
	return out, r.c.Call(ctx, "ack", idCall{ID: alertID, Actor: by}, &out)
}

// withRouter runs fn against the daemon's router, or against the router
// state saved in the database when no daemon runs.
func withRouter(ctx context.Context, g *globals, fn func(routerOps) error) error {
	path, err := g.resolveDB()
	if err != nil {
		return err
	}
	c := control.NewClient(socketPath(path))
	if _, err := c.Status(ctx); err == nil {
		return fn(remoteRouter{c: c})
	} else if !errors.Is(err, control.ErrNotRunning) {
		return err
	}
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	db, err := openStore(path, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := buildNotifying(ctx, &cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if n == nil {
		return errors.New("no routing: section in the config: silences and acknowledgements act on the routing tree")
	}
	return fn(n)
}
