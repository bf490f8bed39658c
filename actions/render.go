package actions

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// The renderer writes nft scripts for `nft -f -` from validated values only:
// prefixes, protocol numbers, ports, durations and interface names that
// passed ValidIface. Nothing a user typed is copied in as text, so no value
// can close a brace, start a comment or run a second command.

// RenderTable writes the script that replaces phantomsoc's table, atomically,
// with the layout's chains, sets and rules holding elems. The add-then-delete
// pair makes the delete valid whether or not the table exists.
func RenderTable(l *Layout, elems []Element) string {
	var b strings.Builder
	fmt.Fprintf(&b, "add table %s %s\n", TableFamily, TableName)
	fmt.Fprintf(&b, "delete table %s %s\n", TableFamily, TableName)
	fmt.Fprintf(&b, "table %s %s {\n", TableFamily, TableName)
	for _, s := range append(ActionSets(), ConfigSets()...) {
		flags := "interval"
		if s.Timeout {
			flags += ",timeout"
		}
		counter := ""
		if s.Counter {
			counter = "\t\tcounter\n"
		}
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tflags %s\n%s\t}\n", s.Name, s.NftType(), flags, counter)
	}
	for _, v6 := range []bool{false, true} {
		typ := "ipv4_addr"
		if v6 {
			typ = "ipv6_addr"
		}
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout %s\n\t}\n", MeterSet(v6), typ, nftDuration(MeterTimeout))
	}
	rules := Rules()
	for _, chain := range []string{ChainSources, ChainInput, ChainForward} {
		fmt.Fprintf(&b, "\tchain %s {\n", chain)
		if chain != ChainSources {
			fmt.Fprintf(&b, "\t\ttype filter hook %s priority %d; policy accept;\n", chain, ChainPriority)
		}
		for _, r := range rules {
			if r.Chain == chain {
				fmt.Fprintf(&b, "\t\t%s\n", renderRule(l, r))
			}
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	writeElements(&b, "add", append(l.ConfigElements(), elems...))
	return b.String()
}

func renderRule(l *Layout, r RuleSpec) string {
	ip := "ip"
	if r.V6 {
		ip = "ip6"
	}
	comment := fmt.Sprintf(" comment %q", r.Comment)
	switch r.Kind {
	case RuleJump:
		return "jump " + ChainSources
	case RuleSrcDrop:
		return fmt.Sprintf("%s saddr @%s counter drop%s", ip, r.Set, comment)
	case RuleDstDrop:
		return fmt.Sprintf("%s daddr @%s counter drop%s", ip, r.Set, comment)
	case RuleRateLimit:
		return fmt.Sprintf("ct state new %s saddr @%s update @%s { %s saddr limit rate over %d/minute burst %d packets } counter drop%s",
			ip, r.Set, MeterSet(r.V6), ip, l.RatePerMinute, l.RateBurst, comment)
	case RuleSrcService:
		return fmt.Sprintf("%s saddr . meta l4proto . th dport @%s counter drop%s", ip, r.Set, comment)
	case RuleIfaceSrc:
		return fmt.Sprintf("iifname . %s saddr @%s counter drop%s", ip, r.Set, comment)
	case RuleIfaceDst:
		return fmt.Sprintf("oifname . %s daddr @%s counter drop%s", ip, r.Set, comment)
	case RuleMgmtToHost:
		return fmt.Sprintf("%s daddr @%s %s saddr @%s counter accept%s", ip, r.Set, ip, MgmtSet(r.V6), comment)
	case RuleHostToMgmtReply:
		return fmt.Sprintf("%s saddr @%s %s daddr @%s ct state established,related counter accept%s", ip, r.Set, ip, MgmtSet(r.V6), comment)
	case RuleHostToAllowed:
		return fmt.Sprintf("%s saddr @%s %s daddr . meta l4proto . th dport @%s counter accept%s", ip, r.Set, ip, QAllowSet(r.V6), comment)
	case RuleReplyToHost:
		return fmt.Sprintf("%s daddr @%s ct state established,related counter accept%s", ip, r.Set, comment)
	}
	panic("actions: unknown rule kind " + strconv.Itoa(r.Kind)) // a programming error in Rules
}

// RenderBatch writes the script applying b: deletes first, then adds. A
// delete is written as add-then-delete so removing an element that already
// expired is not an error (nft's delete fails the whole batch on a missing
// element, and destroy needs nft 1.0.8 and Linux 6.3).
func RenderBatch(b Batch) string {
	var sb strings.Builder
	if len(b.Delete) > 0 {
		bare := make([]Element, len(b.Delete))
		for i, e := range b.Delete {
			e.Timeout = 0
			bare[i] = e
		}
		writeElements(&sb, "add", bare)
		writeElements(&sb, "delete", bare)
	}
	writeElements(&sb, "add", b.Add)
	return sb.String()
}

// elementsPerLine keeps each command well under nft's line buffer while
// still batching: one transaction carries every line of the script.
const elementsPerLine = 512

func writeElements(b *strings.Builder, verb string, elems []Element) {
	// Group by set, keeping first-seen order so output is deterministic.
	var order []string
	bySet := map[string][]Element{}
	for _, e := range elems {
		if _, ok := bySet[e.Set]; !ok {
			order = append(order, e.Set)
		}
		bySet[e.Set] = append(bySet[e.Set], e)
	}
	for _, set := range order {
		es := bySet[set]
		for len(es) > 0 {
			n := min(len(es), elementsPerLine)
			fmt.Fprintf(b, "%s element %s %s %s { ", verb, TableFamily, TableName, set)
			for i, e := range es[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(renderKey(e))
				if verb == "add" && e.Timeout > 0 {
					b.WriteString(" timeout ")
					b.WriteString(nftDuration(e.Timeout))
				}
			}
			b.WriteString(" }\n")
			es = es[n:]
		}
	}
}

func renderKey(e Element) string {
	var b strings.Builder
	if e.Iface != "" {
		b.WriteString(strconv.Quote(e.Iface))
		b.WriteString(" . ")
	}
	b.WriteString(engine.PrefixString(e.Prefix))
	if e.Port != 0 {
		fmt.Fprintf(&b, " . %s . %d", ProtoName(e.Proto), e.Port)
	}
	return b.String()
}

// nftDuration renders d in nft's time syntax, to the millisecond.
func nftDuration(d time.Duration) string {
	ms := d.Milliseconds()
	if ms <= 0 {
		return "1ms"
	}
	var b strings.Builder
	for _, u := range []struct {
		ms   int64
		name string
	}{{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}} {
		if n := ms / u.ms; n > 0 {
			b.WriteString(strconv.FormatInt(n, 10))
			b.WriteString(u.name)
			ms -= n * u.ms
		}
	}
	return b.String()
}
