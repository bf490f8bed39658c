package netlink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/phantomsoc/phantomsoc/actions"
)

// List reads the table back: whether it is there and whole, the action
// sets' elements with the time they have left, and the rule counters.
func (b *Backend) List(ctx context.Context) (*actions.State, error) {
	if err := ctxErr(ctx, "list"); err != nil {
		return nil, err
	}
	st := &actions.State{Counters: map[string]actions.Counter{}, Version: b.version}
	if _, err := b.conn.ListTableOfFamily(actions.TableName, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			st.Missing = []string{"table " + actions.TableFamily + " " + actions.TableName}
			return st, nil
		}
		return nil, fmt.Errorf("netlink: list table: %w", err)
	}
	st.Present = true
	if err := b.listChains(st); err != nil {
		return nil, err
	}
	sets, err := b.listSets(st)
	if err != nil {
		return nil, err
	}
	for _, spec := range actions.ActionSets() {
		set, ok := sets[spec.Name]
		if !ok {
			continue
		}
		kes, err := b.conn.GetSetElements(set)
		if err != nil {
			return nil, fmt.Errorf("netlink: list elements of %s: %w", spec.Name, err)
		}
		st.Elements = append(st.Elements, decode(spec, kes)...)
	}
	st.Intact = len(st.Missing) == 0
	return st, nil
}

// listChains checks the chains and their rules against the layout and reads
// the counters. A rule is known by its comment (the jump by its target), so
// a rule deleted by hand is named in Missing whatever its handle was.
func (b *Backend) listChains(st *actions.State) error {
	chains, err := b.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("netlink: list chains: %w", err)
	}
	have := map[string]*nftables.Chain{}
	for _, c := range chains {
		if c.Table != nil && c.Table.Name == actions.TableName {
			have[c.Name] = c
		}
	}
	want := map[string][]string{}
	for _, r := range actions.Rules() {
		want[r.Chain] = append(want[r.Chain], ruleName(r))
	}
	for _, name := range chainOrder {
		c, ok := have[name]
		if !ok {
			st.Missing = append(st.Missing, "chain "+name)
			continue
		}
		if name != actions.ChainSources && (c.Hooknum == nil || c.Priority == nil || int(*c.Priority) != actions.ChainPriority) {
			st.Missing = append(st.Missing, fmt.Sprintf("chain %s hook at priority %d", name, actions.ChainPriority))
		}
		rules, err := b.conn.GetRules(b.table, c)
		if err != nil {
			return fmt.Errorf("netlink: list rules of chain %s: %w", name, err)
		}
		got := map[string]int{}
		for _, r := range rules {
			n := listedName(name, r)
			got[n]++
			if cnt := counterOf(r); cnt != nil && n != "" {
				st.Counters[n] = actions.Counter{Packets: cnt.Packets, Bytes: cnt.Bytes}
			}
		}
		for _, n := range want[name] {
			if got[n] == 0 {
				st.Missing = append(st.Missing, "rule "+n)
				continue
			}
			got[n]--
		}
		if len(rules) != len(want[name]) {
			st.Missing = append(st.Missing, fmt.Sprintf("chain %s has %d rules, want %d", name, len(rules), len(want[name])))
		}
	}
	return nil
}

// listSets checks the sets against the layout and returns them by name.
func (b *Backend) listSets(st *actions.State) (map[string]*nftables.Set, error) {
	sets, err := b.conn.GetSets(b.table)
	if err != nil {
		return nil, fmt.Errorf("netlink: list sets: %w", err)
	}
	have := map[string]*nftables.Set{}
	for _, s := range sets {
		have[s.Name] = s
	}
	check := func(want *nftables.Set) {
		got, ok := have[want.Name]
		switch {
		case !ok:
			st.Missing = append(st.Missing, "set "+want.Name)
		case got.KeyType.Name != want.KeyType.Name || got.Interval != want.Interval ||
			got.HasTimeout != want.HasTimeout || got.Dynamic != want.Dynamic:
			st.Missing = append(st.Missing, fmt.Sprintf("set %s of type %s (flags %s), found type %s (flags %s)",
				want.Name, want.KeyType.Name, setFlags(want), got.KeyType.Name, setFlags(got)))
		}
	}
	for _, spec := range append(actions.ActionSets(), actions.ConfigSets()...) {
		check(b.setOf(spec))
	}
	for _, v6 := range []bool{false, true} {
		check(b.meterOf(v6))
	}
	return have, nil
}

func setFlags(s *nftables.Set) string {
	var f []string
	if s.Dynamic {
		f = append(f, "dynamic")
	}
	if s.Interval {
		f = append(f, "interval")
	}
	if s.HasTimeout {
		f = append(f, "timeout")
	}
	return strings.Join(f, ",")
}

// ruleName is how List names a layout rule: its comment, or "chain:jump
// sources" for the uncommented jump.
func ruleName(r actions.RuleSpec) string {
	if r.Kind == actions.RuleJump {
		return actions.RuleComment(r.Chain, "jump "+actions.ChainSources)
	}
	return r.Comment
}

// listedName names a rule read from the kernel the same way; "" for a rule
// that is neither commented nor phantomsoc's jump.
func listedName(chain string, r *nftables.Rule) string {
	if c, ok := comment(r.UserData); ok {
		return c
	}
	if len(r.Exprs) == 1 {
		if v, ok := r.Exprs[0].(*expr.Verdict); ok && v.Kind == expr.VerdictJump && v.Chain == actions.ChainSources {
			return actions.RuleComment(chain, "jump "+actions.ChainSources)
		}
	}
	return ""
}

func counterOf(r *nftables.Rule) *expr.Counter {
	for _, e := range r.Exprs {
		if c, ok := e.(*expr.Counter); ok {
			return c
		}
	}
	return nil
}

// comment reads the comment TLV of a rule's userdata. It checks bounds
// itself: userdata is whatever the rule's author wrote, and the library's
// reader slices before it checks.
func comment(ud []byte) (string, bool) {
	for len(ud) >= 2 {
		typ, n := ud[0], int(ud[1])
		if len(ud) < 2+n {
			return "", false
		}
		if typ == byte(userdata.TypeComment) {
			return strings.TrimRight(string(ud[2:2+n]), "\x00"), true
		}
		ud = ud[2+n:]
	}
	return "", false
}
