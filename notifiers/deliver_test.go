package notifiers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memOutbox is an outbox in memory that outlives the Deliverers using it,
// as the database outlives a process. Its own order is insertion order.
type memOutbox struct {
	mu    sync.Mutex
	keys  []string
	rows  map[string]*memRow
	crash func(key string) bool // Outcome "dies" before recording key
}

type memRow struct {
	q     Queued
	state string // queued, sending, sent, failed
}

func (m *memOutbox) add(msgs ...*Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]*memRow{}
	}
	for _, msg := range msgs {
		m.keys = append(m.keys, msg.Key)
		m.rows[msg.Key] = &memRow{q: Queued{Message: *msg}, state: "queued"}
	}
}

func (m *memOutbox) Pending(perReceiver int) ([]Queued, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Queued
	taken := map[string]int{}
	for _, k := range m.keys {
		r := m.rows[k]
		if (r.state == "queued" || r.state == "sending") && taken[r.q.Message.Receiver] < perReceiver {
			taken[r.q.Message.Receiver]++
			q := r.q
			q.MaybeSent = r.state == "sending"
			out = append(out, q)
		}
	}
	return out, nil
}

func (m *memOutbox) Attempt(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rows[key]
	r.state = "sending"
	r.q.Attempts++
	return nil
}

var errCrash = errors.New("the process died here")

func (m *memOutbox) Outcome(_ context.Context, key string, o Outcome) error {
	if m.crash != nil && m.crash(key) {
		return errCrash
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rows[key]
	switch {
	case o.Sent:
		r.state = "sent"
	case o.Failed:
		r.state = "failed"
	default:
		r.state, r.q.NextTry = "queued", o.NextTry
	}
	return nil
}

func (m *memOutbox) states() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, r := range m.rows {
		out[r.state]++
	}
	return out
}

