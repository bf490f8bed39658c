package actions

import "github.com/phantomsoc/phantomsoc/engine"

// Rule kinds: the few shapes of rule the table holds. Both backends build
// every rule from this list (the text backend as nft syntax, the netlink
// backend as expressions), so the two tables are the same table.
const (
	// RuleJump: jump sources.
	RuleJump = iota
	// RuleSrcDrop: ip saddr @Set counter drop.
	RuleSrcDrop
	// RuleDstDrop: ip daddr @Set counter drop.
	RuleDstDrop
	// RuleRateLimit: ct state new ip saddr @Set update @meter
	// { ip saddr limit rate over R/minute burst B packets } counter drop.
	RuleRateLimit
	// RuleSrcService: ip saddr . meta l4proto . th dport @Set counter drop.
	RuleSrcService
	// RuleIfaceSrc: iifname . ip saddr @Set counter drop.
	RuleIfaceSrc
	// RuleIfaceDst: oifname . ip daddr @Set counter drop.
	RuleIfaceDst
	// RuleMgmtToHost: ip daddr @Set ip saddr @mgmt counter accept.
	RuleMgmtToHost
	// RuleHostToMgmtReply: ip saddr @Set ip daddr @mgmt ct state
	// established,related counter accept.
	RuleHostToMgmtReply
	// RuleHostToAllowed: ip saddr @Set ip daddr . meta l4proto . th dport
	// @qallow counter accept.
	RuleHostToAllowed
	// RuleReplyToHost: ip daddr @Set ct state established,related counter
	// accept.
	RuleReplyToHost
)

// RuleSpec is one rule of the table.
type RuleSpec struct {
	Chain string
	Kind  int
	V6    bool
	// Set is the set the rule matches on (the action's set).
	Set string
	// Comment names the rule for counters: "chain:what".
	Comment string
}

// Rules lists the table's rules, chain by chain, in order.
func Rules() []RuleSpec {
	var out []RuleSpec
	add := func(chain string, kind int, typ, what string) {
		for _, v6 := range []bool{false, true} {
			set := SetName(typ, v6)
			out = append(out, RuleSpec{Chain: chain, Kind: kind, V6: v6, Set: set, Comment: RuleComment(chain, set+what)})
		}
	}
	// Per-source rules, for traffic to the gateway and through it.
	add(ChainSources, RuleSrcDrop, engine.ActionBlock, "")
	add(ChainSources, RuleRateLimit, engine.ActionRateLimit, "")
	add(ChainSources, RuleSrcService, engine.ActionFirewall, "")
	add(ChainSources, RuleIfaceSrc, engine.ActionTunnel, "")

	out = append(out, RuleSpec{Chain: ChainInput, Kind: RuleJump})
	add(ChainInput, RuleSrcDrop, engine.ActionIsolate, "")
	add(ChainInput, RuleHostToAllowed, engine.ActionQuarantine, "-allowed")
	add(ChainInput, RuleSrcDrop, engine.ActionQuarantine, "")

	out = append(out, RuleSpec{Chain: ChainForward, Kind: RuleJump})
	add(ChainForward, RuleIfaceDst, engine.ActionTunnel, "-out")
	// An isolated host: the management addresses may still reach it (and
	// it may answer them); nothing else passes either way.
	add(ChainForward, RuleMgmtToHost, engine.ActionIsolate, "-mgmt")
	add(ChainForward, RuleHostToMgmtReply, engine.ActionIsolate, "-mgmt-reply")
	add(ChainForward, RuleSrcDrop, engine.ActionIsolate, "-from")
	add(ChainForward, RuleDstDrop, engine.ActionIsolate, "-to")
	// A quarantined host may open connections only to the allow-list,
	// and receive their replies; the management addresses as above.
	add(ChainForward, RuleHostToAllowed, engine.ActionQuarantine, "-allowed")
	add(ChainForward, RuleReplyToHost, engine.ActionQuarantine, "-reply")
	add(ChainForward, RuleMgmtToHost, engine.ActionQuarantine, "-mgmt")
	add(ChainForward, RuleHostToMgmtReply, engine.ActionQuarantine, "-mgmt-reply")
	add(ChainForward, RuleSrcDrop, engine.ActionQuarantine, "-from")
	add(ChainForward, RuleDstDrop, engine.ActionQuarantine, "-to")
	return out
}

// MgmtSet and QAllowSet name the configuration sets of a family.
func MgmtSet(v6 bool) string {
	if v6 {
		return stemMgmt + "6"
	}
	return stemMgmt + "4"
}

// QAllowSet is the quarantine allow-list set of a family.
func QAllowSet(v6 bool) string {
	if v6 {
		return stemQAllow + "6"
	}
	return stemQAllow + "4"
}
