package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

// bucketEvidence indexes collected evidence, keyed by the incident ID, a
// zero byte and the 32 raw bytes of the content's SHA-256: an incident's
// items are one prefix, and the same content collected twice for one
// incident is one item. The bucket is created by the first write that
// needs it, so it needs no schema step of its own.
const bucketEvidence = "evidence"

// ActionEvidenceCollected is the audit action of a stored evidence item.
// Its subject is the item's incident (so the incident's timeline shows it),
// or "evidence:" and the hash for an item without one.
const ActionEvidenceCollected = "evidence.collected"

// EvidenceAudit is the detail of an item's audit record: the content hash
// and the digest of every custody field (engine.EvidenceItem.Digest), so
// both are anchored in the chain.
type EvidenceAudit struct {
	SHA256   string `json:"sha256"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	Source   string `json:"source"`
	Incident string `json:"incident,omitempty"`
	Record   string `json:"record"`
}

// ParseEvidenceAudit decodes the detail of an evidence.collected record.
func ParseEvidenceAudit(r AuditRecord) (EvidenceAudit, error) {
	var d EvidenceAudit
	if r.Action != ActionEvidenceCollected {
		return d, fmt.Errorf("audit record %d is %s, not %s", r.Seq, r.Action, ActionEvidenceCollected)
	}
	if err := json.Unmarshal(r.Detail, &d); err != nil {
		return d, fmt.Errorf("audit record %d: %w", r.Seq, err)
	}
	return d, nil
}

func evidenceKey(incident, id string) ([]byte, error) {
	sum, err := hex.DecodeString(id)
	if err != nil || len(sum) != 32 || strings.ToLower(id) != id {
		return nil, fmt.Errorf("evidence ID %q: want 64 lowercase hex digits (a SHA-256)", id)
	}
	if strings.IndexByte(incident, 0) >= 0 {
		return nil, fmt.Errorf("incident %q: contains a zero byte", incident)
	}
	return append(append([]byte(incident), 0), sum...), nil
}

// PutEvidence registers it (whose ID is its content's SHA-256) with its
// audit record in one transaction and returns it with AuditSeq set. When
// the incident already holds the same content, nothing is written: the
// stored item comes back and created is false.
func (db *DB) PutEvidence(ctx context.Context, it engine.EvidenceItem) (out engine.EvidenceItem, created bool, err error) {
	key, err := evidenceKey(it.Incident, it.ID)
	if err != nil {
		return it, false, fmt.Errorf("put evidence: %w", err)
	}
	if it.Type == "" || it.Collector == "" || it.Collected.IsZero() {
		return it, false, fmt.Errorf("put evidence %.12s: type, collector and collection time are required", it.ID)
	}
	if err := ctx.Err(); err != nil {
		return it, false, fmt.Errorf("put evidence %.12s: %w", it.ID, err)
	}
	it.Collected = it.Collected.UTC()
	it.AuditSeq = 0
	detail, err := json.Marshal(EvidenceAudit{SHA256: it.ID, Type: it.Type, Size: it.Size, Source: it.Source, Incident: it.Incident, Record: it.Digest()})
	if err != nil {
		return it, false, fmt.Errorf("put evidence %.12s: %w", it.ID, err)
	}
	subject := it.Incident
	if subject == "" {
		subject = "evidence:" + it.ID
	}
	err = db.update("put evidence "+it.ID[:12], func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketEvidence))
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketEvidence, err)
		}
		if v := b.Get(key); v != nil {
			return decode("evidence", v, &out)
		}
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		rec, err := w.add(AuditRecord{Time: it.Collected, Actor: it.Collector, Action: ActionEvidenceCollected, Subject: subject, Detail: detail})
		if err != nil {
			return err
		}
		it.AuditSeq = rec.Seq
		v, err := encode(&it)
		if err != nil {
			return err
		}
		if err := b.Put(key, v); err != nil {
			return err
		}
		out, created = it, true
		return w.flush()
	})
	if err != nil {
		return it, false, err
	}
	return out, created, nil
}

// EvidenceQuery selects evidence items. Zero fields do not filter.
type EvidenceQuery struct {
	Incident string
	// ID matches an item's hash or a prefix of it.
	ID string
}

// Evidence returns the items matching q, oldest first (by collection
// time, then hash).
func (db *DB) Evidence(q EvidenceQuery) ([]engine.EvidenceItem, error) {
	var out []engine.EvidenceItem
	err := db.view("list evidence", func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketEvidence))
		if b == nil {
			return nil // nothing collected yet
		}
		c := b.Cursor()
		var prefix []byte
		k, v := c.First()
		if q.Incident != "" {
			prefix = append([]byte(q.Incident), 0)
			k, v = c.Seek(prefix)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var it engine.EvidenceItem
			if err := decode("evidence", v, &it); err != nil {
				return fmt.Errorf("evidence %x: %w", k, err)
			}
			if strings.HasPrefix(it.ID, q.ID) {
				out = append(out, it)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b engine.EvidenceItem) int {
		return cmp.Or(a.Collected.Compare(b.Collected), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Incident, b.Incident))
	})
	return out, err
}

// AuditRecord returns the audit record with sequence seq.
func (db *DB) AuditRecord(seq uint64) (AuditRecord, error) {
	rs, err := db.AuditList(seq, 1)
	if err != nil {
		return AuditRecord{}, err
	}
	if len(rs) == 0 || rs[0].Seq != seq {
		return AuditRecord{}, fmt.Errorf("audit record %d: %w", seq, ErrNotFound)
	}
	return rs[0], nil
}

// SourceHistory returns up to limit alerts blaming an address inside p (or
// proposing a prefix that overlaps it) and up to limit decisions whose
// target overlaps p, newest first: what an enrichment snapshot records.
func (db *DB) SourceHistory(p netip.Prefix, limit int) ([]engine.Alert, []engine.Decision, error) {
	p = p.Masked()
	alerts, err := db.matchAlerts("source history "+p.String(), limit, func(a *engine.Alert) bool {
		return (a.Source.IsValid() && p.Contains(a.Source)) || slices.ContainsFunc(a.Prefixes, p.Overlaps)
	})
	if err != nil {
		return nil, nil, err
	}
	decisions, err := db.Decisions(DecisionQuery{Target: p, Limit: limit})
	if err != nil {
		return nil, nil, err
	}
	return alerts, decisions, nil
}

// UserAlerts returns up to limit alerts naming one of users, newest first.
func (db *DB) UserAlerts(users []string, limit int) ([]engine.Alert, error) {
	return db.matchAlerts("user alerts", limit, func(a *engine.Alert) bool {
		for _, u := range users {
			if slices.Contains(a.Users, u) || slices.Contains(a.Blast.Users, u) {
				return true
			}
		}
		return false
	})
}

// matchAlerts returns up to limit (all when limit <= 0) alerts for which
// match is true, newest first.
func (db *DB) matchAlerts(what string, limit int, match func(a *engine.Alert) bool) ([]engine.Alert, error) {
	var out []engine.Alert
	err := db.view(what, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAlerts)
		if err != nil {
			return err
		}
		return scanTime(b, time.Time{}, time.Time{}, false, func(v []byte) (bool, error) {
			a, err := decodeAlert(v)
			if err != nil {
				return false, err
			}
			if match(&a) {
				out = append(out, a)
			}
			return limit <= 0 || len(out) < limit, nil
		})
	})
	return out, err
}
