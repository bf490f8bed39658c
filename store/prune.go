package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

// PruneReport counts what Prune deleted.
type PruneReport struct {
	Before    time.Time `json:"before"`
	Alerts    int       `json:"alerts"`
	Decisions int       `json:"decisions"`
	Sources   int       `json:"sources"`
	Offenders int       `json:"offenders"`
	// AuditSeq is the audit record that logs this prune.
	AuditSeq uint64 `json:"audit_seq"`
}

// Prune deletes, in one transaction, alerts older than before, decisions
// older than before that are no longer in force (refused, expired, or with
// an Expires before before — an active permanent or unexpired decision is
// kept, since restart re-applies it), sources last seen before before and
// offenders whose last offense and decision both ended before
// offendersBefore (before when zero: escalation memory usually outlives the
// retention of alerts, so callers pass now minus the policy's forget_after).
// It never deletes audit records: the chain must stay verifiable end to
// end, and the prune itself is audited.
func (db *DB) Prune(ctx context.Context, before, offendersBefore time.Time) (PruneReport, error) {
	if offendersBefore.IsZero() {
		offendersBefore = before
	}
	rep := PruneReport{Before: before.UTC()}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	cut := entityKey(before, 0)
	err := db.update("prune", func(tx *bolt.Tx) error {
		var err error
		if rep.Alerts, err = pruneEntities(tx, bucketAlerts, bucketAlertIDs, cut, func(v []byte) (string, bool, error) {
			var a struct {
				ID string `json:"id"`
			}
			err := decode("alert", v, &a)
			return a.ID, true, err
		}); err != nil {
			return err
		}
		if rep.Decisions, err = pruneEntities(tx, bucketDecisions, bucketDecisionIDs, cut, func(v []byte) (string, bool, error) {
			d, err := decodeDecision(v)
			inForce := (d.State == engine.StateActive || d.State == engine.StatePending) &&
				(d.Expires.IsZero() || !d.Expires.Before(before))
			return d.ID, !inForce, err
		}); err != nil {
			return err
		}
		if rep.Sources, err = pruneWhere(tx, bucketSources, func(v []byte) (bool, error) {
			s, err := decodeSource(v)
			return s.Last.Before(before), err
		}); err != nil {
			return err
		}
		if rep.Offenders, err = pruneWhere(tx, bucketOffenders, func(v []byte) (bool, error) {
			var o engine.Offender
			err := decode("offender", v, &o)
			// Kept while its last offense or its decision is inside the
			// retention period: escalation needs the history.
			return o.Last.Before(offendersBefore) && !o.Expires.IsZero() && o.Expires.Before(offendersBefore), err
		}); err != nil {
			return err
		}
		if rep.Alerts+rep.Decisions+rep.Sources+rep.Offenders == 0 {
			// Nothing deleted, nothing to audit: an hourly prune of a
			// young database must not grow the trail.
			return nil
		}
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		detail, err := json.Marshal(&rep)
		if err != nil {
			return err
		}
		rec, err := w.add(AuditRecord{Time: db.now(), Actor: ActorStore, Action: ActionPruned, Subject: "before " + rep.Before.Format(time.RFC3339), Detail: detail})
		if err != nil {
			return err
		}
		rep.AuditSeq = rec.Seq
		return w.flush()
	})
	if err != nil {
		return PruneReport{}, err
	}
	db.log.Info("store pruned", "before", rep.Before, "alerts", rep.Alerts, "decisions", rep.Decisions,
		"sources", rep.Sources, "offenders", rep.Offenders)
	return rep, nil
}

// pruneEntities deletes entries keyed before cut that del approves, with
// their ID index entries.
func pruneEntities(tx *bolt.Tx, name, idsName string, cut []byte, del func(v []byte) (id string, ok bool, err error)) (int, error) {
	b, err := bucket(tx, name)
	if err != nil {
		return 0, err
	}
	ids, err := bucket(tx, idsName)
	if err != nil {
		return 0, err
	}
	type victim struct{ key, id []byte }
	var vs []victim
	c := b.Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k, cut) < 0; k, v = c.Next() {
		id, ok, err := del(v)
		if err != nil {
			return 0, fmt.Errorf("prune %s %x: %w", name, k, err)
		}
		if ok {
			vs = append(vs, victim{bytes.Clone(k), []byte(id)})
		}
	}
	for _, v := range vs {
		if err := b.Delete(v.key); err != nil {
			return 0, err
		}
		if k := ids.Get(v.id); k != nil && bytes.Equal(k, v.key) {
			if err := ids.Delete(v.id); err != nil {
				return 0, err
			}
		}
	}
	return len(vs), nil
}

// pruneWhere deletes every entry of a bucket that del approves.
func pruneWhere(tx *bolt.Tx, name string, del func(v []byte) (bool, error)) (int, error) {
	b, err := bucket(tx, name)
	if err != nil {
		return 0, err
	}
	var keys [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		ok, err := del(v)
		if err != nil {
			return fmt.Errorf("prune %s %x: %w", name, k, err)
		}
		if ok {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
