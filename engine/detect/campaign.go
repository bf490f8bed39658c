package detect

import (
	"math/bits"
	"net/netip"
	"slices"

	"github.com/phantomsoc/phantomsoc/engine"
)

// campaign is the state of one campaign key: the sources seen in the
// window, and the dense groups among the low-volume ones.
type campaign struct {
	srcs map[netip.Addr]srcInfo
	// low counts the sources with at most max_per_source events.
	low int
	// groups holds the low-volume sources by /prefix_v4 (/prefix_v6).
	groups map[netip.Prefix]*group
	// fired are the prefixes already proposed; after the first alert the
	// key re-fires only for a dense prefix none of them covers.
	fired     []netip.Prefix
	firedOnce bool
	pending   bool
}

// group is the low-volume sources of one /prefix_v4 (/prefix_v6). Adding
// or removing a source costs O(1); clusters are computed only when the
// campaign may fire.
type group struct {
	members []netip.Addr
}

// add appends a and returns its index in members.
func (g *group) add(a netip.Addr) int {
	g.members = append(g.members, a)
	return len(g.members) - 1
}

type srcInfo struct {
	n    int
	last int64
	// gi is the source's index in its group's members while low-volume.
	gi int
}

func (c *campaign) isLow(rt *scenarioRT, si srcInfo) bool { return si.n <= rt.sc.MaxPerSource }

func (rt *scenarioRT) groupOf(a netip.Addr) netip.Prefix {
	bits := rt.sc.PrefixV4
	if a.Is6() {
		bits = rt.sc.PrefixV6
	}
	p, _ := a.Prefix(bits)
	return p
}

func (c *campaign) addLow(rt *scenarioRT, a netip.Addr, si *srcInfo) *group {
	c.low++
	p := rt.groupOf(a)
	g := c.groups[p]
	if g == nil {
		g = &group{}
		c.groups[p] = g
	}
	si.gi = g.add(a)
	return g
}

// removeLow takes a (whose group index is gi) out of its group: the last
// member moves into its slot.
func (c *campaign) removeLow(rt *scenarioRT, a netip.Addr, gi int) {
	c.low--
	p := rt.groupOf(a)
	g := c.groups[p]
	if g == nil || gi >= len(g.members) || g.members[gi] != a {
		return
	}
	last := len(g.members) - 1
	if gi != last {
		moved := g.members[last]
		g.members[gi] = moved
		if si, ok := c.srcs[moved]; ok {
			si.gi = gi
			c.srcs[moved] = si
		}
	}
	g.members = g.members[:last]
	if len(g.members) == 0 {
		delete(c.groups, p)
	}
}

// expire forgets sources last seen at or before cut.
func (c *campaign) expire(rt *scenarioRT, st *state, cut int64) {
	for a, si := range c.srcs {
		if si.last > cut {
			continue
		}
		delete(c.srcs, a)
		if c.isLow(rt, si) {
			c.removeLow(rt, a, si.gi)
		}
	}
	if len(c.srcs) == 0 {
		st.clear()
		c.fired = c.fired[:0]
		c.firedOnce, c.pending = false, false
	}
}

func commonBits(a, b netip.Addr) int {
	if a.Is4() {
		x, y := a.As4(), b.As4()
		ux := uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3])
		uy := uint32(y[0])<<24 | uint32(y[1])<<16 | uint32(y[2])<<8 | uint32(y[3])
		return bits.LeadingZeros32(ux ^ uy)
	}
	x, y := a.As16(), b.As16()
	n := 0
	for i := range 16 {
		if d := x[i] ^ y[i]; d != 0 {
			return n + bits.LeadingZeros8(d)
		}
		n += 8
	}
	return n
}

