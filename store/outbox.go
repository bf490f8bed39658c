package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketOutbox holds every notification before it is sent, keyed by its
// idempotency key: a notification is durable before any receiver hears of
// it, and a restart finds exactly what was sent, what was not, and what may
// have been.
const bucketOutbox = "outbox"

// bucketOutboxPending indexes the notifications still to deliver by
// creation time then key, so a delivery pass reads only those, however
// many the outbox holds.
const bucketOutboxPending = "outbox_pending"

// migrateV4 adds the pending index, filled from the outbox.
func migrateV4(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists([]byte(bucketOutboxPending))
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketOutboxPending, err)
	}
	ob := tx.Bucket([]byte(bucketOutbox))
	if ob == nil {
		return nil
	}
	return ob.ForEach(func(_, v []byte) error {
		var n Notification
		if err := decode("notification", v, &n); err != nil {
			return err
		}
		if n.State == NoteQueued || n.State == NoteSending {
			return idx.Put(pendingKey(&n), nil)
		}
		return nil
	})
}

// pendingKey orders the pending index: creation time, then key.
func pendingKey(n *Notification) []byte {
	return append(u64(timeKey(n.Created)), n.Key...)
}

// migrateV3 adds the notification outbox.
func migrateV3(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketOutbox)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketOutbox, err)
	}
	return nil
}

// Notification delivery states.
const (
	// NoteQueued waits for its first attempt or its next retry.
	NoteQueued = "queued"
	// NoteSending was handed to a receiver and no answer was recorded: after
	// a crash it may or may not have arrived, and is retried only with its
	// idempotency key (which receivers that support one deduplicate).
	NoteSending = "sending"
	// NoteSent was accepted by the receiver.
	NoteSent = "sent"
	// NoteFailed was refused for good (a 4xx, a bad address) or ran out of
	// retries.
	NoteFailed = "failed"
	// NoteSuppressed is recorded but not sent: a silenced alert's
	// resolution, kept so the record is complete.
	NoteSuppressed = "suppressed"
)

