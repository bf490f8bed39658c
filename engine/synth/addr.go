package synth

import (
	"math/rand/v2"
	"net/netip"
)

// Address plan. Legitimate users live in 192.0.2.0/24 and 2001:db8:cafe::/48,
// which no attacker touches. Attackers draw from 198.51.100.0/24,
// 203.0.113.0/24 and the rest of 2001:db8::/32. Dense campaign groups have
// ranges of their own that nothing else is allocated from, so the ground
// truth stays unambiguous.
var (
	legitNet4  = netip.MustParsePrefix("192.0.2.0/24")
	legitHex6  = uint16(0xcafe) // 2001:db8:cafe::/48
	denseHex6  = uint16(0x0bad) // 2001:db8:bad::/48 holds IPv6 dense groups
	attackNet4 = [...]netip.Prefix{
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
	}
	denseNet4 = [...]netip.Prefix{
		netip.MustParsePrefix("203.0.113.16/28"),
		netip.MustParsePrefix("198.51.100.96/28"),
	}
)

// allocator hands out distinct addresses, deterministically from its own
// random stream.
type allocator struct {
	r       *rand.Rand
	v4      []netip.Addr // free attacker IPv4, shuffled
	legitV4 []netip.Addr // free legit IPv4, shuffled
	used    map[netip.Addr]struct{}
}

func newAllocator(seed uint64) *allocator {
	a := &allocator{
		r:    rand.New(rand.NewPCG(seed, saltAlloc)),
		used: make(map[netip.Addr]struct{}),
	}
	for _, p := range attackNet4 {
		for _, ip := range hosts4(p) {
			if !denseNet4[0].Contains(ip) && !denseNet4[1].Contains(ip) {
				a.v4 = append(a.v4, ip)
			}
		}
	}
	a.legitV4 = hosts4(legitNet4)
	a.r.Shuffle(len(a.v4), func(i, j int) { a.v4[i], a.v4[j] = a.v4[j], a.v4[i] })
	a.r.Shuffle(len(a.legitV4), func(i, j int) { a.legitV4[i], a.legitV4[j] = a.legitV4[j], a.legitV4[i] })
	return a
}

// hosts4 lists the addresses of a /24 or smaller IPv4 prefix, skipping .0
// and .255 which no real peer has.
func hosts4(p netip.Prefix) []netip.Addr {
	var out []netip.Addr
	for ip := p.Masked().Addr(); p.Contains(ip); ip = ip.Next() {
		if b := ip.As4(); b[3] != 0 && b[3] != 255 {
			out = append(out, ip)
		}
	}
	return out
}

// attacker returns a fresh attacker address; IPv4 while any is left unless
// v6 is asked for.
func (a *allocator) attacker(v6 bool) netip.Addr {
	if !v6 && len(a.v4) > 0 {
		ip := a.v4[len(a.v4)-1]
		a.v4 = a.v4[:len(a.v4)-1]
		a.used[ip] = struct{}{}
		return ip
	}
	for {
		h := uint16(a.r.IntN(0x10000))
		if h == legitHex6 || h == denseHex6 {
			continue
		}
		if ip := a.v6(h); a.take(ip) {
			return ip
		}
	}
}

// legit returns a fresh legitimate user's address.
func (a *allocator) legit(v6 bool) netip.Addr {
	if !v6 && len(a.legitV4) > 0 {
		ip := a.legitV4[len(a.legitV4)-1]
		a.legitV4 = a.legitV4[:len(a.legitV4)-1]
		a.used[ip] = struct{}{}
		return ip
	}
	for {
		if ip := a.v6(legitHex6); a.take(ip) {
			return ip
		}
	}
}

// v6 draws an address in 2001:db8:h::/48: half with a small interface ID as
// servers have, half with a random one as clients have.
func (a *allocator) v6(h uint16) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[4], b[5] = byte(h>>8), byte(h)
	sub := uint16(a.r.IntN(0x100))
	b[6], b[7] = byte(sub>>8), byte(sub)
	if a.r.IntN(2) == 0 {
		b[15] = byte(1 + a.r.IntN(254))
	} else {
		for i := 8; i < 16; i++ {
			b[i] = byte(a.r.IntN(256))
		}
		b[15] |= 1 // never the all-zero interface ID
	}
	return netip.AddrFrom16(b)
}

// take marks ip used and reports whether it was free.
func (a *allocator) take(ip netip.Addr) bool {
	if _, ok := a.used[ip]; ok {
		return false
	}
	a.used[ip] = struct{}{}
	return true
}

// denseRange returns the range reserved for dense group j: two IPv4 /28s,
// then IPv6 /120s in 2001:db8:bad::/48.
func denseRange(j int) netip.Prefix {
	if j < len(denseNet4) {
		return denseNet4[j]
	}
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[4], b[5] = byte(denseHex6>>8), byte(denseHex6)
	k := j - len(denseNet4)
	b[6], b[7] = byte(k>>8), byte(k)
	return netip.PrefixFrom(netip.AddrFrom16(b), 120)
}

// dense returns n distinct addresses inside dense group j's range.
func (a *allocator) dense(j, n int) []netip.Addr {
	p := denseRange(j)
	var pool []netip.Addr
	if p.Addr().Is4() {
		pool = hosts4(p)
	} else {
		base := p.Addr().As16()
		for i := 1; i < 256; i++ {
			base[15] = byte(i)
			pool = append(pool, netip.AddrFrom16(base))
		}
	}
	a.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	var out []netip.Addr
	for _, ip := range pool {
		if len(out) == n {
			break
		}
		if a.take(ip) {
			out = append(out, ip)
		}
	}
	return out
}
