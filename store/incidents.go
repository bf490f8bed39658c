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
// incidents open, so the keys are time-ordered. Since schema 7 the value
// holds everything but the lists, which are in bucketIncidentMembers.
const bucketIncidents = "incidents"

// bucketIncidentMembers holds the incidents' lists, one key per item: the
// incident's key, a list byte and the item's 4-byte big-endian position.
// An alert joining an incident is then one small Put, however many alerts
// the incident already holds.
const bucketIncidentMembers = "incident_members"

// The lists in bucketIncidentMembers, by their key byte.
const (
	listAlerts    byte = 'a'
	listDecisions byte = 'd'
	listSources   byte = 's'
	listAssets    byte = 't'
	listCampaigns byte = 'c'
	listHistory   byte = 'h'
)

// memberKeyLen is an incident key, a list byte and a position.
const memberKeyLen = 8 + 1 + 4

// migrateV6 adds the incidents.
func migrateV6(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketIncidents)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketIncidents, err)
	}
	return nil
}

// migrateV7 moves the incidents' lists out of their values into
// bucketIncidentMembers.
func migrateV7(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketIncidentMembers)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketIncidentMembers, err)
	}
	b, err := bucket(tx, bucketIncidents)
	if err != nil {
		return err
	}
	var incs []engine.Incident
	err = b.ForEach(func(k, v []byte) error {
		var inc engine.Incident
		if err := decode("incident", v, &inc); err != nil {
			return fmt.Errorf("incident %x: %w", k, err)
		}
		incs = append(incs, inc)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range incs {
		if err := putIncident(tx, &incs[i], false); err != nil {
			return err
		}
	}
	return nil
}

// putIncident writes inc: its value without the lists, and the lists.
// grown says the lists are the stored ones with items appended, so only
// the items past the stored lengths are written; otherwise, or when a
// list is shorter than stored, every list is rewritten.
func putIncident(tx *bolt.Tx, inc *engine.Incident, grown bool) error {
	k, err := incidentKey(inc.ID)
	if err != nil {
		return err
	}
	b, err := bucket(tx, bucketIncidents)
	if err != nil {
		return err
	}
	mb, err := bucket(tx, bucketIncidentMembers)
	if err != nil {
		return err
	}
	head := *inc
	head.Alerts, head.Decisions, head.Sources, head.Assets, head.Campaigns, head.History = nil, nil, nil, nil, nil, nil
	v, err := encode(&head)
	if err != nil {
		return fmt.Errorf("incident %s: %w", inc.ID, err)
	}
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("incident %s: %w", inc.ID, err)
	}
	lists := [...]struct {
		list  byte
		items []string
	}{{listAlerts, inc.Alerts}, {listDecisions, inc.Decisions}, {listSources, inc.Sources}, {listAssets, inc.Assets}, {listCampaigns, inc.Campaigns}}
	c := mb.Cursor()
	var stored [len(lists) + 1]int
	if grown {
		for i, l := range lists {
			stored[i] = storedLen(c, k, l.list)
			grown = grown && len(l.items) >= stored[i]
		}
		stored[len(lists)] = storedLen(c, k, listHistory)
		grown = grown && len(inc.History) >= stored[len(lists)]
	}
	if !grown {
		if err := deleteMembers(c, k); err != nil {
			return fmt.Errorf("incident %s: %w", inc.ID, err)
		}
		stored = [len(lists) + 1]int{}
	}
	for i, l := range lists {
		for j := stored[i]; j < len(l.items); j++ {
			if err := mb.Put(memberKey(k, l.list, j), []byte(l.items[j])); err != nil {
				return fmt.Errorf("incident %s: %w", inc.ID, err)
			}
		}
	}
	for j := stored[len(lists)]; j < len(inc.History); j++ {
		v, err := encode(&inc.History[j])
		if err != nil {
			return fmt.Errorf("incident %s: history %d: %w", inc.ID, j, err)
		}
		if err := mb.Put(memberKey(k, listHistory, j), v); err != nil {
			return fmt.Errorf("incident %s: %w", inc.ID, err)
		}
	}
	return nil
}

func memberKey(inc []byte, list byte, pos int) []byte {
	k := make([]byte, memberKeyLen)
	copy(k, inc)
	k[8] = list
	binary.BigEndian.PutUint32(k[9:], uint32(pos))
	return k
}

// storedLen returns how many items incident k's list holds: positions run
// from 0 without gaps, so it is one past the last one's.
func storedLen(c *bolt.Cursor, k []byte, list byte) int {
	last, _ := c.Seek(append(slices.Clip(k), list+1))
	if last == nil {
		last, _ = c.Last()
	} else {
		last, _ = c.Prev()
	}
	if len(last) != memberKeyLen || !bytes.Equal(last[:8], k) || last[8] != list {
		return 0
	}
	return int(binary.BigEndian.Uint32(last[9:])) + 1
}

// deleteMembers deletes every list item of incident k.
func deleteMembers(c *bolt.Cursor, k []byte) error {
	for key, _ := c.Seek(k); key != nil && bytes.HasPrefix(key, k); key, _ = c.Seek(k) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// readIncident decodes the incident stored under k as v, with its lists.
// Alerts, Decisions, Sources and Assets are never nil, so they print as
// [] rather than null.
func readIncident(tx *bolt.Tx, k, v []byte) (engine.Incident, error) {
	var inc engine.Incident
	if err := decode("incident", v, &inc); err != nil {
		return inc, fmt.Errorf("incident %x: %w", k, err)
	}
	mb, err := bucket(tx, bucketIncidentMembers)
	if err != nil {
		return inc, err
	}
	inc.Alerts, inc.Decisions, inc.Sources, inc.Assets = []string{}, []string{}, []string{}, []string{}
	c := mb.Cursor()
	for key, val := c.Seek(k); key != nil && bytes.HasPrefix(key, k); key, val = c.Next() {
		if len(key) != memberKeyLen {
			return inc, fmt.Errorf("incident %s: %w: member key %x", inc.ID, ErrCorrupt, key)
		}
		switch key[8] {
		case listAlerts:
			inc.Alerts = append(inc.Alerts, string(val))
		case listDecisions:
			inc.Decisions = append(inc.Decisions, string(val))
		case listSources:
			inc.Sources = append(inc.Sources, string(val))
		case listAssets:
			inc.Assets = append(inc.Assets, string(val))
		case listCampaigns:
			inc.Campaigns = append(inc.Campaigns, string(val))
		case listHistory:
			var h engine.IncidentEntry
			if err := decode("incident history", val, &h); err != nil {
				return inc, fmt.Errorf("incident %s: %w", inc.ID, err)
			}
			inc.History = append(inc.History, h)
		default:
			return inc, fmt.Errorf("incident %s: %w: member key %x", inc.ID, ErrCorrupt, key)
		}
	}
	return inc, nil
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
			inc, err := readIncident(tx, k, v)
			if err != nil {
				return err
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
		inc, err = readIncident(tx, k, v)
		return err
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
			inc, err := readIncident(tx, k, v)
			if err != nil {
				return err
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
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		for i := range ch.Incidents {
			inc := &ch.Incidents[i]
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
			if err := putIncident(tx, inc, ch.Grown[inc.ID]); err != nil {
				return err
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
