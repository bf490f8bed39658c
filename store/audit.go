package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Audit actions the store writes itself.
const (
	ActionAlertRaised     = "alert.raised"
	ActionAlertUpdated    = "alert.updated"
	ActionDecisionCreated = "decision.created"
	ActionDecisionUpdated = "decision.updated"
	ActionDecisionRefused = "decision.refused"
	ActionPruned          = "retention.pruned"
)

// Audit actors the store writes itself.
const (
	// ActorEngine signs records written by Commit.
	ActorEngine = "engine"
	// ActorStore signs records written by retention.
	ActorStore = "store"
)

// AuditRecord is one link of the append-only audit chain. Hash covers every
// other field (see hashRecord), and Prev is the previous record's Hash, so
// editing, removing or reordering a record breaks the chain from there on.
type AuditRecord struct {
	// Seq is 1 for the first record and grows by one.
	Seq uint64 `json:"seq"`
	// Time is the audited fact's own time: an alert's or decision's event
	// time for engine records, so a replay writes the same chain.
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	// Detail is compact JSON (HTML-escaped as encoding/json does); empty
	// when there is none.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Prev is the hex SHA-256 of the previous record, "" for the first.
	Prev string `json:"prev"`
	// Hash is the hex SHA-256 of this record's canonical encoding.
	Hash string `json:"hash"`
}

// VerifyReport is the outcome of VerifyAudit.
type VerifyReport struct {
	// Records is how many records the audit bucket holds.
	Records uint64 `json:"records"`
	OK      bool   `json:"ok"`
	// FirstBroken is the sequence number of the first record that fails
	// verification (or is missing); 0 when OK.
	FirstBroken uint64 `json:"first_broken,omitempty"`
	// Reason says what is wrong with FirstBroken.
	Reason string `json:"reason,omitempty"`
}

// auditDomain separates audit hashes from any other SHA-256 use.
const auditDomain = "phantomsoc/audit/v1\x00"

// hashRecord returns the hex SHA-256 of r's canonical encoding: the domain
// tag, Seq as 8 big-endian bytes, then Time (RFC 3339 with nanoseconds, UTC),
// Actor, Action, Subject, Detail and Prev, each preceded by its length as 8
// big-endian bytes. Hash itself is not covered.
func hashRecord(r *AuditRecord) string {
	// One contiguous input on the stack: a hash object, string copies and
	// a hex string per record were most of the audit trail's allocations.
	var buf [512]byte
	b := append(buf[:0], auditDomain...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, 0) // the time's length, set below
	n := len(b)
	b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	binary.BigEndian.PutUint64(b[n-8:n], uint64(len(b)-n))
	b = appendHashField(b, r.Actor)
	b = appendHashField(b, r.Action)
	b = appendHashField(b, r.Subject)
	b = appendHashField(b, r.Detail)
	b = appendHashField(b, r.Prev)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendHashField appends f preceded by its length as 8 big-endian bytes.
func appendHashField[S ~string | ~[]byte](b []byte, f S) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
	return append(b, f...)
}

// canonicalDetail returns d in the form encoding/json stores a RawMessage
// (compact, HTML-escaped) so the hashed bytes are the bytes read back.
func canonicalDetail(d json.RawMessage) (json.RawMessage, error) {
	d = bytes.TrimSpace(d)
	if len(d) == 0 || string(d) == "null" {
		return nil, nil
	}
	if !json.Valid(d) {
		return nil, errors.New("detail is not valid JSON")
	}
	var c, e bytes.Buffer
	if err := json.Compact(&c, d); err != nil {
		return nil, err
	}
	json.HTMLEscape(&e, c.Bytes())
	return e.Bytes(), nil
}

// auditWriter appends records within one write transaction and writes the
// chain head to meta once, at flush.
type auditWriter struct {
	b, meta *bolt.Bucket
	seq     uint64
	prev    string
	dirty   bool
	js      jsonWriter
}