// TestDownReceiverDoesNotBlockOthers queues more notifications for a
// receiver that is down than one pass reads, then one for another
// receiver: a single pass delivers the other's.
func TestDownReceiverDoesNotBlockOthers(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	senders := map[string]Sender{}
	for _, name := range []string{"down", "up"} {
		h, err := NewWebhook(WebhookConfig{URL: srv.URL + "/" + name}, Options{Receiver: name})
		if err != nil {
			t.Fatal(err)
		}
		senders[name] = h
	}
	ob := &memOutbox{}
	for i := range 1100 { // more than a pass ever read before the limit was per receiver
		m := testMessage(fmt.Sprintf("grp/%04d", i), StatusFiring)
		m.Receiver = "down"
		ob.add(m)
	}
	m := testMessage("other/1", StatusFiring)
	m.Receiver = "up"
	ob.add(m)
	d, err := NewDeliverer(ob, senders, DeliveryOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeliverDue(t.Context()); err != nil || n != 1 || got.Load() != 1 {
		t.Errorf("one pass: sent %d (%v), the up receiver got %d; want its one notification delivered", n, err, got.Load())
	}
}

// TestDeliveryOrderRetryAndCrash queues 100 notifications for a webhook
// receiver that is down, retries in order, then "crashes" after one send
// arrived but before its outcome was recorded: a new Deliverer over the
// same outbox resends that one with its idempotency key and everything
// arrives, in order, each key once after the receiver deduplicates.
func TestDeliveryOrderRetryAndCrash(t *testing.T) {
	var up atomic.Bool
	var mu sync.Mutex
	var arrivals []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		arrivals = append(arrivals, r.Header.Get(HeaderKey))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	hook, err := NewWebhook(WebhookConfig{URL: srv.URL}, Options{Receiver: "hook"})
	if err != nil {
		t.Fatal(err)
	}
	ob := &memOutbox{}
	for i := range 100 {
		m := testMessage(fmt.Sprintf("grp/%03d", i), StatusFiring)
		m.Receiver = "hook"
		ob.add(m)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	newD := func() *Deliverer {
		d, err := NewDeliverer(ob, map[string]Sender{"hook": hook}, DeliveryOptions{Now: clock, BaseBackoff: time.Second, MaxBackoff: time.Minute, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := newD()
	ctx := context.Background()
	// Down: the first is tried and the receiver's queue holds behind it.
	if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("pass while down: sent %d, %v", n, err)
	}
	if st := ob.states(); st["queued"] != 100 || ob.rows["grp/000"].q.Attempts != 1 || ob.rows["grp/001"].q.Attempts != 0 {
		t.Fatalf("after a failed pass: %v, attempts %d/%d; want only the oldest tried", st, ob.rows["grp/000"].q.Attempts, ob.rows["grp/001"].q.Attempts)
	}
	// Its retry is not due yet: nothing is attempted, nothing overtakes.
	if n, _ := d.DeliverDue(ctx); n != 0 || ob.rows["grp/000"].q.Attempts != 1 {
		t.Fatal("a retry went early")
	}
	up.Store(true)
	now = now.Add(2 * time.Second)
	// The process dies after the 50th arrives, before it is recorded.
	ob.crash = func(key string) bool { return key == "grp/049" }
	if _, err := d.DeliverDue(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("pass with a crash = %v", err)
	}
	ob.crash = nil
	// A new process: the one left "sending" goes again, with its key.
	if n, err := newD().DeliverDue(ctx); err != nil || n != 51 {
		t.Fatalf("pass after the restart: sent %d, %v; want the 51 left", n, err)
	}
	if st := ob.states(); st["sent"] != 100 {
		t.Fatalf("states = %v, want all 100 sent", st)
	}
	mu.Lock()
	defer mu.Unlock()
	var distinct []string
	seen := map[string]int{}
	for _, k := range arrivals {
		if seen[k] == 0 {
			distinct = append(distinct, k)
		}
		seen[k]++
	}
	if len(distinct) != 100 || !slices.IsSorted(distinct) {
		t.Fatalf("%d distinct keys arrived (sorted %v), want 100 in order", len(distinct), slices.IsSorted(distinct))
	}
	for k, n := range seen {
		if n > 1 && k != "grp/049" {
			t.Errorf("%s arrived %d times; only the one whose outcome was lost may repeat", k, n)
		}
	}
	if seen["grp/049"] != 2 {
		t.Errorf("the send whose outcome was lost arrived %d times, want a resend with the same key", seen["grp/049"])
	}
}

func TestDeliveryGivesUpOnPermanentAndKeepsOthersGoing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer ok.Close()
	bad, err := NewWebhook(WebhookConfig{URL: srv.URL}, Options{Receiver: "bad"})
	if err != nil {
		t.Fatal(err)
	}
	good, err := NewWebhook(WebhookConfig{URL: ok.URL}, Options{Receiver: "good"})
	if err != nil {
		t.Fatal(err)
	}
	ob := &memOutbox{}
	for i, rc := range []string{"bad", "good", "nobody", "good"} {
		m := testMessage(fmt.Sprintf("k%d", i), StatusFiring)
		m.Receiver = rc
		ob.add(m)
	}
	d, err := NewDeliverer(ob, map[string]Sender{"bad": bad, "good": good}, DeliveryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeliverDue(context.Background()); err != nil || n != 2 {
		t.Fatalf("sent %d, %v; want the two for the good receiver", n, err)
	}
	if st := ob.states(); st["failed"] != 2 || st["sent"] != 2 {
		t.Fatalf("states = %v; want the 400 and the unknown receiver failed for good", st)
	}
}

func TestBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	d, err := NewDeliverer(&memOutbox{}, nil, DeliveryOptions{BaseBackoff: time.Second, MaxBackoff: time.Minute, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	prev := time.Duration(0)
	for n := 1; n <= 5; n++ {
		b := d.backoff(n, 0)
		lo, hi := time.Duration(float64(time.Second<<(n-1))*0.8), time.Duration(float64(time.Second<<(n-1))*1.2)
		if b < lo || b > hi || b < prev/2 {
			t.Errorf("backoff(%d) = %s, want %s–%s", n, b, lo, hi)
		}
		prev = b
	}
	if b := d.backoff(20, 0); b > 72*time.Second {
		t.Errorf("backoff(20) = %s, want capped near a minute", b)
	}
	if b := d.backoff(1, 10*time.Minute); b != 10*time.Minute {
		t.Errorf("backoff with Retry-After 10m = %s", b)
	}
}
