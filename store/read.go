package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

// AlertQuery selects alerts. Zero fields do not filter.
type AlertQuery struct {
	// Since (inclusive) and Until (exclusive) bound the event time.
	Since, Until time.Time
	Scenario     string
	// Source matches the blamed address or an address inside one of a
	// campaign's prefixes.
	Source netip.Addr
	// Limit caps the result; 0 means no cap.
	Limit int
	// Oldest returns oldest first; the default is newest first.
	Oldest bool
}

func (q *AlertQuery) match(a *engine.Alert) bool {
	if q.Scenario != "" && a.Scenario != q.Scenario {
		return false
	}
	if q.Source.IsValid() && a.Source != q.Source {
		for _, p := range a.Prefixes {
			if p.Contains(q.Source) {
				return true
			}
		}
		return false
	}
	return true
}

// DecisionQuery selects decisions. Zero fields do not filter.
type DecisionQuery struct {
	// Since (inclusive) and Until (exclusive) bound the decision time.
	Since, Until time.Time
	Scenario     string
	// State is one of the engine.State* constants.
	State   string
	AlertID string
	// Target matches decisions whose target overlaps it.
	Target netip.Prefix
	// Limit caps the result; 0 means no cap.
	Limit int
	// Oldest returns oldest first; the default is newest first.
	Oldest bool
	// Now, when set, makes State match each decision's state at that time
	// (engine.Decision.StateAt), so active decisions past their TTL match
	// "expired".
	Now time.Time
}

func (q *DecisionQuery) match(d *engine.Decision) bool {
	state := d.State
	if !q.Now.IsZero() {
		state = d.StateAt(q.Now)
	}
	return (q.Scenario == "" || d.Scenario == q.Scenario) &&
		(q.State == "" || state == q.State) &&
		(q.AlertID == "" || d.AlertID == q.AlertID) &&
		(!q.Target.IsValid() || (d.Target.IsValid() && d.Target.Overlaps(q.Target)))
}

// scanTime walks a time-keyed bucket between since (inclusive) and until
// (exclusive), newest first unless oldest, until fn returns false.
func scanTime(b *bolt.Bucket, since, until time.Time, oldest bool, fn func(v []byte) (bool, error)) error {
	var lo, hi []byte
	if !since.IsZero() {
		lo = entityKey(since, 0)
	}
	if !until.IsZero() {
		hi = entityKey(until, 0)
	}
	c := b.Cursor()
	if oldest {
		k, v := c.First()
		if lo != nil {
			k, v = c.Seek(lo)
		}
		for ; k != nil && (hi == nil || bytes.Compare(k, hi) < 0); k, v = c.Next() {
			if more, err := fn(v); err != nil || !more {
				return err
			}
		}
		return nil
	}
	var k, v []byte
	if hi == nil {
		k, v = c.Last()
	} else if k, _ = c.Seek(hi); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && (lo == nil || bytes.Compare(k, lo) >= 0); k, v = c.Prev() {
		if more, err := fn(v); err != nil || !more {
			return err
		}
	}
	return nil
}

// Alerts returns the alerts matching q.
func (db *DB) Alerts(q AlertQuery) ([]engine.Alert, error) {
	var out []engine.Alert
	err := db.view("list alerts", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAlerts)
		if err != nil {
			return err
		}
		return scanTime(b, q.Since, q.Until, q.Oldest, func(v []byte) (bool, error) {
			a, err := decodeAlert(v)
			if err != nil {
				return false, err
			}
			if q.match(&a) {
				out = append(out, a)
			}
			return q.Limit <= 0 || len(out) < q.Limit, nil
		})
	})
	return out, err
}

// Decisions returns the decisions matching q.
func (db *DB) Decisions(q DecisionQuery) ([]engine.Decision, error) {
	var out []engine.Decision
	err := db.view("list decisions", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketDecisions)
		if err != nil {
			return err
		}
		return scanTime(b, q.Since, q.Until, q.Oldest, func(v []byte) (bool, error) {
			d, err := decodeDecision(v)
			if err != nil {
				return false, err
			}
			if q.match(&d) {
				out = append(out, d)
			}
			return q.Limit <= 0 || len(out) < q.Limit, nil
		})
	})
	return out, err
}

// byID looks id up through an ID index and returns a copy of the value.
func byID(tx *bolt.Tx, bucketName, idsName, id string) ([]byte, error) {
	b, err := bucket(tx, bucketName)
	if err != nil {
		return nil, err
	}
	ids, err := bucket(tx, idsName)
	if err != nil {
		return nil, err
	}
	k := ids.Get([]byte(id))
	if k == nil {
		return nil, ErrNotFound
	}
	v := b.Get(k)
	if v == nil {
		return nil, fmt.Errorf("%w: index points at key %x, which is gone", ErrNotFound, k)
	}
	return v, nil
}

