package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phantomsoc/phantomsoc/engine"
)

// MaxSourceUsers bounds the user names kept per source.
const MaxSourceUsers = 8

// SourceSummary is the per-source indicator index entry.
type SourceSummary struct {
	// Source is the address; invalid when the source is an unresolved Host.
	Source netip.Addr `json:"source"`
	Host   string     `json:"host,omitempty"`
	// First and Last are event times of the first and last indicators.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Count is the number of indicator occurrences (Event.N).
	Count  uint64            `json:"count"`
	ByType map[string]uint64 `json:"by_type,omitempty"`
	// Users are the most recently named users, oldest first, at most
	// MaxSourceUsers.
	Users []string `json:"users,omitempty"`
}

func (s *SourceSummary) addUser(u string) {
	if u == "" || (len(s.Users) > 0 && s.Users[len(s.Users)-1] == u) {
		return // attack tools repeat a user many times in a row
	}
	if i := slices.Index(s.Users, u); i >= 0 {
		s.Users = slices.Delete(s.Users, i, i+1)
	}
	s.Users = append(s.Users, u)
	if n := len(s.Users) - MaxSourceUsers; n > 0 {
		s.Users = slices.Delete(s.Users, 0, n)
	}
}

func (s *SourceSummary) addEvent(ev *engine.Indicator) {
	n := uint64(ev.N())
	s.Count += n
	if s.ByType == nil {
		s.ByType = make(map[string]uint64, 4)
	}
	s.ByType[ev.Type] += n
	s.widen(ev.Time, ev.Time)
	s.addUser(ev.User)
}

func (s *SourceSummary) widen(first, last time.Time) {
	if !first.IsZero() && (s.First.IsZero() || first.Before(s.First)) {
		s.First = first
	}
	if last.After(s.Last) {
		s.Last = last
	}
}

// merge folds o (newer) into s.
func (s *SourceSummary) merge(o *SourceSummary) {
	s.Count += o.Count
	if s.ByType == nil {
		s.ByType = make(map[string]uint64, len(o.ByType))
	}
	for t, n := range o.ByType {
		s.ByType[t] += n
	}
	s.widen(o.First, o.Last)
	for _, u := range o.Users {
		s.addUser(u)
	}
}

type sourceAgg struct {
	key []byte
	sum *SourceSummary
}

// aggregateSources folds a commit's indicators into one summary per
// distinct source, sorted by key, so the transaction does one Put each (in
// key order, which bbolt likes).
func aggregateSources(evs []engine.Indicator) []sourceAgg {
	if len(evs) == 0 {
		return nil
	}
	// Indexed by the address's plain bytes: building the byte key for every
	// indicator, or hashing a netip.Addr (which holds a pointer), cost more
	// than the rest of the aggregation. Host names and zoned addresses are
	// rare and take the slow map.
	type addrID struct {
		a  [16]byte
		v4 bool
	}
	byAddr := make(map[addrID]int)
	var byName map[string]int
	var out []sourceAgg
	for i := range evs {
		ev := &evs[i]
		var host string
		if !ev.Source.IsValid() {
			if ev.SourceHost == "" {
				continue
			}
			host = ev.SourceHost
		}
		var j int
		var ok bool
		if host == "" && ev.Source.Zone() == "" {
			k := addrID{a: ev.Source.As16(), v4: ev.Source.Is4()}
			if j, ok = byAddr[k]; !ok {
				j = len(out)
				byAddr[k] = j
			}
		} else {
			if byName == nil {
				byName = make(map[string]int)
			}
			k := string(sourceKey(ev.Source, host))
			if j, ok = byName[k]; !ok {
				j = len(out)
				byName[k] = j
			}
		}
		if !ok {
			s := &SourceSummary{Source: ev.Source, Host: host}
			out = append(out, sourceAgg{key: sourceKey(ev.Source, host), sum: s})
		}
		out[j].sum.addEvent(ev)
	}
	slices.SortFunc(out, func(a, b sourceAgg) int { return bytes.Compare(a.key, b.key) })
	return out
}

