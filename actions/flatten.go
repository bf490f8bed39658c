package actions

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// The kernel refuses an interval that overlaps one already in its set (and
// nft refuses a batch that would create one), yet decisions overlap all the
// time: a campaign blocks 192.0.2.0/24 while 192.0.2.7 is blocked for
// longer. So the wanted elements of each group are flattened into disjoint
// prefixes, each carrying the latest expiry of the decisions covering it:
// a covered narrower decision disappears into the wider one, and a wider one
// with a shorter life is split around the narrower.

// group is what an element shares with the elements it can overlap: the
// set and the non-address parts of its key.
type group struct {
	set   string
	proto uint8
	port  uint16
	iface string
}

// elemKey identifies an element within the table.
type elemKey struct {
	group
	prefix netip.Prefix
}

func (e Element) group() group {
	return group{set: e.Set, proto: e.Proto, port: e.Port, iface: e.Iface}
}

func (e Element) key() elemKey { return elemKey{group: e.group(), prefix: e.Prefix} }

// want is one element the live decisions call for, with the latest expiry
// among them (zero: permanent).
type want struct {
	el      Element
	expires time.Time
}

// later reports whether expiry a outlives b (zero is forever).
func later(a, b time.Time) bool {
	if b.IsZero() {
		return false
	}
	return a.IsZero() || a.After(b)
}

// item is one decision's wish for a prefix.
type item struct {
	p       netip.Prefix
	expires time.Time
}

// flatten turns one group's items into disjoint prefixes. Sorted by start
// address, widest first, the items fall into clusters that nest inside
// their first item; most clusters are a single prefix (possibly wished for
// by several decisions) and are emitted as is, the rest are solved.
func flatten(g group, items []item, out map[elemKey]*want) {
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(a.p.Addr().Compare(b.p.Addr()), cmp.Compare(a.p.Bits(), b.p.Bits()))
	})
	for i := 0; i < len(items); {
		root := items[i].p
		j, nested := i+1, false
		for j < len(items) && root.Contains(items[j].p.Addr()) {
			nested = nested || items[j].p != root
			j++
		}
		if nested {
			solve(g, root, time.Time{}, false, items[i:j], out)
		} else {
			exp := items[i].expires
			for _, it := range items[i+1 : j] {
				if later(it.expires, exp) {
					exp = it.expires
				}
			}
			out[elemKey{group: g, prefix: root}] = &want{el: Element{Set: g.set, Proto: g.proto, Port: g.port, Iface: g.iface, Prefix: root}, expires: exp}
		}
		i = j
	}
}

// solve emits the disjoint cover of p given the expiry inherited from a
// wider item (has reports whether there is one) and the items within p.
func solve(g group, p netip.Prefix, inh time.Time, has bool, items []item, out map[elemKey]*want) {
	var inside []item
	for _, it := range items {
		switch {
		case it.p == p:
			if !has || later(it.expires, inh) {
				inh, has = it.expires, true
			}
		case p.Bits() < it.p.Bits() && p.Contains(it.p.Addr()):
			inside = append(inside, it)
		}
	}
	// Items inside p matter only if they outlive what covers p.
	beats := false
	for _, it := range inside {
		if !has || later(it.expires, inh) {
			beats = true
			break
		}
	}
	if !beats {
		if has {
			out[elemKey{group: g, prefix: p}] = &want{el: Element{Set: g.set, Proto: g.proto, Port: g.port, Iface: g.iface, Prefix: p}, expires: inh}
		}
		return
	}
	lo, hi := halves(p)
	solve(g, lo, inh, has, inside, out)
	solve(g, hi, inh, has, inside, out)
}

// halves splits p into its two prefixes one bit longer.
func halves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	bits := p.Bits() + 1
	lo := netip.PrefixFrom(p.Addr(), bits)
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		idx := (bits - 1) / 8
		b[idx] |= 0x80 >> ((bits - 1) % 8)
		return lo, netip.PrefixFrom(netip.AddrFrom4(b), bits)
	}
	b := a.As16()
	idx := (bits - 1) / 8
	b[idx] |= 0x80 >> ((bits - 1) % 8)
	return lo, netip.PrefixFrom(netip.AddrFrom16(b), bits)
}
