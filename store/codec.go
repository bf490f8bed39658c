package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// schemaV1 is the first byte of every schema-prefixed value: JSON follows.
const schemaV1 byte = 1

// encode returns the schema byte followed by v as JSON.
func encode(v any) ([]byte, error) {
	// Encoding straight after the schema byte saves copying every value.
	var buf bytes.Buffer
	buf.WriteByte(schemaV1)
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// decode checks the schema byte and unmarshals the JSON after it into v.
func decode(what string, val []byte, v any) error {
	if len(val) == 0 {
		return fmt.Errorf("decode %s: %w: empty value", what, ErrSchema)
	}
	if val[0] != schemaV1 {
		return fmt.Errorf("decode %s: %w: unknown schema byte %#02x (this binary knows %#02x)", what, ErrSchema, val[0], schemaV1)
	}
	if err := json.Unmarshal(val[1:], v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

func decodeAlert(val []byte) (engine.Alert, error) {
	var a engine.Alert
	err := decode("alert", val, &a)
	return a, err
}

func decodeDecision(val []byte) (engine.Decision, error) {
	var d engine.Decision
	err := decode("decision", val, &d)
	return d, err
}

func decodeSource(val []byte) (SourceSummary, error) {
	if len(val) > 0 && val[0] == schemaSourceBin {
		return decodeSourceBin(val)
	}
	var s SourceSummary
	err := decode("source summary", val, &s)
	return s, err
}

func decodeAudit(val []byte) (AuditRecord, error) {
	var r AuditRecord
	err := decode("audit record", val, &r)
	return r, err
}

// timeKey renders t as 8 bytes of big-endian unix nanoseconds. Times before
// the epoch (and the zero time) sort first as 0: event times that old are
// bogus anyway, and the key only orders; the value keeps the real time.
func timeKey(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	n := t.UnixNano()
	if n < 0 { // past 2262: UnixNano overflowed
		return 1<<63 - 1
	}
	return uint64(n)
}

// entityKey is the sortable key of an alert or a decision: event time, then
// the ID's sequence so same-nanosecond entities keep their order.
func entityKey(t time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, timeKey(t))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// idSeq parses the trailing decimal number of an engine ID ("al-00000042"
// → 42). ok is false when the ID ends in no number.
func idSeq(id string) (seq uint64, ok bool) {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	if i == len(id) {
		return 0, false
	}
	n, err := strconv.ParseUint(id[i:], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// sourceKey keys the per-source index: a kind byte ('4', '6' or 'h' for an
// unresolved host name) and the address bytes or the name, so an IPv4
// address and a 4-byte host name never collide.
func sourceKey(addr netip.Addr, host string) []byte {
	switch {
	case addr.Is4():
		a := addr.As4()
		return append([]byte{'4'}, a[:]...)
	case addr.IsValid():
		a := addr.As16()
		k := append([]byte{'6'}, a[:]...)
		if z := addr.Zone(); z != "" {
			k = append(append(k, '%'), z...)
		}
		return k
	case host != "":
		return append([]byte{'h'}, host...)
	}
	return nil
}

// offenderKey keys the offender bucket by the canonical target prefix text.
func offenderKey(p netip.Prefix) []byte {
	return []byte(p.Masked().String())
}