// Commit writes c in one transaction: alerts, decisions, offenders,
// checkpoints, rejects (capped), the per-source index, stats, the ID
// sequence and an audit record per alert and decision. Either all of it
// lands or none.
func (db *DB) Commit(ctx context.Context, c *engine.Commit) error {
	if c == nil {
		return errors.New("commit: nil commit")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	srcs := aggregateSources(c.Indicators)
	return db.update("commit", func(tx *bolt.Tx) error {
		ar := &db.arena
		ar.reset()
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		w.js.arena = ar
		if err := db.putCheckpoints(tx, c.Checkpoints); err != nil {
			return err
		}
		alertAudits := make([]engineAudit, 0, len(c.Alerts))
		if err := putAlerts(tx, ar, &alertAudits, c.Alerts); err != nil {
			return err
		}
		decisionAudits := make([]engineAudit, 0, len(c.Decisions))
		if err := putDecisions(tx, ar, &decisionAudits, c.Decisions); err != nil {
			return err
		}
		if err := writeAudits(w, alertAudits, decisionAudits); err != nil {
			return err
		}
		if err := db.putRejects(tx, c.Rejects); err != nil {
			return err
		}
		if err := putSources(tx, srcs); err != nil {
			return err
		}
		if err := putMeta(tx, c.Stats, c.Seq); err != nil {
			return err
		}
		return w.flush()
	})
}

func (db *DB) putCheckpoints(tx *bolt.Tx, cps []engine.Checkpoint) error {
	if len(cps) == 0 {
		return nil
	}
	b, err := bucket(tx, bucketCheckpoints)
	if err != nil {
		return err
	}
	for i := range cps {
		cp := &cps[i]
		if cp.Origin == "" {
			return errors.New("checkpoint: empty origin")
		}
		v, err := encode(cp)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", cp.Origin, err)
		}
		if err := b.Put([]byte(cp.Origin), v); err != nil {
			return fmt.Errorf("checkpoint %s: %w", cp.Origin, err)
		}
	}
	return nil
}

// putEntity stores val under a time-ordered key and indexes id → key,
// moving the entry when a re-committed entity's time changed. existed
// reports whether id was already stored.
func putEntity(b, ids *bolt.Bucket, id string, t time.Time, val []byte) (existed bool, err error) {
	if id == "" {
		return false, errors.New("empty ID")
	}
	old := ids.Get([]byte(id))
	seq, ok := idSeq(id)
	if !ok {
		if seq, err = b.NextSequence(); err != nil {
			return false, err
		}
	}
	key := entityKey(t, seq)
	if old == nil || !bytes.Equal(old, key) {
		if b.Get(key) != nil {
			// Another ID maps to the same time and number ("x-1", "y-1"):
			// keep both with a bucket-unique sequence in the high half.
			n, err := b.NextSequence()
			if err != nil {
				return false, err
			}
			binary.BigEndian.PutUint64(key[8:], n|1<<63)
		}
	}
	if old != nil && !bytes.Equal(old, key) {
		if err := b.Delete(old); err != nil {
			return false, err
		}
	}
	if err := b.Put(key, val); err != nil {
		return false, err
	}
	if old == nil || !bytes.Equal(old, key) {
		if err := ids.Put([]byte(id), key); err != nil {
			return false, err
		}
	}
	return old != nil, nil
}

