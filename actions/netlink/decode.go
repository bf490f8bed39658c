package netlink

import (
	"bytes"
	"net/netip"
	"slices"

	"github.com/google/nftables"

	"github.com/phantomsoc/phantomsoc/actions"
)

// decode turns one set's kernel elements back into actions.Elements. It
// never fails: an element it cannot read (someone else's, a wrong length) is
// skipped rather than reported as something phantomsoc did.
func decode(spec actions.SetSpec, kes []nftables.SetElement) []actions.Element {
	alen := 4
	if spec.V6 {
		alen = 16
	}
	if spec.Key == actions.KeyAddr {
		return decodeRanges(spec, alen, kes)
	}
	var out []actions.Element
	for _, ke := range kes {
		end := ke.KeyEnd
		if len(end) == 0 {
			end = ke.Key
		}
		var e actions.Element
		var first, last []byte
		switch spec.Key {
		case actions.KeyAddrProtoPort:
			if len(ke.Key) != alen+8 || len(end) != alen+8 || !bytes.Equal(ke.Key[alen:], end[alen:]) {
				continue
			}
			first, last = ke.Key[:alen], end[:alen]
			pp := ke.Key[alen:]
			e.Proto, e.Port = pp[0], uint16(pp[4])<<8|uint16(pp[5])
		case actions.KeyIfaceAddr:
			if len(ke.Key) != ifNameSize+alen || len(end) != ifNameSize+alen || !bytes.Equal(ke.Key[:ifNameSize], end[:ifNameSize]) {
				continue
			}
			e.Iface = string(bytes.TrimRight(ke.Key[:ifNameSize], "\x00"))
			first, last = ke.Key[ifNameSize:], end[ifNameSize:]
		default:
			continue
		}
		for _, p := range rangePrefixes(first, last) {
			e.Set, e.Prefix, e.Timeout, e.Expires, e.Counter = spec.Name, p, ke.Timeout, ke.Expires, counterOfElement(&ke)
			out = append(out, e)
		}
	}
	return out
}

// decodeRanges pairs an rbtree set's start and end elements. The kernel
// dumps them in no promised order, so they are sorted by key first (an end
// before a start at the same key: that end closes the previous range). An
// end with no start before it is nft's leading null element or what is left
// of an expired range; a start with no end runs to the top of the space.
func decodeRanges(spec actions.SetSpec, alen int, kes []nftables.SetElement) []actions.Element {
	kes = slices.DeleteFunc(slices.Clone(kes), func(ke nftables.SetElement) bool { return len(ke.Key) != alen })
	slices.SortFunc(kes, func(a, b nftables.SetElement) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		switch {
		case a.IntervalEnd == b.IntervalEnd:
			return 0
		case a.IntervalEnd:
			return -1
		}
		return 1
	})
	top := bytes.Repeat([]byte{0xff}, alen)
	var out []actions.Element
	for i := 0; i < len(kes); i++ {
		start := kes[i]
		if start.IntervalEnd {
			continue
		}
		last := top
		if i+1 < len(kes) && kes[i+1].IntervalEnd {
			last = decrement(kes[i+1].Key)
			i++
		}
		for _, p := range rangePrefixes(start.Key, last) {
			out = append(out, actions.Element{Set: spec.Name, Prefix: p, Timeout: start.Timeout, Expires: start.Expires, Counter: counterOfElement(&start)})
		}
	}
	return out
}

// counterOfElement is what a kernel element's counter holds; a range's
// counter is on its start element.
func counterOfElement(ke *nftables.SetElement) actions.Counter {
	if ke.Counter == nil {
		return actions.Counter{}
	}
	return actions.Counter{Packets: ke.Counter.Packets, Bytes: ke.Counter.Bytes}
}

// rangePrefixes covers first..last (inclusive) with prefixes: one for every
// range phantomsoc wrote, several for a range someone added by hand.
func rangePrefixes(first, last []byte) []netip.Prefix {
	var out []netip.Prefix
	cur := slices.Clone(first)
	for bytes.Compare(cur, last) <= 0 {
		addr, ok := netip.AddrFromSlice(cur)
		if !ok {
			return out
		}
		// The widest prefix starting at cur that stays within last.
		bits := len(cur) * 8
		for bits > 0 {
			p := netip.PrefixFrom(addr, bits-1)
			if p.Masked().Addr() != addr || bytes.Compare(lastAddr(p), last) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(addr, bits)
		out = append(out, p)
		next, overflow := increment(lastAddr(p))
		if overflow {
			break
		}
		cur = next
	}
	return out
}

// decrement returns b-1; the end key of a range is never all zeroes when a
// start precedes it.
func decrement(b []byte) []byte {
	out := slices.Clone(b)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]--
		if out[i] != 0xff {
			break
		}
	}
	return out
}
