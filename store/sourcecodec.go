package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// schemaSourceBin marks a source summary in the compact binary form. The
// per-source index is rewritten for every source a commit touches, so its
// encoding is on the replay's hot path; JSON (schemaV1) summaries written
// earlier still decode.
const schemaSourceBin byte = 2

// encodeSource renders s as: schema byte, address length (0, 4 or 16) and
// bytes, host, first and last (unix nanoseconds), count, the by-type counts
// in key order, and the users — strings and counts as uvarints.
func encodeSource(s *SourceSummary) []byte {
	b := make([]byte, 0, 64+len(s.Host)+16*len(s.ByType)+12*len(s.Users))
	b = append(b, schemaSourceBin)
	switch {
	case !s.Source.IsValid():
		b = append(b, 0)
	case s.Source.Is4():
		a := s.Source.As4()
		b = append(b, 4)
		b = append(b, a[:]...)
	default:
		a := s.Source.As16()
		b = append(b, 16)
		b = append(b, a[:]...)
	}
	b = appendString(b, s.Host)
	b = binary.AppendVarint(b, unixNanos(s.First))
	b = binary.AppendVarint(b, unixNanos(s.Last))
	b = binary.AppendUvarint(b, s.Count)
	types := make([]string, 0, len(s.ByType))
	for t := range s.ByType {
		types = append(types, t)
	}
	slices.Sort(types)
	b = binary.AppendUvarint(b, uint64(len(types)))
	for _, t := range types {
		b = appendString(b, t)
		b = binary.AppendUvarint(b, s.ByType[t])
	}
	b = binary.AppendUvarint(b, uint64(len(s.Users)))
	for _, u := range s.Users {
		b = appendString(b, u)
	}
	return b
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShort = errors.New("truncated")

// binReader reads the fields encodeSource wrote, remembering the first
// error.
type binReader struct {
	b   []byte
	err error
}

func (r *binReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *binReader) string() string { return string(r.bytes(r.uvarint())) }

// count reads a collection length, refusing lengths the remaining bytes
// cannot hold (so garbage cannot make us allocate gigabytes).
func (r *binReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errShort
		return 0
	}
	return int(n)
}

func decodeSourceBin(val []byte) (SourceSummary, error) {
	var s SourceSummary
	r := &binReader{b: val[1:]}
	switch n := r.uvarint(); n {
	case 0:
	case 4, 16:
		a, ok := netip.AddrFromSlice(r.bytes(n))
		if r.err == nil && !ok {
			r.err = errors.New("bad address")
		}
		s.Source = a
	default:
		r.err = fmt.Errorf("address length %d", n)
	}
	s.Host = r.string()
	s.First = fromNanos(r.varint())
	s.Last = fromNanos(r.varint())
	s.Count = r.uvarint()
	if n := r.count(); n > 0 {
		s.ByType = make(map[string]uint64, n)
		for range n {
			t := r.string()
			s.ByType[t] = r.uvarint()
		}
	}
	if n := r.count(); n > 0 {
		s.Users = make([]string, 0, n)
		for range n {
			s.Users = append(s.Users, r.string())
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return SourceSummary{}, fmt.Errorf("decode source summary: %w: %v", ErrSchema, r.err)
	}
	return s, nil
}
