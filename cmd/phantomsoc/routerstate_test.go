package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/route"
	"github.com/phantomsoc/phantomsoc/store"
)

// routerRecords lists the keys of the router's saved records, by kind.
func routerRecords(t *testing.T, db *store.DB) string {
	t.Helper()
	var kinds []string
	if _, err := db.LoadState(routerState, func(key string, _ func(any) error) error {
		kind, _, _ := strings.Cut(key, "/")
		kinds = append(kinds, kind)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(kinds)
	return strings.Join(kinds, " ")
}

func exported(t *testing.T, n *notifying) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	b, err := json.Marshal(n.disp.Export())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRouterStateMigratesAndStaysIncremental: a database holding the
// router's state as one blob (schema 4) opens with that state, rewritten
// as one record per alert, group and silence, the blob gone; later
// changes rewrite and delete single records; every reopening restores
// exactly the state the router had.
func TestRouterStateMigratesAndStaysIncremental(t *testing.T) {
	dir := t.TempDir()
	cfg, err := loadConfig(notifyConfig(t, dir, filepath.Join(dir, "unused.log"), "http://127.0.0.1:9/unused"))
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "d.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	ctx := t.Context()
	now := time.Now()

	// The old form: the whole state in one value.
	r, err := route.New(cfg.Routing)
	if err != nil {
		t.Fatal(err)
	}
	old, err := route.NewDispatcher(r, route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alert := func(src string) *engine.Alert {
		return &engine.Alert{ID: "al-" + src, Time: now, Scenario: "ssh-bruteforce", Risk: 7, Key: src, Source: netip.MustParseAddr(src)}
	}
	old.Add(alert("203.0.113.1"))
	old.Tick(time.Now())
	if _, err := old.AddSilence(route.Silence{Matchers: []string{"source=198.51.100.9"}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutState(ctx, routerState, old.Export()); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(old.Export())
	if err != nil {
		t.Fatal(err)
	}

	reopen := func() *notifying {
		t.Helper()
		n, err := buildNotifying(ctx, &cfg, db, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := reopen()
	if got := exported(t, n); got != string(want) {
		t.Fatalf("state after migrating:\n%s\nwant the blob's\n%s", got, want)
	}
	var blob route.State
	if found, err := db.State(routerState, &blob); err != nil || found {
		t.Errorf("single-blob state after migrating: found %v (%v), want removed", found, err)
	}

	steps := []struct {
		name string
		do   func(n *notifying)
		want string // record kinds
	}{
		{"migrated", func(*notifying) {}, "a g meta s"},
		{"a second alert, routed and notified", func(n *notifying) {
			n.Committed(&engine.Commit{Alerts: []engine.Alert{*alert("203.0.113.2")}})
			if err := n.tick(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, "a a g g meta s"},
		{"the silence expired", func(n *notifying) {
			if err := n.ExpireSilence(ctx, "s1"); err != nil {
				t.Fatal(err)
			}
		}, "a a g g meta s"},
		{"the first alert resolved and its group closed", func(n *notifying) {
			n.mu.Lock()
			err := n.disp.Resolve(route.Fingerprint(alert("203.0.113.1")), time.Now())
			n.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if err := n.tick(ctx, time.Now().Add(2*time.Second)); err != nil {
				t.Fatal(err)
			}
		}, "a g meta s"},
	}
	for _, st := range steps {
		st.do(n)
		if got := routerRecords(t, db); got != st.want {
			t.Errorf("%s: saved records %q, want %q", st.name, got, st.want)
		}
		before := exported(t, n)
		n = reopen()
		if got := exported(t, n); got != before {
			t.Errorf("%s: state after reopening:\n%s\nwant\n%s", st.name, got, before)
		}
	}
}

// TestFirstAttemptQueuedWithTheNotification: the enqueue records the
// first attempt (sending, 1), so delivering it writes only the outcome,
// and the outbox counts exactly the attempts made.
func TestFirstAttemptQueuedWithTheNotification(t *testing.T) {
	tests := []struct {
		name      string
		up        bool
		wantState string
		wantHits  int
	}{
		{"receiver up", true, store.NoteSent, 1},
		{"receiver down", false, store.NoteQueued, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook := newHookServer(t)
			hook.up.Store(tc.up)
			n, db := notifyingWithAlert(t, hook.URL)
			if err := n.tick(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
			queued, err := db.Notifications()
			if err != nil || len(queued) != 1 || queued[0].State != store.NoteSending || queued[0].Attempts != 1 {
				t.Fatalf("outbox after the tick = %+v, %v; want one notification, sending, attempt 1", queued, err)
			}
			if _, err := n.del.DeliverDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, err := db.Notifications()
			if err != nil || len(got) != 1 || got[0].State != tc.wantState || got[0].Attempts != 1 {
				t.Errorf("outbox after delivering = %+v, %v; want %s after 1 attempt", got, err, tc.wantState)
			}
			if hits, _ := hook.counts(); hits != tc.wantHits {
				t.Errorf("receiver got %d notifications, want %d", hits, tc.wantHits)
			}
		})
	}
}

// TestFailedEnqueueIsRetried makes one tick's enqueue fail after the
// router handed its notification over: the next tick queues it, once.
func TestFailedEnqueueIsRetried(t *testing.T) {
	n, db := notifyingWithAlert(t, newHookServer(t).URL)
	failing, cancel := context.WithCancel(t.Context())
	cancel() // the store refuses the transaction
	if err := n.tick(failing, time.Now()); err == nil {
		t.Fatal("tick with a failing store succeeded")
	}
	if got, _ := db.Notifications(); len(got) != 0 {
		t.Fatalf("outbox after the failed tick = %+v, want empty", got)
	}
	for range 2 {
		if err := n.tick(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.Notifications(); err != nil || len(got) != 1 {
		t.Errorf("outbox after the retry = %+v, %v; want the one notification", got, err)
	}
}

// notifyingWithAlert is the notification side over a fresh database,
// routing to a webhook at url, with one alert handed over.
func notifyingWithAlert(t *testing.T, url string) (*notifying, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := loadConfig(notifyConfig(t, dir, filepath.Join(dir, "unused.log"), url))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "d.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	n, err := buildNotifying(t.Context(), &cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	n.Committed(&engine.Commit{Alerts: []engine.Alert{{ID: "al-1", Time: time.Now(), Scenario: "ssh-bruteforce", Risk: 7,
		Key: "203.0.113.5", Source: netip.MustParseAddr("203.0.113.5")}}})
	return n, db
}
