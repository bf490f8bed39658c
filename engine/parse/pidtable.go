package parse

import (
	"strings"
	"time"
)

// Bounds of the sshd pid → peer table: memory stays flat however many
// connections a stream carries.
const (
	pidTableMax = 65536
	pidTableTTL = time.Hour
	// pidAttribution is how close to the line that named the peer a later
	// line of the same pid must be to be attributed to it. sshd drops a
	// connection that has not authenticated within LoginGraceTime (2
	// minutes by default); an older entry belongs to a connection that is
	// gone, and the pid may have been reused.
	pidAttribution = 10 * time.Minute
)

type pidKey struct {
	host string
	pid  int
}

type pidEntry struct {
	key  pidKey // its host is cloned: keys must not pin input lines
	peer peer
	when time.Time
}

// pidTable remembers, per (host, pid), the last peer an sshd line named, so
// lines that name none ("Disconnecting: Too many authentication failures",
// "input_userauth_request: invalid user") can be attributed. Entries are
// evicted in insertion order once the table is full or their line time is
// older than the TTL relative to the newest line.
type pidTable struct {
	m     map[pidKey]*pidEntry
	order []pidKey // FIFO of inserted keys; the live part starts at head
	head  int
	max   int
	ttl   time.Duration
	// last is the entry the previous line touched: consecutive lines of
	// one connection skip the map.
	last *pidEntry
	// lastHost is the most recent cloned host name; a stream has few.
	lastHost string
	// spare holds entries of closed or evicted connections for reuse:
	// a busy stream opens one connection every few lines.
	spare []*pidEntry
}

func (t *pidTable) init(max int, ttl time.Duration) {
	*t = pidTable{m: make(map[pidKey]*pidEntry), max: max, ttl: ttl}
}

func (t *pidTable) lookup(host string, pid int) *pidEntry {
	if e := t.last; e != nil && e.key.pid == pid && e.key.host == host {
		return e
	}
	e := t.m[pidKey{host, pid}]
	if e != nil {
		t.last = e
	}
	return e
}

// get returns the peer of (host, pid) when a line at now may be attributed
// to it (see pidAttribution). A zero now (a line without a timestamp)
// skips the age check.
func (t *pidTable) get(host string, pid int, now time.Time) (peer, bool) {
	if pid == 0 {
		return peer{}, false
	}
	e := t.lookup(host, pid)
	if e == nil {
		return peer{}, false
	}
	if !now.IsZero() && !e.when.IsZero() {
		if age := now.Sub(e.when); age > pidAttribution || age < -pidAttribution {
			return peer{}, false
		}
	}
	return e.peer, true
}

func (t *pidTable) del(host string, pid int) {
	if pid == 0 {
		return
	}
	if e := t.lookup(host, pid); e != nil {
		delete(t.m, e.key)
		t.last = nil
		t.release(e)
	}
}

// put records pr for (host, pid). A host name never replaces a known
// address for the same pid.
func (t *pidTable) put(host string, pid int, pr peer, when time.Time) {
	if pid == 0 || !pr.valid() {
		return
	}
	if e := t.lookup(host, pid); e != nil {
		e.when = when
		if pr.addr.IsValid() || !e.peer.addr.IsValid() {
			if pr.host != "" && pr.host != e.peer.host {
				pr.host = strings.Clone(pr.host)
			}
			e.peer = pr
		}
		return
	}
	if host != t.lastHost {
		t.lastHost = strings.Clone(host)
	}
	if pr.host != "" {
		pr.host = strings.Clone(pr.host)
	}
	var e *pidEntry
	if n := len(t.spare); n > 0 {
		e, t.spare = t.spare[n-1], t.spare[:n-1]
	} else {
		e = new(pidEntry)
	}
	*e = pidEntry{key: pidKey{t.lastHost, pid}, peer: pr, when: when}
	t.m[e.key] = e
	t.last = e
	t.order = append(t.order, e.key)
	t.evict(when)
}

// release keeps e, no longer in the table, for a later put.
func (t *pidTable) release(e *pidEntry) {
	*e = pidEntry{}
	if len(t.spare) < 1024 {
		t.spare = append(t.spare, e)
	}
}

// evict drops entries from the head of the FIFO while the table is over its
// size bound or the head entry is older than the TTL. A refreshed head entry
// is not stale, so it holds back TTL eviction behind it; the size bound
// still holds.
func (t *pidTable) evict(now time.Time) {
	for t.head < len(t.order) {
		k := t.order[t.head]
		e, ok := t.m[k]
		if !ok {
			t.head++ // deleted by a close line
			continue
		}
		over := len(t.m) > t.max
		stale := !now.IsZero() && !e.when.IsZero() && now.Sub(e.when) > t.ttl
		if !over && !stale {
			break
		}
		t.head++
		delete(t.m, k)
		if t.last == e {
			t.last = nil
		}
		t.release(e)
	}
	switch {
	case len(t.order)-t.head > 2*t.max:
		// Closed connections leave dead keys behind a long-lived head;
		// keep only live, distinct ones.
		live := t.order[:0]
		seen := make(map[pidKey]struct{}, len(t.m))
		for _, k := range t.order[t.head:] {
			if _, ok := t.m[k]; !ok {
				continue
			}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			live = append(live, k)
		}
		clear(t.order[len(live):])
		t.order = live
		t.head = 0
	case t.head > 1024 && t.head*2 > len(t.order):
		n := copy(t.order, t.order[t.head:])
		clear(t.order[n:])
		t.order = t.order[:n]
		t.head = 0
	}
}
