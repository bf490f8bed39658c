package actions

import "context"

// gateway is the Enforcer's view of one Gateway: what it last applied there
// and whether it can trust that view.
type gateway struct {
	Gateway
	// down is set when the last call failed; a plan skips a gateway known
	// down and leaves its share pending for the reconcile loop.
	down    bool
	lastErr error
	// applied is what phantomsoc last knew to be in the gateway's sets,
	// by element key; known is false until it was read back once.
	applied map[elemKey]*want
	known   bool
	// state is each decision's enforcement state here, so only changes
	// are recorded.
	state map[string]string
	// gen is the ruleset generation after phantomsoc's last read or write
	// (genOK false: unknown), for backends that report one; quick counts
	// the reconciles that trusted it since the last full read.
	gen   uint32
	genOK bool
	quick int
	// dirty is set while a decision waits (pending) here: the kernel
	// lacks what the database wants, whatever the generation says.
	dirty bool
}

// generationer is a backend that can tell cheaply whether anything changed
// its ruleset since a generation it reported.
type generationer interface {
	Generation(ctx context.Context) (uint32, error)
}

// fullEvery bounds how many reconciles in a row may trust an unchanged
// generation: a change slipped between a write and the generation read
// after it is still found within this many intervals.
const fullEvery = 10

// noteGen records g's generation after phantomsoc's own successful write or
// read; any failure makes it unknown.
func (g *gateway) noteGen(ctx context.Context, ok bool) {
	gb, has := g.Backend.(generationer)
	if !has || !ok {
		g.genOK = false
		return
	}
	gen, err := gb.Generation(ctx)
	g.gen, g.genOK = gen, err == nil
}

// unchanged reports whether g's ruleset is provably as phantomsoc left it.
func (g *gateway) unchanged(ctx context.Context) bool {
	gb, has := g.Backend.(generationer)
	if !has || !g.genOK || g.dirty || g.quick >= fullEvery {
		return false
	}
	gen, err := gb.Generation(ctx)
	if err != nil || gen != g.gen {
		return false
	}
	g.quick++
	return true
}
