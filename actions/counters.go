package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Drops is what one active decision's elements matched on one gateway,
// read from the elements' own counters: a decision's drops since it was
// applied there, not its rule's since the table was built.
type Drops struct {
	Decision string `json:"decision"`
	Gateway  string `json:"gateway"`
	Counter
	// Shared reports that a kernel element counted here also stands for
	// another decision (a wider range covering this one, or the same range
	// twice): its packets are not this decision's alone.
	Shared bool `json:"shared,omitempty"`
	// Missing reports that the gateway has none of the decision's
	// elements (not applied there yet, or drifted).
	Missing bool `json:"missing,omitempty"`
}

// Drops reads every reachable gateway back and attributes its elements'
// counters to the active decisions that want them, by decision then
// gateway. Each gateway also gets an entry with no Decision: its total
// over every element phantomsoc holds there, each counted once however
// many decisions share it. A gateway that cannot be read is left out; its
// error is returned with the others' drops.
func (e *Enforcer) Drops(ctx context.Context) ([]Drops, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Drops
	var errs []error
	for _, g := range e.gws {
		st, err := g.Backend.List(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("read counters of %s: %w", g.Name, err))
			continue
		}
		out = append(out, e.dropsOn(g.Name, st)...)
		total := Drops{Gateway: g.Name}
		for i := range st.Elements {
			total.Packets += st.Elements[i].Counter.Packets
			total.Bytes += st.Elements[i].Counter.Bytes
		}
		out = append(out, total)
	}
	slices.SortFunc(out, func(a, b Drops) int {
		if c := strings.Compare(a.Decision, b.Decision); c != 0 {
			return c
		}
		return strings.Compare(a.Gateway, b.Gateway)
	})
	return out, errors.Join(errs...)
}

// dropsOn attributes st's element counters to the active decisions
// targeting gw. An element phantomsoc wrote is a decision's prefix or a
// wider one that flattening merged it into: each decision element takes
// the kernel element of its group that covers it.
func (e *Enforcer) dropsOn(gw string, st *State) []Drops {
	byGroup := map[group][]int{}
	for i := range st.Elements {
		g := st.Elements[i].group()
		byGroup[g] = append(byGroup[g], i)
	}
	type claim struct {
		d     *engine.Decision
		elems []int
	}
	var claims []claim
	users := map[int]int{}
	for _, d := range e.live {
		if d.State != engine.StateActive || !targets(d, gw) {
			continue
		}
		c := claim{d: d}
		for _, el := range e.elementsOf(d) {
			for _, i := range byGroup[el.group()] {
				k := st.Elements[i].Prefix
				if k.Bits() <= el.Prefix.Bits() && k.Contains(el.Prefix.Addr()) && !slices.Contains(c.elems, i) {
					c.elems = append(c.elems, i)
					users[i]++
					break
				}
			}
		}
		claims = append(claims, c)
	}
	out := make([]Drops, 0, len(claims))
	for _, c := range claims {
		dr := Drops{Decision: c.d.ID, Gateway: gw, Missing: len(c.elems) == 0}
		for _, i := range c.elems {
			cnt := st.Elements[i].Counter
			dr.Packets += cnt.Packets
			dr.Bytes += cnt.Bytes
			if users[i] > 1 {
				dr.Shared = true
			}
		}
		for _, el := range e.elementsOf(c.d) {
			for _, i := range c.elems {
				if k := st.Elements[i]; k.group() == el.group() && k.Prefix != el.Prefix && k.Prefix.Contains(el.Prefix.Addr()) {
					dr.Shared = true
				}
			}
		}
		out = append(out, dr)
	}
	return out
}
