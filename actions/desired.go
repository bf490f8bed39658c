package actions

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// region is, per group, the prefixes a plan touches. desired closes it
// under overlap, so everything that shares address space with a change is
// recomputed together and nothing outside it is.
type region map[group][]netip.Prefix

func (r region) has(k elemKey) bool {
	for _, p := range r[k.group] {
		if p.Overlaps(k.prefix) {
			return true
		}
	}
	return false
}

// elementsOf is d's elements, computed once per decision.
func (e *Enforcer) elementsOf(d *engine.Decision) []Element {
	if els, ok := e.els[d.ID]; ok {
		return els
	}
	s, err := SpecOf(d)
	if err != nil {
		return nil
	}
	els := s.Elements()
	for i := range els {
		els[i].Timeout = 0
	}
	if e.live[d.ID] == d {
		e.els[d.ID] = els
	}
	return els
}

// put makes d live (or replaces it).
func (e *Enforcer) put(d *engine.Decision) {
	e.live[d.ID] = d
	delete(e.els, d.ID)
}

// drop takes a decision out of the live view.
func (e *Enforcer) drop(id string) {
	delete(e.live, id)
	delete(e.els, id)
}

// items collects what the live active decisions targeting gw want, per
// group, within r (everything when r is nil).
func (e *Enforcer) items(gw string, r region) map[group][]item {
	out := map[group][]item{}
	for _, d := range e.live {
		if d.State != engine.StateActive || !targets(d, gw) {
			continue
		}
		for _, el := range e.elementsOf(d) {
			g := el.group()
			if r != nil && !r.has(elemKey{group: g, prefix: el.Prefix}) {
				continue
			}
			out[g] = append(out[g], item{p: el.Prefix, expires: d.Expires})
		}
	}
	return out
}

// desired is the flattened element set of gw within r (all of it when r is
// nil); r grows to every wanted prefix overlapping it.
func (e *Enforcer) desired(gw string, r region) map[elemKey]*want {
	if r != nil {
		for grown := true; grown; {
			grown = false
			for g, its := range e.items(gw, r) {
				for _, it := range its {
					if !slices.ContainsFunc(r[g], func(p netip.Prefix) bool { return p.Bits() <= it.p.Bits() && p.Contains(it.p.Addr()) }) {
						r[g] = append(r[g], it.p)
						grown = true
					}
				}
			}
		}
	}
	out := map[elemKey]*want{}
	for g, its := range e.items(gw, r) {
		flatten(g, its, out)
	}
	return out
}

// diffRegion is the batch that brings the elements within r from state from
// to state to, in a stable order.
func diffRegion(r region, from, to map[elemKey]*want, now time.Time) Batch {
	var b Batch
	for k, w := range to {
		if r != nil && !r.has(k) {
			continue
		}
		if el, ok := w.element(now); ok {
			b.Add = append(b.Add, el)
		} else if _, was := from[k]; was {
			b.Delete = append(b.Delete, w.el)
		}
	}
	for k, w := range from {
		if r != nil && !r.has(k) {
			continue
		}
		if _, ok := to[k]; !ok {
			b.Delete = append(b.Delete, w.el)
		}
	}
	sortElements(b.Add)
	sortElements(b.Delete)
	return b
}

func sortElements(els []Element) {
	slices.SortFunc(els, func(a, b Element) int {
		return cmp.Or(cmp.Compare(a.Set, b.Set), cmp.Compare(a.Iface, b.Iface), a.Prefix.Addr().Compare(b.Prefix.Addr()),
			cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()), cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port))
	})
}