func putAlerts(tx *bolt.Tx, ar *valueArena, audits *[]engineAudit, alerts []engine.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	b, err := bucket(tx, bucketAlerts)
	if err != nil {
		return err
	}
	ids, err := bucket(tx, bucketAlertIDs)
	if err != nil {
		return err
	}
	js := jsonWriter{arena: ar}
	for i := range alerts {
		a := &alerts[i]
		js.startValue()
		js.storedAlert(a)
		v, ok := js.value()
		if !ok {
			if v, err = encode(storedAlert(a)); err != nil {
				return fmt.Errorf("alert %s: %w", a.ID, err)
			}
		}
		existed, err := putEntity(b, ids, a.ID, a.Time, v)
		if err != nil {
			return fmt.Errorf("alert %q: %w", a.ID, err)
		}
		// The detail's values are all in the alert just encoded, so
		// encoding/json would take them too.
		js.reset()
		js.alertDetail(a)
		action := ActionAlertRaised
		if existed {
			action = ActionAlertUpdated
		}
		*audits = append(*audits, engineAudit{time: a.Time, action: action, subject: a.ID, detail: ar.copy(js.b)})
	}
	return nil
}

func putDecisions(tx *bolt.Tx, ar *valueArena, audits *[]engineAudit, ds []engine.Decision) error {
	if len(ds) == 0 {
		return nil
	}
	b, err := bucket(tx, bucketDecisions)
	if err != nil {
		return err
	}
	ids, err := bucket(tx, bucketDecisionIDs)
	if err != nil {
		return err
	}
	offs, err := bucket(tx, bucketOffenders)
	if err != nil {
		return err
	}
	js := jsonWriter{arena: ar}
	for i := range ds {
		d := &ds[i]
		refused := d.State == engine.StateRefused
		if !refused && !d.Target.IsValid() {
			return fmt.Errorf("decision %q: invalid target", d.ID)
		}
		js.startValue()
		js.decision(d)
		v, ok := js.value()
		if !ok {
			if v, err = encode(d); err != nil {
				return fmt.Errorf("decision %s: %w", d.ID, err)
			}
		}
		existed, err := putEntity(b, ids, d.ID, d.Time, v)
		if err != nil {
			return fmt.Errorf("decision %q: %w", d.ID, err)
		}
		if !refused {
			if err := putOffender(offs, &js, d); err != nil {
				return fmt.Errorf("decision %s: offender %s: %w", d.ID, d.TargetString(), err)
			}
		}
		action := ActionDecisionCreated
		switch {
		case refused:
			action = ActionDecisionRefused
		case existed:
			action = ActionDecisionUpdated
		}
		// The whole decision is small: the audit record carries all of it,
		// as stored.
		*audits = append(*audits, engineAudit{time: d.Time, action: action, subject: d.ID, detail: v[1:], alertID: d.AlertID})
	}
	return nil
}

// engineAudit is the audit record of an alert or decision a commit wrote.
type engineAudit struct {
	time            time.Time
	action, subject string
	detail          []byte
	// alertID is a decision's alert.
	alertID string
}