func newAuditWriter(tx *bolt.Tx) (*auditWriter, error) {
	b, err := bucket(tx, bucketAudit)
	if err != nil {
		return nil, err
	}
	meta, err := bucket(tx, bucketMeta)
	if err != nil {
		return nil, err
	}
	w := &auditWriter{b: b, meta: meta}
	if h := meta.Get([]byte(metaAuditHead)); h != nil {
		if len(h) != 8+sha256.Size {
			return nil, fmt.Errorf("%w: audit head is %d bytes", ErrCorrupt, len(h))
		}
		w.seq = binary.BigEndian.Uint64(h)
		w.prev = hex.EncodeToString(h[8:])
	}
	return w, nil
}

// add completes rec (Seq, Prev, Hash) and stores it.
func (w *auditWriter) add(rec AuditRecord) (AuditRecord, error) {
	d, err := canonicalDetail(rec.Detail)
	if err != nil {
		return rec, fmt.Errorf("audit %s %s: %w", rec.Action, rec.Subject, err)
	}
	rec.Detail = d
	return w.put(rec)
}

// addEngine stores the engine's record of subject. detail is JSON the
// store wrote itself, already in canonical form, so it skips the
// validation and re-encoding an analyst's detail needs; it is only read
// during the call.
func (w *auditWriter) addEngine(t time.Time, action, subject string, detail []byte) error {
	_, err := w.put(AuditRecord{Time: t, Actor: ActorEngine, Action: action, Subject: subject, Detail: detail})
	return err
}

// put completes rec, whose Detail is canonical, and stores it.
func (w *auditWriter) put(rec AuditRecord) (AuditRecord, error) {
	// The hash covers these strings as stored: JSON turns invalid UTF-8
	// into U+FFFD, so do it first or the record could never verify.
	rec.Actor = strings.ToValidUTF8(rec.Actor, "\uFFFD")
	rec.Action = strings.ToValidUTF8(rec.Action, "\uFFFD")
	rec.Subject = strings.ToValidUTF8(rec.Subject, "\uFFFD")
	rec.Time = rec.Time.UTC()
	rec.Seq = w.seq + 1
	rec.Prev = w.prev
	rec.Hash = hashRecord(&rec)
	w.js.startValue()
	w.js.auditRecord(&rec)
	v, ok := w.js.value()
	if !ok {
		var err error
		if v, err = encode(&rec); err != nil {
			return rec, fmt.Errorf("audit %s %s: %w", rec.Action, rec.Subject, err)
		}
	}
	if err := w.b.Put(u64(rec.Seq), v); err != nil {
		return rec, fmt.Errorf("audit %s %s: %w", rec.Action, rec.Subject, err)
	}
	w.seq, w.prev, w.dirty = rec.Seq, rec.Hash, true
	return rec, nil
}

func (w *auditWriter) flush() error {
	if !w.dirty {
		return nil
	}
	h, err := hex.DecodeString(w.prev)
	if err != nil {
		return err
	}
	return w.meta.Put([]byte(metaAuditHead), append(u64(w.seq), h...))
}

// AppendAudit appends rec to the audit chain in its own transaction and
// returns it completed (Seq, Prev, Hash). Actor and Action are required; a
// zero Time is the store's clock.
func (db *DB) AppendAudit(ctx context.Context, rec AuditRecord) (AuditRecord, error) {
	if rec.Actor == "" || rec.Action == "" {
		return rec, fmt.Errorf("append audit: actor and action are required (got %q, %q)", rec.Actor, rec.Action)
	}
	if err := ctx.Err(); err != nil {
		return rec, fmt.Errorf("append audit %s: %w", rec.Action, err)
	}
	if rec.Time.IsZero() {
		rec.Time = db.now()
	}
	var out AuditRecord
	err := db.update("append audit "+rec.Action, func(tx *bolt.Tx) error {
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		if out, err = w.add(rec); err != nil {
			return err
		}
		return w.flush()
	})
	return out, err
}