func coveredBy(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// clusters returns the smallest prefixes over the dense clusters of the
// group's members. A /24 that holds a tight cluster and a few scattered
// campaign sources must yield the cluster's /28, not the /24: blocking
// should cover the attackers, not their neighbours.
func (g *group) clusters(minDense int) []netip.Prefix {
	if len(g.members) < minDense {
		return nil
	}
	addrs := slices.Clone(g.members)
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return appendClusters(nil, addrs, minDense)
}

// appendClusters walks the covering prefix of sorted addrs down the
// address tree. A half with fewer than minDense addresses beside one with
// at least that many holds stragglers: they are dropped and the walk goes
// on into the crowded half, so one scattered neighbour cannot stretch a
// /28 cluster into a /27 of mostly innocent addresses. Otherwise the
// covering prefix is emitted when dense, and split when not.
func appendClusters(out []netip.Prefix, addrs []netip.Addr, minDense int) []netip.Prefix {
	if len(addrs) < minDense {
		return out
	}
	lo, hi := addrs[0], addrs[len(addrs)-1]
	n := commonBits(lo, hi)
	p, _ := lo.Prefix(n)
	if n >= lo.BitLen() {
		return append(out, p)
	}
	lower, _ := lo.Prefix(n + 1)
	i, _ := slices.BinarySearchFunc(addrs, lower, func(a netip.Addr, q netip.Prefix) int {
		if q.Contains(a) {
			return -1
		}
		return 1
	})
	left, right := addrs[:i], addrs[i:]
	switch {
	case len(left) >= minDense && len(right) < minDense:
		return appendClusters(out, left, minDense)
	case len(right) >= minDense && len(left) < minDense:
		return appendClusters(out, right, minDense)
	case isDense(p, len(addrs)):
		return append(out, p)
	}
	out = appendClusters(out, left, minDense)
	return appendClusters(out, right, minDense)
}

// isDense: an IPv4 prefix at least a quarter used, and an IPv6 prefix
// within one /64, the unit one host or customer gets.
func isDense(p netip.Prefix, n int) bool {
	host := p.Addr().BitLen() - p.Bits()
	if p.Addr().Is6() {
		return host <= 64
	}
	return uint64(n)*4 >= uint64(1)<<host
}

// dense returns the covering prefixes of the dense clusters, sorted.
func (c *campaign) dense(rt *scenarioRT) []netip.Prefix {
	var out []netip.Prefix
	for _, g := range c.groups {
		out = append(out, g.clusters(rt.sc.MinDense)...)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

// feedCampaign counts ev's source for the key. Sources above max_per_source
// leave the count: they are loud enough for the per-source scenarios.
func (d *Detector) feedCampaign(rt *scenarioRT, k key, st *state, ev *engine.Event, t int64) (a *engine.Alert, fed bool, level float64) {
	c := st.campaign
	if c == nil {
		c = &campaign{srcs: map[netip.Addr]srcInfo{}, groups: map[netip.Prefix]*group{}}
		st.campaign = c
	}
	st.last = t
	st.tail = false
	src := ev.Source.Unmap()
	si, known := c.srcs[src]
	if !known && len(c.srcs) >= maxCampaignSources {
		return nil, false, float64(c.low)
	}
	wasLow := known && c.isLow(rt, si)
	si.n += ev.N()
	si.last = t
	low := c.isLow(rt, si)
	switch {
	case !known && low:
		g := c.addLow(rt, src, &si)
		// Once a new prefix is pending, further checks change nothing.
		if c.firedOnce && !c.pending && len(g.members) >= rt.sc.MinDense {
			for _, p := range g.clusters(rt.sc.MinDense) {
				if !coveredBy(c.fired, p) {
					c.pending = true
					break
				}
			}
		}
	case wasLow && !low:
		c.removeLow(rt, src, si.gi)
	}
	c.srcs[src] = si
	if low {
		d.note(st, ev)
	}
	if c.low < rt.threshold || st.until > t || (c.firedOnce && !c.pending) {
		return nil, true, float64(c.low)
	}
	prefixes := c.dense(rt)
	if c.firedOnce {
		c.pending = false
		fresh := false
		for _, p := range prefixes {
			if !coveredBy(c.fired, p) {
				fresh = true
				break
			}
		}
		if !fresh {
			return nil, true, float64(c.low)
		}
	}
	count := 0
	for _, si := range c.srcs {
		if c.isLow(rt, si) {
			count += si.n
		}
	}
	a = new(d.alert(rt, k, st, ev, count))
	a.Sources = c.low
	a.Prefixes = prefixes
	if len(prefixes) == 0 {
		// Nothing dense to act on: a campaign of scattered sources is worth
		// knowing about, never a reason to block a provider's range.
		a.Propose = engine.ActionAlert
	}
	c.fired = append(c.fired[:0], prefixes...)
	c.firedOnce = true
	// The sources stay counted (a campaign is long); only the evidence
	// starts over.
	clear(st.evidence)
	st.evidence = st.evidence[:0]
	st.until = t + rt.blackhole
	return a, true, float64(c.low)
}
