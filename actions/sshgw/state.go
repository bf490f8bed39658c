package sshgw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
)

// The shapes of `nft -j list table` output this package reads (libnftables
// JSON schema 1). Every object of the list has a single key naming its kind.
type (
	nftDoc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	nftTable struct {
		Family string `json:"family"`
		Name   string `json:"name"`
	}
	nftSet struct {
		Family string            `json:"family"`
		Table  string            `json:"table"`
		Name   string            `json:"name"`
		Type   json.RawMessage   `json:"type"`
		Elem   []json.RawMessage `json:"elem"`
	}
	nftChain struct {
		Family string `json:"family"`
		Table  string `json:"table"`
		Name   string `json:"name"`
		Hook   string `json:"hook"`
	}
	nftRule struct {
		Family  string                       `json:"family"`
		Table   string                       `json:"table"`
		Chain   string                       `json:"chain"`
		Comment string                       `json:"comment"`
		Expr    []map[string]json.RawMessage `json:"expr"`
	}
	// nftElem is an element with options; a bare element is just its value.
	nftElem struct {
		Val     json.RawMessage  `json:"val"`
		Timeout *int64           `json:"timeout"`
		Expires *int64           `json:"expires"`
		Counter *actions.Counter `json:"counter"`
	}
	nftPrefix struct {
		Addr string `json:"addr"`
		Len  int    `json:"len"`
	}
)

func ours(family, table string) bool {
	return family == actions.TableFamily && table == actions.TableName
}

// hasTable reads `nft -j list tables` output.
func hasTable(data []byte) (bool, error) {
	var doc nftDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return false, fmt.Errorf("parse nft tables: %w", err)
	}
	for _, o := range doc.Nftables {
		if raw, ok := o["table"]; ok {
			var t nftTable
			if err := json.Unmarshal(raw, &t); err != nil {
				return false, fmt.Errorf("parse nft tables: %w", err)
			}
			if ours(t.Family, t.Name) {
				return true, nil
			}
		}
	}
	return false, nil
}

// parseState reads `nft -j list table inet phantomsoc` output against the
// layout l. What is unexpected — a set of the wrong type, an element this
// backend never writes — makes the table not Intact rather than the read
// failing: the enforcer then rebuilds, which repairs it.
func parseState(data []byte, l *actions.Layout) (*actions.State, error) {
	var doc nftDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse nft output: %w", err)
	}
	st := &actions.State{Counters: map[string]actions.Counter{}}
	sets := map[string]nftSet{}
	chains := map[string]nftChain{}
	rules := map[string]int{}
	comments := map[string]bool{}
	for i, o := range doc.Nftables {
		for kind, raw := range o {
			var err error
			switch kind {
			case "table":
				var t nftTable
				if err = json.Unmarshal(raw, &t); err == nil && ours(t.Family, t.Name) {
					st.Present = true
				}
			case "set":
				var s nftSet
				if err = json.Unmarshal(raw, &s); err == nil && ours(s.Family, s.Table) {
					sets[s.Name] = s
				}
			case "chain":
				var c nftChain
				if err = json.Unmarshal(raw, &c); err == nil && ours(c.Family, c.Table) {
					chains[c.Name] = c
				}
			case "rule":
				var r nftRule
				if err = json.Unmarshal(raw, &r); err == nil && ours(r.Family, r.Table) {
					rules[r.Chain]++
					if r.Comment != "" {
						comments[r.Comment] = true
						if c, ok := ruleCounter(r); ok {
							st.Counters[r.Comment] = c
						}
					}
				}
			}
			if err != nil {
				return nil, fmt.Errorf("parse nft output: object %d (%s): %w", i, kind, err)
			}
		}
	}
	if !st.Present {
		st.Missing = []string{"table " + actions.TableFamily + " " + actions.TableName}
		return st, nil
	}

	var missing []string
	configSets := actions.ConfigSets()
	allSets := slices.Concat(actions.ActionSets(), configSets)
	have := map[string]bool{}
	for _, spec := range allSets {
		s, ok := sets[spec.Name]
		if !ok {
			missing = append(missing, "set "+spec.Name)
			continue
		}
		if got := typeString(s.Type); got != spec.NftType() {
			missing = append(missing, fmt.Sprintf("set %s of type %s (has %s)", spec.Name, spec.NftType(), got))
			continue
		}
		isConfig := slices.ContainsFunc(configSets, func(c actions.SetSpec) bool { return c.Name == spec.Name })
		for _, raw := range s.Elem {
			e, err := parseElem(spec, raw)
			if err != nil {
				missing = append(missing, fmt.Sprintf("set %s: element this backend never writes: %v", spec.Name, err))
				continue
			}
			if isConfig {
				have[e.Key()] = true
			} else {
				st.Elements = append(st.Elements, e)
			}
		}
	}
	for _, v6 := range []bool{false, true} {
		if _, ok := sets[actions.MeterSet(v6)]; !ok {
			missing = append(missing, "set "+actions.MeterSet(v6))
		}
	}
	// The configuration elements are part of the layout: a missing
	// management address would let isolation cut off the administrators.
	for _, e := range l.ConfigElements() {
		if !have[e.Key()] {
			missing = append(missing, "element "+e.Key())
		}
	}

	want := map[string]int{}
	for _, r := range actions.Rules() {
		want[r.Chain]++
		if r.Comment != "" && !comments[r.Comment] {
			missing = append(missing, "rule "+r.Comment)
		}
	}
	for _, name := range []string{actions.ChainSources, actions.ChainInput, actions.ChainForward} {
		c, ok := chains[name]
		switch {
		case !ok:
			missing = append(missing, "chain "+name)
			continue
		case name != actions.ChainSources && c.Hook != name:
			// A same-named regular chain filters nothing.
			missing = append(missing, fmt.Sprintf("chain %s hooked to %s", name, name))
		}
		if rules[name] != want[name] {
			missing = append(missing, fmt.Sprintf("chain %s with %d rules (has %d)", name, want[name], rules[name]))
		}
	}
	st.Missing = missing
	st.Intact = len(missing) == 0
	return st, nil
}

