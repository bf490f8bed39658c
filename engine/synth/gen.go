package synth

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
)

// Random stream salts: every class draws from its own stream so tuning one
// class leaves the others' output unchanged.
const (
	saltAlloc uint64 = 0x5eed0001 + iota
	saltFast
	saltSlow
	saltDistributed
	saltEnumeration
	saltScanner
	saltCompromise
	saltLegit
	saltNoise
	saltWrite
)

// class is the compact form of Class kept in every connection; 0 is noise.
type class uint8

const (
	clNoise class = iota
	clFast
	clSlow
	clDistributed
	clEnumeration
	clScanner
	clCompromise
	clLegit
)

var classNames = [...]Class{clFast: ClassFast, clSlow: ClassSlow, clDistributed: ClassDistributed,
	clEnumeration: ClassEnumeration, clScanner: ClassScanner, clCompromise: ClassCompromise, clLegit: ClassLegit}

// event is one future log line, kept structured so a build costs no
// formatting: the writer renders it from its kind and connection.
type event struct {
	at   int64 // seconds after Start
	conn int32 // index into gen.conns
	kind kind
	n    uint8 // a count (PAM failures) or a table index (banner, command)
}

// conn is one sshd connection (or cron job, or the system itself). PIDs and
// logind session numbers are given out by the writer in line order, so they
// increase through the log as real ones do.
type conn struct {
	addr  netip.Addr
	user  string
	key   string // publickey fingerprint
	uid   int32
	pid   int32
	sess  int32
	port  uint16
	class class
	group int16 // dense group, -1 for none
}

// gen accumulates one build of a log.
type gen struct {
	o      Options
	start  int64 // Start, Unix seconds
	d      int64 // Duration in seconds
	srcMul float64
	attMul float64
	events []event
	conns  []conn
	alloc  *allocator
	groups int // dense groups allocated so far
}

// Scaling: in Lines mode a scale s multiplies the mix. Sources grow as
// s^srcExp and attempts per source as the rest, so the distinct-source count
// (what bounds a consumer's memory) grows sub-linearly with the line count.
const srcExp = 0.8

// build generates the attack and user mix at scale s. Events at or past the
// end of the window are dropped.
func build(o Options, s float64) *gen {
	g := &gen{
		o:      o,
		start:  o.Start.Unix(),
		d:      int64(o.Duration.Seconds()),
		srcMul: math.Pow(s, srcExp),
		attMul: math.Pow(s, 1-srcExp),
		alloc:  newAllocator(o.Seed),
	}
	g.conns = append(g.conns, conn{group: -1}) // conns[0]: the system, sshd's listener
	g.add(0, 0, kListen4, 0)
	g.add(0, 0, kListen6, 0)
	// Legit first: its addresses come from its own pools, and the order of
	// the calls below fixes the allocator's stream.
	g.legit(g.rng(saltLegit))
	g.distributed(g.rng(saltDistributed))
	g.fast(g.rng(saltFast))
	g.slow(g.rng(saltSlow))
	g.enumeration(g.rng(saltEnumeration))
	g.scanners(g.rng(saltScanner))
	g.compromise(g.rng(saltCompromise))
	g.events = slices.DeleteFunc(g.events, func(e event) bool { return e.at < 0 || e.at >= g.d })
	return g
}

func (g *gen) rng(salt uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.o.Seed, salt))
}

// count scales a per-class source count, keeping at least one when the
// class is enabled.
func (g *gen) count(base int) int {
	if base <= 0 {
		return 0
	}
	return max(1, round(float64(base)*g.srcMul))
}

// attempts scales a per-source attempt count, keeping at least floor.
func (g *gen) attempts(base, floor int) int {
	return max(floor, round(float64(base)*g.attMul))
}

// newConn opens a connection from a random ephemeral port.
func (g *gen) newConn(r *rand.Rand, cl class, addr netip.Addr, user string) int32 {
	g.conns = append(g.conns, conn{
		addr:  addr,
		user:  user,
		port:  uint16(32768 + r.IntN(61000-32768)),
		class: cl,
		group: -1,
	})
	return int32(len(g.conns) - 1)
}

func (g *gen) add(at int64, c int32, k kind, n uint8) {
	g.events = append(g.events, event{at: at, conn: c, kind: k, n: n})
}

// startIn returns a start time leaving span seconds before the end of the
// window (or 0 when span is longer than the window).
func (g *gen) startIn(r *rand.Rand, span int64) int64 {
	if span >= g.d {
		return 0
	}
	return r.Int64N(g.d - span)
}

// sort orders events by time; the sort is stable so each connection's lines
// keep their order within a second.
func (g *gen) sort() {
	slices.SortStableFunc(g.events, func(a, b event) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
}

// naturalNoise adds what a quiet gateway logs besides sshd: hourly and
// daily cron, daily systemd timers.
func (g *gen) naturalNoise() {
	r := g.rng(saltNoise)
	day0 := g.start - mod(g.start, 86400)
	for h := day0; h < g.start+g.d; h += 3600 {
		at := h - g.start + 17*60 + 1
		c := g.newConn(r, clNoise, netip.Addr{}, "root")
		g.add(at, c, kCronOpened, 0)
		g.add(at, c, kCronCmd, cmdHourly)
		g.add(at, c, kCronClosed, 0)
		if mod(h, 86400) != 6*3600 {
			continue
		}
		at = h - g.start + 25*60 + 1
		c = g.newConn(r, clNoise, netip.Addr{}, "root")
		g.add(at, c, kCronOpened, 0)
		g.add(at, c, kCronCmd, cmdDaily)
		g.add(at, c, kCronClosed, 0)
		at = h - g.start + r.Int64N(3600)
		g.add(at, 0, kSystemd, sdAptStart)
		at += 5 + r.Int64N(40)
		g.add(at, 0, kSystemd, sdAptDone)
		g.add(at, 0, kSystemd, sdAptFinished)
		at = h - g.start + 8*3600 + r.Int64N(3600)
		g.add(at, 0, kSystemd, sdTmpStart)
		at++
		g.add(at, 0, kSystemd, sdTmpDone)
		g.add(at, 0, kSystemd, sdTmpFinished)
	}
	g.events = slices.DeleteFunc(g.events, func(e event) bool { return e.at < 0 || e.at >= g.d })
}

// filler adds exactly n noise lines spread evenly over the window: sysstat's
// collector, run from cron and systemd as on a Debian host.
func (g *gen) filler(n int) {
	r := g.rng(saltNoise)
	pattern := [...]struct {
		k kind
		n uint8
	}{{kCronCmd, cmdSysstat}, {kSystemd, sdSysstatStart}, {kSystemd, sdSysstatDone}, {kSystemd, sdSysstatFinished}}
	slots := (n + len(pattern) - 1) / len(pattern)
	for i := range n {
		slot := i / len(pattern)
		at := int64(slot)*g.d/int64(slots) + g.d/int64(2*slots)
		p := pattern[i%len(pattern)]
		c := int32(0)
		if p.k == kCronCmd {
			c = g.newConn(r, clNoise, netip.Addr{}, "root")
		}
		g.add(at, c, p.k, p.n)
	}
}

// mod is the non-negative remainder.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