// Alert returns the alert with the given ID, or an error wrapping
// ErrNotFound.
func (db *DB) Alert(id string) (engine.Alert, error) {
	var a engine.Alert
	err := db.view("alert "+id, func(tx *bolt.Tx) error {
		v, err := byID(tx, bucketAlerts, bucketAlertIDs, id)
		if err != nil {
			return err
		}
		a, err = decodeAlert(v)
		return err
	})
	return a, err
}

// Decision returns the decision with the given ID, or an error wrapping
// ErrNotFound.
func (db *DB) Decision(id string) (engine.Decision, error) {
	var d engine.Decision
	err := db.view("decision "+id, func(tx *bolt.Tx) error {
		v, err := byID(tx, bucketDecisions, bucketDecisionIDs, id)
		if err != nil {
			return err
		}
		d, err = decodeDecision(v)
		return err
	})
	return d, err
}

// Checkpoint returns the stored read position of origin, or nil, nil when
// there is none.
func (db *DB) Checkpoint(origin string) (*engine.Checkpoint, error) {
	var cp *engine.Checkpoint
	err := db.view("checkpoint "+origin, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketCheckpoints)
		if err != nil {
			return err
		}
		v := b.Get([]byte(origin))
		if v == nil {
			return nil
		}
		cp = new(engine.Checkpoint)
		return decode("checkpoint", v, cp)
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// Offenders returns the escalation memory, ordered by target text.
func (db *DB) Offenders() ([]engine.Offender, error) {
	var out []engine.Offender
	err := db.view("list offenders", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketOffenders)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var o engine.Offender
			if err := decode("offender", v, &o); err != nil {
				return fmt.Errorf("offender %s: %w", k, err)
			}
			out = append(out, o)
			return nil
		})
	})
	return out, err
}

// Stats returns the cumulative pipeline counters.
func (db *DB) Stats() (engine.Stats, error) {
	var st engine.Stats
	err := db.view("stats", func(tx *bolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get([]byte(metaStats)); v != nil {
			return decode("stats", v, &st)
		}
		return nil
	})
	return st, err
}

// Seq returns the last ID sequence number committed; the engine resumes
// numbering after it.
func (db *DB) Seq() (uint64, error) {
	var seq uint64
	err := db.view("seq", func(tx *bolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		v := meta.Get([]byte(metaSeq))
		if len(v) != 8 {
			return fmt.Errorf("%w: meta seq is %d bytes", ErrCorrupt, len(v))
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	return seq, err
}

// Sources returns the limit sources with the most indicators (all when
// limit <= 0), most first.
func (db *DB) Sources(limit int) ([]SourceSummary, error) {
	var out []SourceSummary
	err := db.view("list sources", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketSources)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			s, err := decodeSource(v)
			if err != nil {
				return fmt.Errorf("source %x: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b SourceSummary) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return b.Last.Compare(a.Last)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Rejects returns up to limit dead-lettered inputs (all when limit <= 0),
// newest first.
func (db *DB) Rejects(limit int) ([]engine.Reject, error) {
	var out []engine.Reject
	err := db.view("list rejects", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketRejects)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var r engine.Reject
			if err := decode("reject", v, &r); err != nil {
				return fmt.Errorf("reject %x: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Info describes the database file.
type Info struct {
	Path string `json:"path"`
	// Schema is the file's schema version.
	Schema  uint64    `json:"schema"`
	Created time.Time `json:"created"`
	// Size is the file size in bytes.
	Size int64  `json:"size"`
	Seq  uint64 `json:"seq"`
	// Buckets counts the keys in each bucket.
	Buckets map[string]int `json:"buckets"`
}

// Info returns the file's path, schema, size and per-bucket key counts.
func (db *DB) Info() (Info, error) {
	info := Info{Path: db.path, Schema: db.version, Buckets: make(map[string]int)}
	err := db.view("info", func(tx *bolt.Tx) error {
		info.Size = tx.Size()
		for _, name := range append(layoutBuckets(), bucketEnforcement, bucketOutbox, bucketOutboxPending, bucketStates) {
			b, err := bucket(tx, name)
			if err != nil {
				return err
			}
			info.Buckets[name] = b.Stats().KeyN
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if v := meta.Get([]byte(metaCreated)); v != nil {
			if err := decode("created", v, &info.Created); err != nil {
				return err
			}
		}
		if v := meta.Get([]byte(metaSeq)); len(v) == 8 {
			info.Seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if fi, serr := os.Stat(db.path); serr == nil {
		info.Size = fi.Size()
	}
	return info, err
}
