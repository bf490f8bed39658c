package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

// bucketIncidents holds incidents keyed by the 8-byte big-endian sequence
// of their ID ("in-00000042" → 42): IDs are handed out in the order
// incidents open, so the keys are time-ordered.
const bucketIncidents = "incidents"

// migrateV6 adds the incidents.
func migrateV6(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketIncidents)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketIncidents, err)
	}
	return nil
}

// incidentKey returns the key of incident id.
func incidentKey(id string) ([]byte, error) {
	seq, ok := idSeq(id)
	if !ok || !strings.HasPrefix(id, "in-") || seq == 0 {
		return nil, fmt.Errorf("incident %q: %w: IDs look like in-00000042", id, ErrNotFound)
	}
	return u64(seq), nil
}

// IncidentQuery selects incidents. Zero fields do not filter.
type IncidentQuery struct {
	// State is one lifecycle state; Open selects every state but closed.
	State string
	Open  bool
	// Limit caps the result; 0 means no cap.
	Limit int
	// Oldest returns oldest first; the default is newest first.
	Oldest bool
}

func (q *IncidentQuery) match(inc *engine.Incident) bool {
	return (q.State == "" || inc.State == q.State) && (!q.Open || inc.IsOpen())
}

// Incidents returns the incidents matching q.
func (db *DB) Incidents(q IncidentQuery) ([]engine.Incident, error) {
	var out []engine.Incident
	err := db.view("list incidents", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketIncidents)
		if err != nil {
			return err
		}
		c := b.Cursor()
		first, next := c.Last, c.Prev
		if q.Oldest {
			first, next = c.First, c.Next
		}
		for k, v := first(); k != nil; k, v = next() {
			var inc engine.Incident
			if err := decode("incident", v, &inc); err != nil {
				return fmt.Errorf("incident %x: %w", k, err)
			}
			if q.match(&inc) {
				out = append(out, inc)
			}
			if q.Limit > 0 && len(out) >= q.Limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// Incident returns incident id, or an error wrapping ErrNotFound.
func (db *DB) Incident(id string) (engine.Incident, error) {
	var inc engine.Incident
	k, err := incidentKey(id)
	if err != nil {
		return inc, err
	}
	err = db.view("incident "+id, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketIncidents)
		if err != nil {
			return err
		}
		v := b.Get(k)
		if v == nil {
			return fmt.Errorf("incident %s: %w", id, ErrNotFound)
		}
		return decode("incident", v, &inc)
	})
	return inc, err
}

// LoadIncidents returns the incidents that are not closed, oldest first,
// and the highest incident sequence used.
func (db *DB) LoadIncidents() (open []engine.Incident, last uint64, err error) {
	err = db.view("load incidents", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketIncidents)
		if err != nil {
			return err
		}
		c := b.Cursor()
		if k, _ := c.Last(); len(k) == 8 {
			last = binary.BigEndian.Uint64(k)
		}
		return b.ForEach(func(k, v []byte) error {
			// Closed incidents are most of the bucket: skip them unread.
			if bytes.Contains(v, []byte(`"state":"closed"`)) {
				return nil
			}
			var inc engine.Incident
			if err := decode("incident", v, &inc); err != nil {
				return fmt.Errorf("incident %x: %w", k, err)
			}
			if inc.IsOpen() {
				open = append(open, inc)
			}
			return nil
		})
	})
	return open, last, err
}

// SaveIncidents writes every incident of ch and its audit records in one
// transaction: a record for each History entry not yet audited (its Audit
// is filled in, in ch), then ch.Notes.
func (db *DB) SaveIncidents(ctx context.Context, ch *engine.IncidentChange) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save incidents: %w", err)
	}
	return db.update("save incidents", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketIncidents)
		if err != nil {
			return err
		}
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		for i := range ch.Incidents {
			inc := &ch.Incidents[i]
			k, err := incidentKey(inc.ID)
			if err != nil {
				return err
			}
			if engine.IncidentStateRank(inc.State) < 0 {
				return fmt.Errorf("incident %s: unknown state %q", inc.ID, inc.State)
			}
			for j := range inc.History {
				h := &inc.History[j]
				if h.Audit != 0 {
					continue
				}
				detail, err := json.Marshal(map[string]string{"detail": h.Detail, "state": inc.State})
				if err != nil {
					return err
				}
				rec, err := w.add(AuditRecord{Time: h.Time, Actor: h.Actor, Action: "incident." + h.Action, Subject: inc.ID, Detail: detail})
				if err != nil {
					return err
				}
				h.Audit = rec.Seq
			}
			v, err := encode(inc)
			if err != nil {
				return fmt.Errorf("incident %s: %w", inc.ID, err)
			}
			if err := b.Put(k, v); err != nil {
				return fmt.Errorf("incident %s: %w", inc.ID, err)
			}
		}
		if err := db.addNotes(w, ch.Notes); err != nil {
			return err
		}
		return w.flush()
	})
}

// AuditAbout returns the audit records whose subject is one of subjects,
// oldest first. It reads the whole chain, but decodes only the records
// it returns.
func (db *DB) AuditAbout(subjects []string) ([]AuditRecord, error) {
	want := make(map[string]bool, len(subjects))
	for _, s := range subjects {
		want[s] = true
	}
	var out []AuditRecord
	err := db.view("audit about", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAudit)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			if s, ok := jsonStringField(v, `"subject":"`); ok && !want[s] {
				return nil
			}
			r, err := decodeAudit(v)
			if err != nil {
				return fmt.Errorf("record %x: %w", k, err)
			}
			if want[r.Subject] {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// jsonStringField returns the string after the first occurrence of key
// in v when it has no escapes; ok is false when it cannot tell, and the
// caller decodes.
func jsonStringField(v []byte, key string) (string, bool) {
	i := bytes.Index(v, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := v[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || slices.Contains(rest[:j], '\\') {
		return "", false
	}
	return string(rest[:j]), true
}