// AuditList returns up to limit records (all when limit <= 0) with Seq >=
// from, oldest first.
func (db *DB) AuditList(from uint64, limit int) ([]AuditRecord, error) {
	var out []AuditRecord
	err := db.view("list audit", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAudit)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(from)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			r, err := decodeAudit(v)
			if err != nil {
				return fmt.Errorf("record %x: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// VerifyAudit recomputes the whole chain and names the first record that
// is undecodable, out of sequence, missing, mislinked or whose hash does
// not match. A broken chain is a report with OK false, not an error; the
// error is for failing to read at all.
func (db *DB) VerifyAudit() (VerifyReport, error) {
	var rep VerifyReport
	err := db.view("verify audit", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAudit)
		if err != nil {
			return err
		}
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		rep = verifyChain(b.Cursor(), meta.Get([]byte(metaAuditHead)))
		return nil
	})
	return rep, err
}

func verifyChain(c *bolt.Cursor, head []byte) VerifyReport {
	var rep VerifyReport
	broken := func(seq uint64, format string, args ...any) {
		if rep.FirstBroken == 0 {
			rep.FirstBroken = seq
			rep.Reason = fmt.Sprintf(format, args...)
		}
	}
	want, prev := uint64(1), ""
	for k, v := c.First(); k != nil; k, v = c.Next() {
		rep.Records++
		if rep.FirstBroken != 0 {
			continue // count the rest; the chain is already broken
		}
		if len(k) != 8 {
			broken(want, "record %d: key is %d bytes, want 8", want, len(k))
			continue
		}
		seq := binary.BigEndian.Uint64(k)
		if seq != want {
			if seq > want {
				broken(want, "record %d is missing (next record is %d)", want, seq)
			} else {
				broken(want, "sequence gap: key %d after record %d", seq, want-1)
			}
			continue
		}
		r, err := decodeAudit(v)
		if err != nil {
			broken(seq, "record %d is undecodable: %v", seq, err)
			continue
		}
		switch {
		case r.Seq != seq:
			broken(seq, "record %d holds sequence %d (records reordered)", seq, r.Seq)
		case r.Prev != prev:
			broken(seq, "record %d links to %.12s…, previous record's hash is %.12s…", seq, r.Prev, prev)
		case hashRecord(&r) != r.Hash:
			broken(seq, "record %d hash mismatch: stored %.12s…, computed %.12s… (record altered)", seq, r.Hash, hashRecord(&r))
		}
		prev = r.Hash
		want++
	}
	if rep.FirstBroken == 0 {
		last := want - 1
		var headSeq uint64
		var headHash string
		if len(head) == 8+sha256.Size {
			headSeq, headHash = binary.BigEndian.Uint64(head), hex.EncodeToString(head[8:])
		} else if head != nil {
			broken(last+1, "audit head in meta is %d bytes", len(head))
		}
		switch {
		case rep.FirstBroken != 0:
		case headSeq > last:
			broken(last+1, "record %d is missing: the chain ends at %d but its head says %d (records removed from the end)", last+1, last, headSeq)
		case headSeq < last:
			broken(headSeq+1, "record %d is past the chain head %d (records appended outside the store)", headSeq+1, headSeq)
		case last > 0 && headHash != prev:
			broken(last, "record %d hash differs from the chain head (last record replaced)", last)
		}
	}
	rep.OK = rep.FirstBroken == 0
	return rep
}

// AuditTail returns the last n records, newest first.
func (db *DB) AuditTail(n int) ([]AuditRecord, error) {
	var out []AuditRecord
	err := db.view("audit tail", func(tx *bolt.Tx) error {
		b, err := bucket(tx, bucketAudit)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			r, err := decodeAudit(v)
			if err != nil {
				return fmt.Errorf("record %x: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
