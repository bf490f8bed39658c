package engine

import (
	"encoding/binary"
	"time"
)

// dedupBuckets is the number of buckets in the Deduper's table: a power of
// two. Each bucket is four slots, one cache line.
const dedupBuckets = 1 << 12

// Deduper folds identical events seen within a window of event time.
//
// It is a fixed table of recent event fingerprints indexed by hash: no map,
// no sweeps, no allocation after New, and constant memory. A fingerprint
// pushed out by a colliding one can let a duplicate through (it is then
// counted twice, as if dedup were off for it); two different events are
// folded only if their 64-bit fingerprints are equal.
type Deduper struct {
	window  time.Duration
	buckets []dedupBucket
}

// dedupBucket is four slots in one 64-byte cache line: a lookup misses the
// cache once, where two independent slots missed it twice.
type dedupBucket [4]dedupSlot

type dedupSlot struct {
	hash uint64
	at   int64 // event time, unix nanoseconds
}

// NewDeduper returns a Deduper; a window <= 0 disables folding.
func NewDeduper(window time.Duration) *Deduper {
	d := &Deduper{window: window}
	if window > 0 {
		d.buckets = make([]dedupBucket, dedupBuckets)
	}
	return d
}

// Duplicate reports whether ev repeats an event seen less than the window
// before it, and remembers ev otherwise.
func (d *Deduper) Duplicate(ev *Event) bool {
	if d.window <= 0 || ev.Time.IsZero() {
		return false
	}
	h := ev.Ident
	if h == 0 {
		h = Identity(ev)
	}
	t := ev.Time.UnixNano()
	b := &d.buckets[h&(dedupBuckets-1)]
	oldest := 0
	for i := range b {
		s := &b[i]
		if s.hash == h {
			if dt := t - s.at; dt >= 0 && dt < int64(d.window) {
				return true
			}
			s.at = t
			return false
		}
		if s.at < b[oldest].at {
			oldest = i
		}
	}
	// A new fingerprint takes the bucket's oldest slot, so a recent one is
	// rarely pushed out.
	b[oldest] = dedupSlot{hash: h, at: t}
	return false
}

// Identity hashes what makes two events "the same" for dedup: the same
// observation delivered twice (a file and a syslog relay), or
// byte-identical repeats that rsyslog would have folded into "message
// repeated". Time is deliberately not part of it; the window is. The hash
// is fixed rather than seeded — which fingerprints share a slot must not
// change between runs, or a replay would not be byte-identical — and works
// a word at a time on the fixed fields, since it runs for every event. It
// is never 0, which Event.Ident uses for "not computed".
func Identity(ev *Event) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, s := range [...]string{ev.Type, ev.Pattern, ev.User, ev.Host, ev.Signature} {
		h = hashString(h, s)
	}
	src, dst := ev.Source.As16(), ev.Dest.As16()
	for _, a := range [...]*[16]byte{&src, &dst} {
		h = mix(h ^ binary.LittleEndian.Uint64(a[:8]))
		h = mix(h ^ binary.LittleEndian.Uint64(a[8:]))
	}
	var fam uint64
	if ev.Source.Is4() {
		fam |= 1
	}
	if ev.Dest.Is4() {
		fam |= 2
	}
	h = mix(h ^ (uint64(ev.SourcePort) | uint64(ev.DestPort)<<16 | fam<<32))
	h = mix(h ^ uint64(ev.PID))
	return max(mix(h^uint64(ev.SignatureID)), 1)
}

// hashString folds s into h eight bytes at a time, the last one to eight
// of them in one load too (an 8-byte load that overlaps the word before,
// or for a short string two overlapping 4-byte loads or three bytes: each
// determines the bytes given the length). The length goes in after the
// last mix, so "ab"+"c" and "a"+"bc" differ. A byte loop over the tail was
// the most of the cost: the fields are short.
func hashString(h uint64, s string) uint64 {
	n := len(s)
	var w uint64
	switch {
	case n > 8:
		t := s
		for len(t) > 8 {
			h = mix(h ^ le64(t))
			t = t[8:]
		}
		w = le64(s[n-8:])
	case n == 8:
		w = le64(s)
	case n >= 4:
		w = uint64(le32(s)) | uint64(le32(s[n-4:]))<<32
	case n > 0:
		w = uint64(s[0]) | uint64(s[n/2])<<8 | uint64(s[n-1])<<16
	}
	return mix(h^w) ^ uint64(n)
}

// le64 and le32 read the first bytes of s little-endian; the compiler
// turns each into one load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// mix is a 64-bit finaliser (splitmix64's): every input bit moves every
// output bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
