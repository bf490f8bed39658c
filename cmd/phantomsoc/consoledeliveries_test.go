package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
	"github.com/phantomsoc/phantomsoc/tui"
)

// TestConsoleSnapshotCountsDeliveriesPerReceiver: the console's snapshot
// counts the outbox per receiver and state, with the newest failure's
// error, from the store as `status` counts it.
func TestConsoleSnapshotCountsDeliveriesPerReceiver(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "n.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ns []store.Notification
	for i, n := range []struct{ key, receiver string }{
		{"g1/1", "pagerduty"}, {"g1/2", "pagerduty"}, {"g1/3", "pagerduty"}, {"g2/1", "slack"}, {"g2/2", "slack"},
	} {
		ns = append(ns, store.Notification{Key: n.key, Receiver: n.receiver, Status: "firing", Created: t0.Add(time.Duration(i) * time.Second)})
	}
	if _, err := db.Enqueue(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for key, o := range map[string]store.Outcome{
		"g1/1": {State: store.NoteFailed, Code: 400, Err: "400 invalid routing key"},
		"g1/2": {State: store.NoteQueued, NextTry: t0.Add(time.Minute), Code: 503, Err: "503 Service Unavailable"},
		"g2/1": {State: store.NoteSent, Code: 200},
	} {
		if _, err := db.RecordOutcome(ctx, key, o); err != nil {
			t.Fatal(err)
		}
	}
	src := &consoleSource{db: db, enf: dryEnforcer{}, now: func() time.Time { return t0 },
		stats:      func(context.Context) (engine.Stats, []engine.Queue, error) { return engine.Stats{}, nil, nil },
		deliveries: func(context.Context) ([]tui.Delivery, error) { return receiverDeliveries(db) }}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []tui.Delivery{
		{Receiver: "pagerduty", Failed: 1, Waiting: 2, LastError: "503 Service Unavailable"},
		{Receiver: "slack", Sent: 1, Waiting: 1},
	}
	if !slices.Equal(snap.Deliveries, want) {
		t.Errorf("Snapshot().Deliveries = %+v, want %+v", snap.Deliveries, want)
	}

	// A daemon that does not know the call leaves the rest of the
	// snapshot good.
	src = &consoleSource{db: db, enf: dryEnforcer{}, now: func() time.Time { return t0 },
		stats:      func(context.Context) (engine.Stats, []engine.Queue, error) { return engine.Stats{}, nil, nil },
		deliveries: func(context.Context) ([]tui.Delivery, error) { return nil, errors.New(`unknown call "deliveries"`) }}
	if snap, err := src.Snapshot(ctx); err != nil || snap.Deliveries != nil {
		t.Errorf("Snapshot() with an old daemon = %+v, %v; want no deliveries and no error", snap.Deliveries, err)
	}
}

// dryEnforcer is an enforcer with no gateway, for snapshots that need
// none; any other call panics on the nil interface.
type dryEnforcer struct{ enforcer }

func (dryEnforcer) Health() []actions.Health { return nil }

func (dryEnforcer) Drops(context.Context) ([]actions.Drops, error) { return nil, nil }

// countingEnforcer answers Drops with its drops and counts the calls.
type countingEnforcer struct {
	dryEnforcer
	drops []actions.Drops
	calls *int
}

func (c countingEnforcer) Drops(context.Context) ([]actions.Drops, error) {
	*c.calls++
	return c.drops, nil
}

// TestConsoleDropCountsPerDecision: the element counters reach the
// snapshot by decision and gateway, read at most every dropsEvery; a dry
// run reads none (the console shows "—").
func TestConsoleDropCountsPerDecision(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	calls := 0
	enf := countingEnforcer{calls: &calls, drops: []actions.Drops{
		{Decision: "de-1", Gateway: "gw1", Counter: actions.Counter{Packets: 7, Bytes: 420}},
		{Decision: "de-1", Gateway: "gw2", Missing: true},
		{Decision: "de-2", Gateway: "gw1", Counter: actions.Counter{Packets: 1, Bytes: 60}, Shared: true},
		{Gateway: "gw1", Counter: actions.Counter{Packets: 7, Bytes: 420}}, // the gateway's total
	}}
	src := &consoleSource{enf: enf}
	got := src.dropCounts(t.Context(), t0)
	want := map[string][]tui.Drops{
		"de-1": {{Gateway: "gw1", Packets: 7, Bytes: 420}, {Gateway: "gw2", Missing: true}},
		"de-2": {{Gateway: "gw1", Packets: 1, Bytes: 60, Shared: true}},
		"":     {{Gateway: "gw1", Packets: 7, Bytes: 420}},
	}
	if len(got) != len(want) || !slices.Equal(got["de-1"], want["de-1"]) || !slices.Equal(got["de-2"], want["de-2"]) || !slices.Equal(got[""], want[""]) {
		t.Errorf("dropCounts = %+v, want %+v", got, want)
	}
	src.dropCounts(t.Context(), t0.Add(time.Second))
	if calls != 1 {
		t.Errorf("two snapshots within %s read the counters %d times, want once", dropsEvery, calls)
	}
	src.dropCounts(t.Context(), t0.Add(dropsEvery))
	if calls != 2 {
		t.Errorf("after %s the counters were not read again (%d reads)", dropsEvery, calls)
	}
	dry := &consoleSource{enf: enf, dryRun: true}
	if got := dry.dropCounts(t.Context(), t0); got != nil || calls != 2 {
		t.Errorf("dry run: dropCounts = %+v after %d reads, want nil and no read", got, calls)
	}
}
