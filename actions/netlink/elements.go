package netlink

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"

	"github.com/phantomsoc/phantomsoc/actions"
)

// ifNameSize is IFNAMSIZ: an ifname key field is the name NUL-padded to it.
const ifNameSize = 16

// setElems are the kernel elements of one set, in first-seen set order.
type setElems struct {
	spec  actions.SetSpec
	elems []nftables.SetElement
	count int // actions.Elements behind elems, for messages
}

// encodeAll checks every element and turns it into kernel elements, grouped
// by set. It checks all of them before anything is queued: a batch is all or
// nothing, and so is its validation. bare drops timeouts (for deletes).
func (b *Backend) encodeAll(elems []actions.Element, bare bool) ([]*setElems, error) {
	// Size every group first: a SetElement is large, and growing slices
	// of 200,000 of them was half the cost of a big batch.
	counts := map[string]int{}
	for _, e := range elems {
		counts[e.Set]++
	}
	var order []*setElems
	bySet := map[string]*setElems{}
	var errs []error
	for _, e := range elems {
		spec, ok := b.sets[e.Set]
		if !ok {
			errs = append(errs, fmt.Errorf("element %s: unknown set %q", e.Key(), e.Set))
			continue
		}
		g := bySet[e.Set]
		if g == nil {
			g = &setElems{spec: spec, elems: make([]nftables.SetElement, 0, 2*counts[e.Set])}
			bySet[e.Set] = g
			order = append(order, g)
		}
		var err error
		if g.elems, err = encode(g.elems, spec, e, bare); err != nil {
			errs = append(errs, fmt.Errorf("element %s: %w", e.Key(), err))
			continue
		}
		g.count++
	}
	if len(errs) > 0 {
		// A bad batch of 100,000 should not print 100,000 lines.
		if n := len(errs); n > 10 {
			errs = append(errs[:10], fmt.Errorf("and %d more", n-10))
		}
		return nil, errors.Join(errs...)
	}
	return order, nil
}

// kernelCount is the number of kernel elements in groups.
func kernelCount(groups ...[]*setElems) int {
	n := 0
	for _, gs := range groups {
		for _, g := range gs {
			n += len(g.elems)
		}
	}
	return n
}

// queueElements queues each set's elements with op (SetAddElements or
// SetDestroyElements).
func (b *Backend) queueElements(groups []*setElems, op func(*nftables.Set, []nftables.SetElement) error, verb, prep string) error {
	for _, g := range groups {
		if err := op(b.setOf(g.spec), g.elems); err != nil {
			return fmt.Errorf("%s %d elements %s %s: %w", verb, g.count, prep, g.spec.Name, err)
		}
	}
	return nil
}

// encode appends e's kernel elements to dst. A CIDR is a range: in
// an rbtree set a start element and an end-exclusive end element (or an
// open start when the range reaches the top of the address space), in a
// concatenated (pipapo) set one element with an inclusive Key..KeyEnd.
func encode(dst []nftables.SetElement, spec actions.SetSpec, e actions.Element, bare bool) ([]nftables.SetElement, error) {
	if err := check(spec, e); err != nil {
		return dst, err
	}
	var timeout time.Duration
	if !bare && e.Timeout > 0 {
		// The kernel counts in milliseconds. Truncate as render.go does,
		// but never to zero: that would make the element permanent.
		timeout = max(e.Timeout.Truncate(time.Millisecond), time.Millisecond)
	}
	first := e.Prefix.Addr().AsSlice()
	last := lastAddr(e.Prefix)
	switch spec.Key {
	case actions.KeyAddrProtoPort:
		pp := []byte{e.Proto, 0, 0, 0, byte(e.Port >> 8), byte(e.Port), 0, 0}
		return append(dst, nftables.SetElement{
			Key:     append(first, pp...),
			KeyEnd:  append(last, pp...),
			Timeout: timeout,
		}), nil
	case actions.KeyIfaceAddr:
		name := make([]byte, ifNameSize)
		copy(name, e.Iface)
		return append(dst, nftables.SetElement{
			Key:     append(append([]byte(nil), name...), first...),
			KeyEnd:  append(name, last...),
			Timeout: timeout,
		}), nil
	}
	start := nftables.SetElement{Key: first, Timeout: timeout}
	end, overflow := increment(last)
	if overflow {
		// Nothing follows the range to end it: the kernel takes an open
		// interval, and nft marks it so for listing.
		start.IntervalOpen = true
		return append(dst, start), nil
	}
	return append(dst, start, nftables.SetElement{Key: end, IntervalEnd: true}), nil
}

// check validates e against its set's key kind.
func check(spec actions.SetSpec, e actions.Element) error { return spec.Check(e) }

// lastAddr is the last address of p, as bytes.
func lastAddr(p netip.Prefix) []byte {
	b := p.Addr().AsSlice()
	for i := range b {
		hostBits := max(0, min(8, (i+1)*8-p.Bits()))
		b[i] |= byte(1<<hostBits - 1)
	}
	return b
}

// increment returns b+1 and whether it wrapped past the top.
func increment(b []byte) ([]byte, bool) {
	out := append([]byte(nil), b...)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			return out, false
		}
	}
	return out, true
}
