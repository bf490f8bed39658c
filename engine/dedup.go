package engine

import (
	"hash/maphash"
	"time"
)

// Deduper folds identical events seen within a window of event time. Memory
// is bounded by the number of distinct events inside one window.
type Deduper struct {
	window time.Duration
	seed   maphash.Seed
	// seen maps an event's identity hash to when it was last seen. A
	// 64-bit hash collision would fold two different events once in about
	// 2^64 pairs; hashing beats a struct of five strings as a map key.
	seen map[uint64]time.Time
	// sweepAt is the event time of the next sweep of stale keys.
	sweepAt time.Time
}

// NewDeduper returns a Deduper; a window <= 0 disables folding.
func NewDeduper(window time.Duration) *Deduper {
	return &Deduper{window: window, seed: maphash.MakeSeed(), seen: make(map[uint64]time.Time)}
}

// Duplicate reports whether ev repeats an event seen less than the window
// before it, and remembers ev otherwise.
func (d *Deduper) Duplicate(ev *Event) bool {
	if d.window <= 0 || ev.Time.IsZero() {
		return false
	}
	k := d.identity(ev)
	if last, ok := d.seen[k]; ok {
		if dt := ev.Time.Sub(last); dt >= 0 && dt < d.window {
			return true
		}
	}
	d.seen[k] = ev.Time
	// A small map is cheaper to keep than to walk: sweep only past
	// dedupSweepMin entries, at most once per window of event time.
	if len(d.seen) > dedupSweepMin && ev.Time.After(d.sweepAt) {
		d.sweep(ev.Time)
	}
	return false
}

// dedupSweepMin is the map size below which stale entries are left alone.
const dedupSweepMin = 4096

// identity hashes what makes two events "the same": the same observation
// delivered twice (a file and a syslog relay), or byte-identical repeats that
// rsyslog would have folded into "message repeated". Time is deliberately not
// part of it; the window is.
func (d *Deduper) identity(ev *Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, s := range [...]string{ev.Type, ev.User, ev.Host, ev.Pattern, ev.Signature} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	src, dst := ev.Source.As16(), ev.Dest.As16()
	h.Write(src[:])
	h.Write(dst[:])
	var b [22]byte
	b[0], b[1] = byte(ev.SourcePort>>8), byte(ev.SourcePort)
	b[2], b[3] = byte(ev.DestPort>>8), byte(ev.DestPort)
	for i := range 8 {
		b[4+i] = byte(uint64(ev.PID) >> (8 * i))
		b[12+i] = byte(uint64(ev.SignatureID) >> (8 * i))
	}
	if ev.Source.Is4() {
		b[20] = 4
	}
	if ev.Dest.Is4() {
		b[21] = 4
	}
	h.Write(b[:])
	return h.Sum64()
}

func (d *Deduper) sweep(now time.Time) {
	if len(d.seen) > 4*dedupSweepMin {
		// A fresh map after a burst, because Go maps never shrink: every
		// later sweep would walk the burst's empty buckets.
		live := make(map[uint64]time.Time, dedupSweepMin)
		for k, t := range d.seen {
			if now.Sub(t) < d.window {
				live[k] = t
			}
		}
		d.seen = live
	} else {
		for k, t := range d.seen {
			if now.Sub(t) >= d.window {
				delete(d.seen, k)
			}
		}
	}
	d.sweepAt = now.Add(d.window)
}

// Len is the number of remembered events.
func (d *Deduper) Len() int { return len(d.seen) }
