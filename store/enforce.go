package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

// bucketEnforcement holds one record per decision and gateway, keyed by
// decision ID, a zero byte and the gateway name, so one decision's records
// are adjacent.
const bucketEnforcement = "enforcement"

// metaManualSeq numbers the decisions made outside the pipeline ("dm-…"),
// apart from the engine's own sequence so neither can reuse the other's IDs.
const metaManualSeq = "manual_seq"

// migrateV2 adds the enforcement bucket.
func migrateV2(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketEnforcement)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketEnforcement, err)
	}
	return nil
}

func enforcementKey(decisionID, gateway string) []byte {
	return []byte(decisionID + "\x00" + gateway)
}

// NewDecisionID reserves the ID of a decision made outside the pipeline.
func (db *DB) NewDecisionID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var n uint64
	err := db.update("new decision id", func(tx *bolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get([]byte(metaManualSeq)); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		n++
		return meta.Put([]byte(metaManualSeq), u64(n))
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("dm-%08d", n), nil
}

// Record writes ch in one transaction: its decisions (created or replaced
// by ID), its enforcement states, and its audit notes, in that order. The
// caller supplies the audit notes: a decision written here gets no
// automatic record.
func (db *DB) Record(ctx context.Context, ch *engine.Change) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return db.update("record change", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketDecisions)
		if err != nil {
			return err
		}
		ids, err := bucket(tx, bucketDecisionIDs)
		if err != nil {
			return err
		}
		for i := range ch.Decisions {
			d := &ch.Decisions[i]
			v, err := encode(d)
			if err != nil {
				return fmt.Errorf("decision %s: %w", d.ID, err)
			}
			if _, err := putEntity(b, ids, d.ID, d.Time, v); err != nil {
				return fmt.Errorf("decision %q: %w", d.ID, err)
			}
		}
		eb, err := bucket(tx, bucketEnforcement)
		if err != nil {
			return err
		}
		for _, e := range ch.Enforcements {
			if e.DecisionID == "" || e.Gateway == "" || strings.ContainsRune(e.Gateway, 0) {
				return fmt.Errorf("enforcement %q on %q: decision and gateway are required", e.DecisionID, e.Gateway)
			}
			v, err := encode(&e)
			if err != nil {
				return err
			}
			if err := eb.Put(enforcementKey(e.DecisionID, e.Gateway), v); err != nil {
				return fmt.Errorf("enforcement %s on %s: %w", e.DecisionID, e.Gateway, err)
			}
		}
		if len(ch.Notes) == 0 {
			return nil
		}
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		if err := db.addNotes(w, ch.Notes); err != nil {
			return err
		}
		return w.flush()
	})
}

// addNotes appends an audit record for each note; a note without a time
// gets the store's clock.
func (db *DB) addNotes(w *auditWriter, notes []engine.AuditNote) error {
	for _, n := range notes {
		if n.Actor == "" || n.Action == "" {
			return fmt.Errorf("audit note %q: actor and action are required", n.Action)
		}
		rec := AuditRecord{Time: n.Time, Actor: n.Actor, Action: n.Action, Subject: n.Subject}
		if rec.Time.IsZero() {
			rec.Time = db.now()
		}
		if n.Detail != nil {
			var err error
			if rec.Detail, err = json.Marshal(n.Detail); err != nil {
				return fmt.Errorf("audit %s %s: %w", n.Action, n.Subject, err)
			}
		}
		if _, err := w.add(rec); err != nil {
			return err
		}
	}
	return nil
}

// Enforcements returns the per-gateway states of the given decisions, by
// decision ID; every decision's when ids is empty.
func (db *DB) Enforcements(ids []string) (map[string][]engine.Enforcement, error) {
	out := map[string][]engine.Enforcement{}
	err := db.view("list enforcement", func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketEnforcement))
		if b == nil {
			return nil // a file not yet migrated holds none
		}
		add := func(v []byte) error {
			var e engine.Enforcement
			if err := decode("enforcement", v, &e); err != nil {
				return err
			}
			out[e.DecisionID] = append(out[e.DecisionID], e)
			return nil
		}
		if len(ids) == 0 {
			return b.ForEach(func(_, v []byte) error { return add(v) })
		}
		c := b.Cursor()
		for _, id := range ids {
			prefix := []byte(id + "\x00")
			for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
				if err := add(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// Live returns the decisions that may still need enforcing at now: active
// or pending, and not past their TTL.
func (db *DB) Live(now time.Time) ([]engine.Decision, error) {
	var out []engine.Decision
	err := db.view("list live decisions", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketDecisions)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			d, err := decodeDecision(v)
			if err != nil {
				return err
			}
			if s := d.StateAt(now); s == engine.StateActive || s == engine.StatePending {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}