// writeAudits chains a commit's records in event order — each alert, then
// its decisions — so the trail of a replay is the same however its
// commits were grouped. Decisions whose alert is not in the commit follow.
func writeAudits(w *auditWriter, alerts, decisions []engineAudit) error {
	done := make([]bool, len(decisions))
	put := func(a *engineAudit) error { return w.addEngine(a.time, a.action, a.subject, a.detail) }
	next := 0 // decisions come in their alerts' order: scan forward
	for i := range alerts {
		if err := put(&alerts[i]); err != nil {
			return err
		}
		for j := next; j < len(decisions); j++ {
			if !done[j] && decisions[j].alertID == alerts[i].subject {
				if err := put(&decisions[j]); err != nil {
					return err
				}
				done[j] = true
				if j == next {
					next++
				}
			}
		}
	}
	for j := range decisions {
		if !done[j] {
			if err := put(&decisions[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// storedAlert is a with its evidence cut to what an analyst reads back —
// the raw line and where it came from, plus the fields listings filter on.
// The rest is parsed from the raw line again on demand and, kept, made an
// alert span two bbolt pages instead of one.
func storedAlert(a *engine.Alert) *engine.Alert {
	if len(a.Evidence) == 0 {
		return a
	}
	c := *a
	c.Evidence = make([]engine.Event, len(a.Evidence))
	for i, ev := range a.Evidence {
		c.Evidence[i] = engine.Event{
			Time: ev.Time, Type: ev.Type, Indicator: ev.Indicator, Source: ev.Source, SourceHost: ev.SourceHost,
			Host: ev.Host, User: ev.User, Signature: ev.Signature, Severity: ev.Severity,
			Origin: ev.Origin, Line: ev.Line, Raw: ev.Raw, Count: ev.Count,
		}
	}
	return &c
}

// putOffender records d as the target's latest offense unless the stored
// one is newer (commits replayed out of order).
func putOffender(b *bolt.Bucket, js *jsonWriter, d *engine.Decision) error {
	k := offenderKey(d.Target)
	if v := b.Get(k); v != nil {
		var old engine.Offender
		if err := decode("offender", v, &old); err == nil && old.Last.After(d.Time) && old.Count >= d.Offense {
			return nil
		}
	}
	// Its times were just encoded with the decision, so encoding/json would
	// take them too.
	js.startValue()
	js.offender(&engine.Offender{Target: d.Target.Masked(), Count: d.Offense, Last: d.Time, Expires: d.Expires})
	v, _ := js.value()
	return b.Put(k, v)
}

func (db *DB) putRejects(tx *bolt.Tx, rs []engine.Reject) error {
	if len(rs) == 0 {
		return nil
	}
	b, err := bucket(tx, bucketRejects)
	if err != nil {
		return err
	}
	var last uint64
	for i := range rs {
		r := rs[i]
		if len(r.Raw) > engine.RejectRawMax {
			r.Raw = r.Raw[:engine.RejectRawMax]
		}
		v, err := encode(&r)
		if err != nil {
			return fmt.Errorf("reject %s:%d: %w", r.Origin, r.Line, err)
		}
		if last, err = b.NextSequence(); err != nil {
			return err
		}
		if err := b.Put(u64(last), v); err != nil {
			return fmt.Errorf("reject %s:%d: %w", r.Origin, r.Line, err)
		}
	}
	if last <= uint64(db.maxRejects) {
		return nil
	}
	// Keys are the bucket's own sequence, so everything at or below
	// last-max is older than the newest max.
	cut := u64(last - uint64(db.maxRejects) + 1)
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, cut) < 0; k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("cap rejects: %w", err)
		}
	}
	return nil
}

func putSources(tx *bolt.Tx, srcs []sourceAgg) error {
	if len(srcs) == 0 {
		return nil
	}
	b, err := bucket(tx, bucketSources)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		sum := s.sum
		if v := b.Get(s.key); v != nil {
			old, err := decodeSource(v)
			if err != nil {
				return fmt.Errorf("source %x: %w", s.key, err)
			}
			old.merge(sum)
			sum = &old
		}
		if err := b.Put(s.key, encodeSource(sum)); err != nil {
			return fmt.Errorf("source %x: %w", s.key, err)
		}
	}
	return nil
}

func putMeta(tx *bolt.Tx, st engine.Stats, seq uint64) error {
	meta, err := bucket(tx, bucketMeta)
	if err != nil {
		return err
	}
	if st != (engine.Stats{}) {
		var cur engine.Stats
		if v := meta.Get([]byte(metaStats)); v != nil {
			if err := decode("stats", v, &cur); err != nil {
				return err
			}
		}
		cur.Add(st)
		v, err := encode(&cur)
		if err != nil {
			return err
		}
		if err := meta.Put([]byte(metaStats), v); err != nil {
			return err
		}
	}
	if v := meta.Get([]byte(metaSeq)); len(v) != 8 || binary.BigEndian.Uint64(v) < seq {
		if err := meta.Put([]byte(metaSeq), u64(seq)); err != nil {
			return err
		}
	}
	return nil
}
