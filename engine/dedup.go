package engine

import (
	"net/netip"
	"time"
)

// dedupKey is what makes two events "the same": the same observation
// delivered twice (a file and a syslog relay), or byte-identical repeats that
// rsyslog would have folded into "message repeated". Time is deliberately not
// part of it; the window is.
type dedupKey struct {
	typ, user, host, pattern, signature string
	source, dest                        netip.Addr
	sourcePort, destPort                uint16
	pid                                 int
	signatureID                         int64
}

// Deduper folds identical events seen within a window of event time. Memory
// is bounded by the number of distinct events inside one window.
type Deduper struct {
	window time.Duration
	seen   map[dedupKey]time.Time
	// sweepAt is the event time of the next sweep of stale keys.
	sweepAt time.Time
}

// NewDeduper returns a Deduper; a window <= 0 disables folding.
func NewDeduper(window time.Duration) *Deduper {
	return &Deduper{window: window, seen: make(map[dedupKey]time.Time)}
}

// Duplicate reports whether ev repeats an event seen less than the window
// before it, and remembers ev otherwise.
func (d *Deduper) Duplicate(ev *Event) bool {
	if d.window <= 0 || ev.Time.IsZero() {
		return false
	}
	k := dedupKey{
		typ: ev.Type, user: ev.User, host: ev.Host, pattern: ev.Pattern, signature: ev.Signature,
		source: ev.Source, dest: ev.Dest, sourcePort: ev.SourcePort, destPort: ev.DestPort,
		pid: ev.PID, signatureID: ev.SignatureID,
	}
	if last, ok := d.seen[k]; ok {
		if dt := ev.Time.Sub(last); dt >= 0 && dt < d.window {
			return true
		}
	}
	d.seen[k] = ev.Time
	if ev.Time.After(d.sweepAt) {
		d.sweep(ev.Time)
	}
	return false
}

func (d *Deduper) sweep(now time.Time) {
	for k, t := range d.seen {
		if now.Sub(t) >= d.window {
			delete(d.seen, k)
		}
	}
	d.sweepAt = now.Add(d.window)
}

// Len is the number of remembered events.
func (d *Deduper) Len() int { return len(d.seen) }