// Notification is one message to one receiver.
type Notification struct {
	// Key is the idempotency key: the same notification always has the
	// same key, so enqueuing it twice stores it once.
	Key      string    `json:"key"`
	Receiver string    `json:"receiver"`
	Status   string    `json:"status"` // firing, resolved, acknowledged
	Created  time.Time `json:"created"`
	State    string    `json:"state"`
	Attempts int       `json:"attempts"`
	NextTry  time.Time `json:"next_try,omitzero"`
	// LastCode and LastError are the last attempt's outcome.
	LastCode  int    `json:"last_code,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Remote is the receiver's own reference (a Slack ts, a PagerDuty
	// dedup key).
	Remote string `json:"remote,omitempty"`
	// Payload is what to send, as the router produced it.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// ErrUnknownNotification is returned for a key the outbox does not hold.
var ErrUnknownNotification = errors.New("no such notification")

// Enqueue stores notifications that are not stored yet; a key already
// present is left as it is, so a router replaying its state after a
// restart cannot queue a message twice. It returns how many were new.
func (db *DB) Enqueue(ctx context.Context, ns []Notification) (int, error) {
	added, err := db.enqueue(ctx, ns, nil)
	return len(added), err
}

// enqueue stores the notifications not stored yet, and runs also in the
// same transaction; it returns the keys it added.
func (db *DB) enqueue(ctx context.Context, ns []Notification, also func(tx *bolt.Tx) error) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var added []string
	err := db.update("enqueue notifications", func(tx *bolt.Tx) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		idx, err := bucket(tx, bucketOutboxPending)
		if err != nil {
			return err
		}
		added = added[:0]
		for _, n := range ns {
			if n.Key == "" || n.Receiver == "" {
				return fmt.Errorf("notification %q to %q: key and receiver are required", n.Key, n.Receiver)
			}
			if b.Get([]byte(n.Key)) != nil {
				continue
			}
			if n.State == "" {
				n.State = NoteQueued
			}
			if n.Created.IsZero() {
				n.Created = db.now()
			}
			v, err := encode(&n)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(n.Key), v); err != nil {
				return err
			}
			if n.State == NoteQueued || n.State == NoteSending {
				if err := idx.Put(pendingKey(&n), nil); err != nil {
					return err
				}
			}
			added = append(added, n.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// Due returns up to limit notifications to attempt at now: queued ones
// whose retry time has come, oldest first. Those left "sending" by a crash
// are due too; the sender must retry them with their idempotency key.
func (db *DB) Due(now time.Time, limit int) ([]Notification, error) {
	var out []Notification
	err := db.view("due notifications", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var n Notification
			if err := decode("notification", v, &n); err != nil {
				return err
			}
			if (n.State == NoteQueued || n.State == NoteSending) && !n.NextTry.After(now) {
				out = append(out, n)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Notification) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.Key), []byte(b.Key))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// Attempt records that key is being sent now: it is marked sending, with
// its attempt counted, before the request leaves.
func (db *DB) Attempt(ctx context.Context, key string) (Notification, error) {
	return db.updateNote(ctx, key, func(n *Notification) error {
		switch n.State {
		case NoteSent, NoteFailed, NoteSuppressed:
			return fmt.Errorf("notification %s is already %s", key, n.State)
		}
		n.State = NoteSending
		n.Attempts++
		return nil
	})
}

// Outcome is what one attempt came to.
type Outcome struct {
	// State is NoteSent, NoteFailed, or NoteQueued for a retry at NextTry.
	State   string
	NextTry time.Time
	Code    int
	Err     string
	Remote  string
}

// RecordOutcome stores an attempt's outcome; a final one (sent or failed) is also
// an audit record.
func (db *DB) RecordOutcome(ctx context.Context, key string, o Outcome) (Notification, error) {
	switch o.State {
	case NoteSent, NoteFailed, NoteQueued:
	default:
		return Notification{}, fmt.Errorf("notification %s: outcome state %q", key, o.State)
	}
	return db.updateNote(ctx, key, func(n *Notification) error {
		n.State, n.NextTry, n.LastCode, n.LastError = o.State, o.NextTry, o.Code, o.Err
		if o.Remote != "" {
			n.Remote = o.Remote
		}
		return nil
	})
}

func (db *DB) updateNote(ctx context.Context, key string, fn func(n *Notification) error) (Notification, error) {
	if err := ctx.Err(); err != nil {
		return Notification{}, err
	}
	var out Notification
	err := db.update("update notification", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		v := b.Get([]byte(key))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrUnknownNotification, key)
		}
		if err := decode("notification", v, &out); err != nil {
			return err
		}
		if err := fn(&out); err != nil {
			return err
		}
		nv, err := encode(&out)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), nv); err != nil {
			return err
		}
		if out.State != NoteSent && out.State != NoteFailed {
			return nil
		}
		idx, err := bucket(tx, bucketOutboxPending)
		if err != nil {
			return err
		}
		if err := idx.Delete(pendingKey(&out)); err != nil {
			return err
		}
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		d, err := json.Marshal(map[string]any{"receiver": out.Receiver, "status": out.Status, "attempts": out.Attempts, "code": out.LastCode, "error": out.LastError})
		if err != nil {
			return err
		}
		if _, err := w.add(AuditRecord{Time: db.now(), Actor: "notify", Action: "notification." + out.State, Subject: key, Detail: d}); err != nil {
			return err
		}
		return w.flush()
	})
	return out, err
}

// Notifications returns every notification in the given states (all when
// none), oldest first.
func (db *DB) Notifications(states ...string) ([]Notification, error) {
	var out []Notification
	err := db.view("list notifications", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var n Notification
			if err := decode("notification", v, &n); err != nil {
				return err
			}
			if len(states) == 0 || slices.Contains(states, n.State) {
				out = append(out, n)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Notification) int { return a.Created.Compare(b.Created) })
	return out, err
}

// Pending returns the notifications not yet sent, failed or suppressed,
// oldest first, whatever their retry time — at most perReceiver of each
// receiver (0: all), so a receiver that is down with a long queue never
// hides another's newer notifications. The sender keeps each receiver's
// order itself. A notification's receiver is read from its key's suffix
// (":RECEIVER", as the router names them) before its value is decoded, so
// skipping a long queue costs a cursor step per entry.
func (db *DB) Pending(perReceiver int) ([]Notification, error) {
	var out []Notification
	taken := map[string]int{}
	err := db.view("pending notifications", func(tx *bolt.Tx) error {
		idx, err := bucket(tx, bucketOutboxPending)
		if err != nil {
			return err
		}
		ob, err := bucket(tx, bucketOutbox)
		if err != nil {
			return err
		}
		c := idx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				return fmt.Errorf("%w: pending index key %x", ErrCorrupt, k)
			}
			key := k[8:]
			if i := bytes.LastIndexByte(key, ':'); perReceiver > 0 && i >= 0 && taken[string(key[i+1:])] >= perReceiver {
				continue
			}
			v := ob.Get(key)
			if v == nil {
				return fmt.Errorf("%w: pending notification %q is not in the outbox", ErrCorrupt, key)
			}
			var n Notification
			if err := decode("notification", v, &n); err != nil {
				return err
			}
			if perReceiver > 0 && taken[n.Receiver] >= perReceiver {
				continue
			}
			taken[n.Receiver]++
			out = append(out, n)
		}
		return nil
	})
	return out, err
}