// typeString renders a set's JSON type ("ipv4_addr" or a concatenation as a
// list) in nft syntax, as SetSpec.NftType does.
func typeString(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return strings.Join(many, " . ")
	}
	return string(raw)
}

func ruleCounter(r nftRule) (actions.Counter, bool) {
	for _, x := range r.Expr {
		raw, ok := x["counter"]
		if !ok {
			continue
		}
		var c actions.Counter
		// A named counter reference is a string, not counts.
		if json.Unmarshal(raw, &c) == nil {
			return c, true
		}
	}
	return actions.Counter{}, false
}

// parseElem reads one element of a set of kind spec: a bare value, or
// {"elem": {"val": …, "timeout": s, "expires": s}} when it has a timeout.
func parseElem(spec actions.SetSpec, raw json.RawMessage) (actions.Element, error) {
	e := actions.Element{Set: spec.Name}
	val := raw
	var wrap struct {
		Elem *nftElem `json:"elem"`
	}
	if json.Unmarshal(raw, &wrap) == nil && wrap.Elem != nil {
		val = wrap.Elem.Val
		// nft -j reports both in whole seconds.
		if t := wrap.Elem.Timeout; t != nil {
			if *t < 0 || *t > int64(actions.MaxTTL/time.Second) {
				return e, fmt.Errorf("timeout %ds out of range", *t)
			}
			e.Timeout = time.Duration(*t) * time.Second
		}
		if c := wrap.Elem.Counter; c != nil {
			e.Counter = *c
		}
		if t := wrap.Elem.Expires; t != nil {
			if *t < 0 || *t > int64(actions.MaxTTL/time.Second) {
				return e, fmt.Errorf("expires %ds out of range", *t)
			}
			e.Expires = time.Duration(*t) * time.Second
		}
	}
	var parts []json.RawMessage
	if spec.Key != actions.KeyAddr {
		var concat struct {
			Concat []json.RawMessage `json:"concat"`
		}
		if err := json.Unmarshal(val, &concat); err != nil || concat.Concat == nil {
			return e, fmt.Errorf("%s: want a concatenation", val)
		}
		parts = concat.Concat
	}
	var err error
	switch spec.Key {
	case actions.KeyAddr:
		e.Prefix, err = parsePrefix(val, spec.V6)
	case actions.KeyAddrProtoPort:
		if len(parts) != 3 {
			return e, fmt.Errorf("%s: want address . protocol . port", val)
		}
		if e.Prefix, err = parsePrefix(parts[0], spec.V6); err == nil {
			if e.Proto, err = parseProto(parts[1]); err == nil {
				e.Port, err = parsePort(parts[2])
			}
		}
	case actions.KeyIfaceAddr:
		if len(parts) != 2 {
			return e, fmt.Errorf("%s: want interface . address", val)
		}
		if err = json.Unmarshal(parts[0], &e.Iface); err != nil || !actions.ValidIface(e.Iface) {
			return e, fmt.Errorf("%s: interface %q not accepted", parts[0], e.Iface)
		}
		e.Prefix, err = parsePrefix(parts[1], spec.V6)
	default:
		return e, fmt.Errorf("key kind %q unknown to this backend", spec.Key)
	}
	return e, err
}

// parsePrefix reads "192.0.2.1" or {"prefix": {"addr": …, "len": n}}. A range
// ({"range": [a, b]}) is refused: nft prints every prefix as one, so a range
// was written by someone else.
func parsePrefix(raw json.RawMessage, v6 bool) (netip.Prefix, error) {
	var p netip.Prefix
	var s string
	if json.Unmarshal(raw, &s) == nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("address %q: %w", s, err)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	} else {
		var w struct {
			Prefix *nftPrefix `json:"prefix"`
		}
		if err := json.Unmarshal(raw, &w); err != nil || w.Prefix == nil {
			return p, fmt.Errorf("%s: want an address or prefix", raw)
		}
		a, err := netip.ParseAddr(w.Prefix.Addr)
		if err != nil {
			return p, fmt.Errorf("prefix address %q: %w", w.Prefix.Addr, err)
		}
		if w.Prefix.Len < 0 || w.Prefix.Len > a.BitLen() {
			return p, fmt.Errorf("prefix %s/%d: bad length", a, w.Prefix.Len)
		}
		p = netip.PrefixFrom(a, w.Prefix.Len)
	}
	if p.Addr().Zone() != "" || p.Addr().Is6() != v6 || p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("prefix %s does not belong in this set", p)
	}
	return p, nil
}

// parseProto reads "tcp", "udp" or a protocol number.
func parseProto(raw json.RawMessage) (uint8, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "tcp":
			return actions.ProtoTCP, nil
		case "udp":
			return actions.ProtoUDP, nil
		}
		raw = json.RawMessage(s)
	}
	n, err := strconv.ParseUint(string(raw), 10, 8)
	if err != nil || (uint8(n) != actions.ProtoTCP && uint8(n) != actions.ProtoUDP) {
		return 0, fmt.Errorf("protocol %s: want tcp or udp", raw)
	}
	return uint8(n), nil
}

// parsePort reads a port number; nft prints names only when asked (-S).
func parsePort(raw json.RawMessage) (uint16, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	n, err := strconv.ParseUint(string(raw), 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("port " + string(raw) + ": want 1-65535")
	}
	return uint16(n), nil
}
