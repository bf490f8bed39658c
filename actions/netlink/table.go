package netlink

import (
	"context"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"

	"github.com/phantomsoc/phantomsoc/actions"
)

// Key types of the sets, as nft declares them: the concatenations carry
// nft's type magic, so `nft list` prints "ipv4_addr . inet_proto .
// inet_service" rather than raw bytes.
var (
	typeAddrProtoPort4 = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	typeAddrProtoPort6 = nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeInetProto, nftables.TypeInetService)
	typeIfaceAddr4     = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIPAddr)
	typeIfaceAddr6     = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIP6Addr)
)

func keyType(s actions.SetSpec) nftables.SetDatatype {
	switch {
	case s.Key == actions.KeyAddrProtoPort && s.V6:
		return typeAddrProtoPort6
	case s.Key == actions.KeyAddrProtoPort:
		return typeAddrProtoPort4
	case s.Key == actions.KeyIfaceAddr && s.V6:
		return typeIfaceAddr6
	case s.Key == actions.KeyIfaceAddr:
		return typeIfaceAddr4
	case s.V6:
		return nftables.TypeIP6Addr
	}
	return nftables.TypeIPAddr
}

// setOf is the library's view of a layout set. Every set is an interval set
// so CIDRs go in as ranges; a concatenation also needs the concat flag, which
// makes the kernel pick the pipapo backend (one element with Key and
// KeyEnd) instead of the rbtree (a start and an end element).
func (b *Backend) setOf(s actions.SetSpec) *nftables.Set {
	return &nftables.Set{
		Table:         b.table,
		Name:          s.Name,
		KeyType:       keyType(s),
		Interval:      true,
		HasTimeout:    s.Timeout,
		Counter:       s.Counter,
		Concatenation: s.Key != actions.KeyAddr,
		KeyByteOrder:  binaryutil.BigEndian,
	}
}

// meterOf is the dynamic set metering one family's rate-limited sources.
func (b *Backend) meterOf(v6 bool) *nftables.Set {
	typ := nftables.TypeIPAddr
	if v6 {
		typ = nftables.TypeIP6Addr
	}
	return &nftables.Set{
		Table:        b.table,
		Name:         actions.MeterSet(v6),
		KeyType:      typ,
		Dynamic:      true,
		HasTimeout:   true,
		Timeout:      actions.MeterTimeout,
		Size:         65535,
		KeyByteOrder: binaryutil.BigEndian,
	}
}

// Rebuild replaces the table in one transaction: the old table (if any) is
// deleted and the new one created, filled and hooked in by the same commit,
// so packets never see a gap or a half-built table. The rules' drop counters
// carry over: a repair must not erase what the console shows was dropped.
func (b *Backend) Rebuild(ctx context.Context, elems []actions.Element) error {
	all := append(b.layout.ConfigElements(), elems...)
	enc, err := b.encodeAll(all, false)
	if err != nil {
		return fmt.Errorf("netlink: rebuild: %w", err)
	}
	if err := ctxErr(ctx, "rebuild"); err != nil {
		return err
	}
	if err := b.growWriteBuffer(kernelCount(enc)); err != nil {
		return err
	}
	// Reading the rules is cheap next to the elements; a table that is
	// gone or damaged simply has fewer counters to keep.
	prev := &actions.State{Counters: map[string]actions.Counter{}}
	_ = b.listChains(prev)
	if err := b.queueTable(prev.Counters); err != nil {
		b.abort()
		return fmt.Errorf("netlink: rebuild: %w", err)
	}
	if err := b.queueElements(enc, b.conn.SetAddElements, "add", "to"); err != nil {
		b.abort()
		return fmt.Errorf("netlink: rebuild: %w", err)
	}
	if err := b.conn.Flush(); err != nil {
		return fmt.Errorf("netlink: rebuild table %s %s with %d elements: %w", actions.TableFamily, actions.TableName, len(all), err)
	}
	return nil
}

// queueTable queues the table, its sets, chains and rules, each rule's
// counter starting from counters (by rule name).
func (b *Backend) queueTable(counters map[string]actions.Counter) error {
	// Adding before deleting makes the delete valid whether or not the
	// table exists, in one batch, on any kernel (DestroyTable needs 6.3).
	b.conn.AddTable(b.table)
	b.conn.DelTable(b.table)
	b.conn.AddTable(b.table)

	sets := map[string]*nftables.Set{}
	for _, s := range append(actions.ActionSets(), actions.ConfigSets()...) {
		set := b.setOf(s)
		if err := b.conn.AddSet(set, nil); err != nil {
			return fmt.Errorf("add set %s: %w", s.Name, err)
		}
		sets[s.Name] = set
	}
	for _, v6 := range []bool{false, true} {
		set := b.meterOf(v6)
		if err := b.conn.AddSet(set, nil); err != nil {
			return fmt.Errorf("add set %s: %w", set.Name, err)
		}
		sets[set.Name] = set
	}

	accept := nftables.ChainPolicyAccept
	chains := map[string]*nftables.Chain{
		actions.ChainSources: {Name: actions.ChainSources, Table: b.table},
		actions.ChainInput: {Name: actions.ChainInput, Table: b.table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(actions.ChainPriority), Policy: &accept},
		actions.ChainForward: {Name: actions.ChainForward, Table: b.table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(actions.ChainPriority), Policy: &accept},
	}
	// The regular chain first: the base chains jump to it.
	for _, name := range chainOrder {
		b.conn.AddChain(chains[name])
	}
	for _, r := range actions.Rules() {
		exprs, err := ruleExprs(&b.layout, r, sets)
		if err != nil {
			return err
		}
		if c, ok := counters[ruleName(r)]; ok {
			for _, e := range exprs {
				if ce, ok := e.(*expr.Counter); ok {
					ce.Packets, ce.Bytes = c.Packets, c.Bytes
				}
			}
		}
		b.conn.AddRule(&nftables.Rule{Table: b.table, Chain: chains[r.Chain], Exprs: exprs, UserData: ruleUserData(r)})
	}
	return nil
}

// chainOrder is the order render.go declares the chains in.
var chainOrder = []string{actions.ChainSources, actions.ChainInput, actions.ChainForward}

// abort drops the queued messages without sending them. The library has no
// discard call, but Flush sends nothing once a queued call has failed, so a
// deliberately refused call (an update to an anonymous set) arms that.
func (b *Backend) abort() {
	_ = b.conn.SetAddElements(&nftables.Set{Table: b.table, Anonymous: true}, nil)
	_ = b.conn.Flush()
}
