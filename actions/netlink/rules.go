package netlink

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/phantomsoc/phantomsoc/actions"
)

// The rules below are what nft 1.0.6 compiles render.go's text into,
// expression for expression and register for register (compare with
// `nft --debug=netlink -f`); TestSameTableAsText holds them to it. Keeping
// the same registers is not needed for the kernel, but it makes the two
// tables byte-identical, so a diff between gateways means a real difference.
//
// Registers: nft puts a concatenation in consecutive 32-bit registers,
// starting at NFT_REG_1 (= NFT_REG32_00) and naming a field by its 128-bit
// register when it is aligned to one.
const (
	reg1 = unix.NFT_REG_1
	reg2 = unix.NFT_REG_2
)

// ruleExprs is one rule of actions.Rules as expressions; sets holds the sets
// created in the same batch (lookups need their IDs).
func ruleExprs(l *actions.Layout, r actions.RuleSpec, sets map[string]*nftables.Set) ([]expr.Any, error) {
	lookup := func(reg uint32, name string) (expr.Any, error) {
		s, ok := sets[name]
		if !ok {
			return nil, fmt.Errorf("rule %s: no set %s", r.Comment, name)
		}
		return &expr.Lookup{SourceRegister: reg, SetName: s.Name, SetID: s.ID}, nil
	}
	f := family{v6: r.V6}
	var out []expr.Any
	add := func(e ...expr.Any) { out = append(out, e...) }
	match := func(reg uint32, set string) error {
		e, err := lookup(reg, set)
		add(e)
		return err
	}
	var verdict expr.VerdictKind = expr.VerdictDrop
	var err error
	switch r.Kind {
	case actions.RuleJump:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: actions.ChainSources}}, nil
	case actions.RuleSrcDrop:
		add(f.proto()...)
		add(f.saddr(reg1))
		err = match(reg1, r.Set)
	case actions.RuleDstDrop:
		add(f.proto()...)
		add(f.daddr(reg1))
		err = match(reg1, r.Set)
	case actions.RuleRateLimit:
		add(ctState(expr.CtStateBitNEW)...)
		add(f.proto()...)
		add(f.saddr(reg1))
		if err = match(reg1, r.Set); err != nil {
			break
		}
		meter, ok := sets[actions.MeterSet(r.V6)]
		if !ok {
			return nil, fmt.Errorf("rule %s: no set %s", r.Comment, actions.MeterSet(r.V6))
		}
		add(f.saddr(reg1), &expr.Dynset{
			SrcRegKey: reg1,
			SetName:   meter.Name,
			SetID:     meter.ID,
			Operation: unix.NFT_DYNSET_OP_UPDATE,
			Exprs: []expr.Any{&expr.Limit{
				Type:  expr.LimitTypePkts,
				Rate:  uint64(l.RatePerMinute),
				Unit:  expr.LimitTimeMinute,
				Burst: uint32(l.RateBurst),
				Over:  true,
			}},
		})
	case actions.RuleSrcService:
		add(f.proto()...)
		add(f.saddr(reg1))
		add(f.protoPort()...)
		err = match(reg1, r.Set)
	case actions.RuleIfaceSrc:
		add(f.proto()...)
		add(&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1}, f.saddr(reg2))
		err = match(reg1, r.Set)
	case actions.RuleIfaceDst:
		add(f.proto()...)
		add(&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg1}, f.daddr(reg2))
		err = match(reg1, r.Set)
	case actions.RuleMgmtToHost:
		verdict = expr.VerdictAccept
		add(f.proto()...)
		add(f.daddr(reg1))
		if err = match(reg1, r.Set); err != nil {
			break
		}
		add(f.saddr(reg1))
		err = match(reg1, actions.MgmtSet(r.V6))
	case actions.RuleHostToMgmtReply:
		verdict = expr.VerdictAccept
		add(f.proto()...)
		add(f.saddr(reg1))
		if err = match(reg1, r.Set); err != nil {
			break
		}
		add(f.daddr(reg1))
		if err = match(reg1, actions.MgmtSet(r.V6)); err != nil {
			break
		}
		add(ctState(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED)...)
	case actions.RuleHostToAllowed:
		verdict = expr.VerdictAccept
		add(f.proto()...)
		add(f.saddr(reg1))
		if err = match(reg1, r.Set); err != nil {
			break
		}
		add(f.daddr(reg1))
		add(f.protoPort()...)
		err = match(reg1, actions.QAllowSet(r.V6))
	case actions.RuleReplyToHost:
		verdict = expr.VerdictAccept
		add(f.proto()...)
		add(f.daddr(reg1))
		if err = match(reg1, r.Set); err != nil {
			break
		}
		add(ctState(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED)...)
	default:
		return nil, fmt.Errorf("rule %s: unknown rule kind %d", r.Comment, r.Kind)
	}
	if err != nil {
		return nil, err
	}
	add(&expr.Counter{}, &expr.Verdict{Kind: verdict})
	return out, nil
}

// ruleUserData carries the rule's comment the way nft stores it, so
// `nft list` shows comment "…" and List finds counters by it.
func ruleUserData(r actions.RuleSpec) []byte {
	if r.Comment == "" || r.Kind == actions.RuleJump {
		return nil
	}
	return userdata.AppendString(nil, userdata.TypeComment, r.Comment)
}

// family builds the family-specific expressions: the inet table sees both
// IPv4 and IPv6, so every address match starts with an nfproto check.
type family struct{ v6 bool }

func (f family) proto() []expr.Any {
	p := byte(unix.NFPROTO_IPV4)
	if f.v6 {
		p = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{p}},
	}
}

func (f family) saddr(reg uint32) expr.Any {
	if f.v6 {
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16}
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
}

func (f family) daddr(reg uint32) expr.Any {
	if f.v6 {
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16}
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
}

// protoPort loads "meta l4proto . th dport" behind an address already in
// reg1: the fields follow the 4- or 16-byte address. The byteorder step is
// nft's (a no-op on a one-byte value); it is kept for an identical rule.
func (f family) protoPort() []expr.Any {
	protoReg, portReg := uint32(unix.NFT_REG32_01), uint32(unix.NFT_REG32_02)
	if f.v6 {
		protoReg, portReg = reg2, unix.NFT_REG32_05
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: protoReg},
		&expr.Byteorder{SourceRegister: protoReg, DestRegister: protoReg, Op: expr.ByteorderHton, Len: 1, Size: 2},
		&expr.Payload{DestRegister: portReg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// ctState matches "ct state" against any of bits; ct state is a host-order
// 32-bit value.
func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}
