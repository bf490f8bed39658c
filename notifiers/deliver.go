package notifiers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Outbox is where notifications wait, durable before anything is sent (the
// store, through a small adapter where the parts are wired).
type Outbox interface {
	// Pending returns the notifications not yet sent or failed, oldest
	// first, whatever their retry time, at most perReceiver of each
	// receiver: the Deliverer keeps each receiver's order itself, and one
	// receiver's long queue must not hide another's.
	Pending(perReceiver int) ([]Queued, error)
	// Attempt marks key as being sent, before the request leaves, so a
	// crash leaves a record that it may have arrived.
	Attempt(ctx context.Context, key string) error
	// Outcome records what the attempt came to.
	Outcome(ctx context.Context, key string, o Outcome) error
}

// Queued is a notification waiting in the outbox.
type Queued struct {
	Message  Message
	Attempts int
	// NextTry is when a retry is due; zero for a first attempt.
	NextTry time.Time
	// MaybeSent reports that an attempt started and its outcome was never
	// recorded (the process died mid-send): the far side may have it.
	MaybeSent bool
	// Queued is when the notification entered the outbox.
	Queued time.Time
}

// Reconciler is a Sender that can tell whether a message it may have
// sent arrived, for channels with no idempotency key of their own
// (Slack's chat.postMessage): the Deliverer asks it before resending a
// message whose last attempt's outcome was lost. found reports that the
// message is there, with its remote reference.
type Reconciler interface {
	Reconcile(ctx context.Context, m *Message, since time.Time) (remote string, found bool, err error)
}

// Outcome is one attempt's result as the outbox records it.
type Outcome struct {
	// Sent and Failed are final; neither means a retry at NextTry.
	Sent, Failed bool
	NextTry      time.Time
	Code         int
	Err          string
	Remote       string
}

// DeliveryOptions configure a Deliverer.
type DeliveryOptions struct {
	// Poll is how often the outbox is read when nothing wakes the
	// Deliverer; default 1s.
	Poll time.Duration
	// MaxAttempts fails a notification for good after this many; default
	// 30 (with the default backoff, over a day of trying).
	MaxAttempts int
	// Backoff doubles from BaseBackoff up to MaxBackoff, with ±20 %
	// jitter; a longer Retry-After wins. Defaults 5s and 1h.
	BaseBackoff, MaxBackoff time.Duration
	Now                     func() time.Time
	Logger                  *slog.Logger
	// Seed makes the jitter reproducible in tests.
	Seed uint64
}

// Deliverer sends what waits in the outbox, each receiver's notifications
// in order: a receiver that is down holds back its own queue and nobody
// else's, and gets everything, in order, when it returns.
type Deliverer struct {
	outbox  Outbox
	senders map[string]Sender
	o       DeliveryOptions
	log     *slog.Logger
	rng     *rand.Rand
	wake    chan struct{}
}

// NewDeliverer checks the options and returns a Deliverer over outbox.
func NewDeliverer(outbox Outbox, senders map[string]Sender, o DeliveryOptions) (*Deliverer, error) {
	if outbox == nil {
		return nil, errors.New("deliverer: no outbox")
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 30
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{outbox: outbox, senders: senders, o: o, log: o.Logger.With("component", "deliver"),
		rng: rand.New(rand.NewPCG(o.Seed, 0x6e6f74696679)), wake: make(chan struct{}, 1)}, nil
}

// Wake makes Run look at the outbox now (new notifications were queued).
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		n, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Error("deliver notifications", "err", err)
		}
		if n > 0 && err == nil && ctx.Err() == nil {
			continue // a pass takes a bounded batch; there may be more
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-t.C:
		}
	}
}

// pendingBatch bounds one pass over the outbox, per receiver.
const pendingBatch = 200

// DeliverDue makes one pass: for each receiver, its oldest notifications in
// order until one is not due yet or fails. It returns how many were sent.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	qs, err := d.outbox.Pending(pendingBatch)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	blocked := map[string]bool{}
	sent := 0
	for _, q := range qs {
		rc := q.Message.Receiver
		if blocked[rc] {
			continue
		}
		now := d.o.Now()
		if q.NextTry.After(now) {
			blocked[rc] = true // keep its order: nothing after it goes first
			continue
		}
		ok, err := d.deliver(ctx, q, now)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		} else {
			blocked[rc] = true
		}
		if ctx.Err() != nil {
			return sent, nil
		}
	}
	return sent, nil
}

// deliver attempts one notification; ok is false when the receiver should
// not be tried again in this pass.
func (d *Deliverer) deliver(ctx context.Context, q Queued, now time.Time) (ok bool, err error) {
	m := &q.Message
	s, found := d.senders[m.Receiver]
	if !found {
		return false, d.outbox.Outcome(ctx, m.Key, Outcome{Failed: true, Err: fmt.Sprintf("receiver %q is not configured", m.Receiver)})
	}
	if rc, ok := s.(Reconciler); ok && q.MaybeSent {
		remote, found, err := rc.Reconcile(ctx, m, q.Queued)
		var e *Error
		switch {
		case err != nil && !(errors.As(err, &e) && e.Permanent):
			// Unknown either way: resending risks a duplicate, waiting
			// risks nothing. It stays as it is (maybe sent) for the next
			// pass, which checks again.
			d.log.Warn("notification not reconciled, checking again later", "key", m.Key, "receiver", m.Receiver, "err", err)
			return false, nil
		case err != nil:
			// The check can never work (a channel the token cannot read):
			// a possible duplicate beats a notification never sent.
			d.log.Warn("notification cannot be reconciled, resending", "key", m.Key, "receiver", m.Receiver, "err", err)
		case found:
			d.log.Info("notification found sent before a restart", "key", m.Key, "receiver", m.Receiver, "remote", remote)
			return true, d.outbox.Outcome(ctx, m.Key, Outcome{Sent: true, Remote: remote})
		}
	}
	if err := d.outbox.Attempt(ctx, m.Key); err != nil {
		return false, fmt.Errorf("mark %s sending: %w", m.Key, err)
	}
	attempts := q.Attempts + 1
	res, serr := s.Send(ctx, m)
	if serr == nil {
		return true, d.outbox.Outcome(ctx, m.Key, Outcome{Sent: true, Code: res.Status, Remote: res.Remote})
	}
	var e *Error
	permanent := errors.As(serr, &e) && e.Permanent
	o := Outcome{Code: res.Status, Err: serr.Error()}
	switch {
	case permanent:
		o.Failed = true
	case attempts >= d.o.MaxAttempts:
		o.Failed = true
		o.Err = fmt.Sprintf("gave up after %d attempts: %s", attempts, o.Err)
	default:
		o.NextTry = now.Add(d.backoff(attempts, res.RetryAfter))
	}
	d.log.Warn("notification not delivered", "key", m.Key, "receiver", m.Receiver, "attempt", attempts, "final", o.Failed, "err", serr)
	return false, d.outbox.Outcome(ctx, m.Key, o)
}

// backoff is the wait before attempt n+1.
func (d *Deliverer) backoff(n int, retryAfter time.Duration) time.Duration {
	b := d.o.BaseBackoff
	for i := 1; i < n && b < d.o.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.o.MaxBackoff)
	b = time.Duration(float64(b) * (0.8 + 0.4*d.rng.Float64()))
	return max(b, retryAfter)
}
