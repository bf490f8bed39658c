package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOutboxDeliversEachNotificationOnce(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ns []Notification
	for i, key := range []string{"g1/1", "g1/2", "g2/1"} {
		ns = append(ns, Notification{Key: key, Receiver: "ops", Status: "firing", Created: t0.Add(time.Duration(i) * time.Second),
			Payload: json.RawMessage(`{"alerts":["al-00000001"]}`)})
	}
	if n, err := db.Enqueue(ctx, ns); err != nil || n != 3 {
		t.Fatalf("Enqueue = %d, %v; want 3 new", n, err)
	}
	// A router replaying its state after a restart queues nothing twice.
	if n, err := db.Enqueue(ctx, ns); err != nil || n != 0 {
		t.Fatalf("second Enqueue = %d, %v; want 0 new", n, err)
	}
	due, err := db.Due(t0.Add(time.Minute), 0)
	if err != nil || len(due) != 3 || due[0].Key != "g1/1" || due[2].Key != "g2/1" {
		t.Fatalf("Due = %+v, %v; want the three, oldest first", due, err)
	}
	if _, err := db.Attempt(ctx, "g1/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordOutcome(ctx, "g1/1", Outcome{State: NoteSent, Code: 202, Remote: "pd-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Attempt(ctx, "g1/1"); err == nil {
		t.Fatal("a sent notification could be attempted again")
	}
	if _, err := db.Attempt(ctx, "g1/2"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordOutcome(ctx, "g1/2", Outcome{State: NoteQueued, NextTry: t0.Add(10 * time.Minute), Code: 503, Err: "unavailable"}); err != nil {
		t.Fatal(err)
	}
	// g2/1 is handed to the receiver, then the process dies.
	if _, err := db.Attempt(ctx, "g2/1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, Options{})
	due, err = db.Due(t0.Add(time.Minute), 0)
	if err != nil || len(due) != 1 || due[0].Key != "g2/1" || due[0].State != NoteSending || due[0].Attempts != 1 {
		t.Fatalf("Due after a crash = %+v, %v; want only the one left sending (retried with its key), not the one waiting for 10 minutes", due, err)
	}
	if due, _ := db.Due(t0.Add(11*time.Minute), 0); len(due) != 2 {
		t.Fatalf("Due after the retry time = %d, want 2", len(due))
	}
	sent, err := db.Notifications(NoteSent)
	if err != nil || len(sent) != 1 || sent[0].Remote != "pd-1" || sent[0].Attempts != 1 {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	recs, err := db.AuditList(0, 0)
	if err != nil || len(recs) != 1 || recs[0].Action != "notification.sent" || recs[0].Subject != "g1/1" {
		t.Fatalf("audit = %+v, %v; want one notification.sent record", recs, err)
	}
	if _, err := db.Attempt(ctx, "nope"); !errors.Is(err, ErrUnknownNotification) {
		t.Errorf("Attempt(unknown) = %v, want ErrUnknownNotification", err)
	}
	if _, err := db.Enqueue(ctx, []Notification{{Key: "", Receiver: "ops"}}); err == nil {
		t.Error("a notification without a key was accepted")
	}
}

// TestPendingReadsOnlyWhatIsLeft: delivered notifications leave the pending
// index, so a pass reads only what is still to send, oldest first.
func TestPendingReadsOnlyWhatIsLeft(t *testing.T) {
	db := openAt(t, testPath(t), Options{})
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ns []Notification
	for i := range 5 {
		ns = append(ns, Notification{Key: fmt.Sprintf("k%d", 4-i), Receiver: "ops", Status: "firing", Created: t0.Add(time.Duration(i) * time.Second)})
	}
	ns = append(ns, Notification{Key: "quiet", Receiver: "ops", Status: "resolved", State: NoteSuppressed, Created: t0})
	if _, err := db.Enqueue(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k4", "k2"} {
		if _, err := db.Attempt(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordOutcome(ctx, k, Outcome{State: NoteSent}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Attempt(ctx, "k3"); err != nil { // left sending by a crash
		t.Fatal(err)
	}
	got, err := db.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, n := range got {
		keys = append(keys, n.Key)
	}
	if strings.Join(keys, ",") != "k3,k1,k0" {
		t.Errorf("Pending = %v, want k3,k1,k0 (oldest first, sent and suppressed left out)", keys)
	}
	if got, _ := db.Pending(2); len(got) != 2 {
		t.Errorf("Pending(2) = %d, want 2 of the receiver's 3", len(got))
	}
}

// TestPendingPerReceiver checks one receiver's long queue does not hide
// another's newer notifications: the limit is per receiver, with keys in
// the router's form (":RECEIVER") and without it.
func TestPendingPerReceiver(t *testing.T) {
	db := openAt(t, testPath(t), Options{})
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ns []Notification
	for i := range 50 {
		ns = append(ns, Notification{Key: fmt.Sprintf("g#1/%d:down", i), Receiver: "down", Status: "firing", Created: t0.Add(time.Duration(i) * time.Second)})
	}
	ns = append(ns,
		Notification{Key: "g#2/1:up", Receiver: "up", Status: "firing", Created: t0.Add(time.Hour)},
		Notification{Key: "plain-key", Receiver: "other", Status: "firing", Created: t0.Add(2 * time.Hour)})
	if _, err := db.Enqueue(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	got, err := db.Pending(3)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, n := range got {
		keys = append(keys, n.Key)
	}
	if want := "g#1/0:down,g#1/1:down,g#1/2:down,g#2/1:up,plain-key"; strings.Join(keys, ",") != want {
		t.Errorf("Pending(3) = %v, want %s", keys, want)
	}
}

func TestPendingIndexIsBuiltForAnOlderFile(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{migrations: shippedMigrations()[:3]})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	boltEdit(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketOutbox))
		for _, n := range []Notification{{Key: "old", Receiver: "ops", State: NoteQueued}, {Key: "done", Receiver: "ops", State: NoteSent}} {
			v, err := encode(&n)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(n.Key), v); err != nil {
				return err
			}
		}
		return nil
	})
	db = openAt(t, path, Options{})
	got, err := db.Pending(0)
	if err != nil || len(got) != 1 || got[0].Key != "old" {
		t.Fatalf("Pending after migrating = %+v, %v; want the queued one only", got, err)
	}
}
