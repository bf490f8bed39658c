package actions

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// The table phantomsoc owns. It never reads or writes any other.
const (
	TableFamily = "inet"
	TableName   = "phantomsoc"
	// ChainPriority runs phantomsoc's base chains before the usual filter
	// chains (priority 0), so a drop here wins over an accept there.
	ChainPriority = -10
)

// Chain names.
const (
	ChainInput   = "input"
	ChainForward = "forward"
	// ChainSources holds the per-source rules both base chains jump to.
	ChainSources = "sources"
)

// Set key kinds: how an element's key is built.
const (
	KeyAddr          = "addr"            // address or CIDR
	KeyAddrProtoPort = "addr-proto-port" // CIDR . protocol . port
	KeyIfaceAddr     = "iface-addr"      // interface . CIDR
)

// SetSpec describes one named set of the table.
type SetSpec struct {
	Name string
	V6   bool
	// Key is one of the Key* kinds.
	Key string
	// Timeout reports whether elements carry per-element timeouts.
	Timeout bool
	// Counter gives every element its own packet and byte counter, so
	// the drops of each decision can be read back (Enforcer.Drops).
	Counter bool
}

// NftType is the set's nft type expression.
func (s SetSpec) NftType() string {
	addr := "ipv4_addr"
	if s.V6 {
		addr = "ipv6_addr"
	}
	switch s.Key {
	case KeyAddrProtoPort:
		return addr + " . inet_proto . inet_service"
	case KeyIfaceAddr:
		return "ifname . " + addr
	}
	return addr
}

// Set name stems per action type; the family suffix is 4 or 6.
var setStems = map[string]string{
	engine.ActionBlock:      "block",
	engine.ActionRateLimit:  "ratelimit",
	engine.ActionFirewall:   "firewall",
	engine.ActionIsolate:    "isolate",
	engine.ActionQuarantine: "quarantine",
	engine.ActionTunnel:     "tunnel",
}

// Sets that hold configuration rather than actions.
const (
	stemMgmt      = "mgmt"
	stemQAllow    = "qallow"
	stemRateMeter = "rlmeter"
)

// SetName is the set holding type's elements for one family.
func SetName(typ string, v6 bool) string {
	if v6 {
		return setStems[typ] + "6"
	}
	return setStems[typ] + "4"
}

// TypeOfSet is the action type whose elements set holds, "" for a set that
// holds configuration.
func TypeOfSet(set string) string {
	stem := strings.TrimRight(set, "46")
	for t, s := range setStems {
		if s == stem {
			return t
		}
	}
	return ""
}

// ActionSets lists the sets holding action elements, in a fixed order.
func ActionSets() []SetSpec {
	var out []SetSpec
	for _, t := range Types() {
		for _, v6 := range []bool{false, true} {
			key := KeyAddr
			switch t {
			case engine.ActionFirewall:
				key = KeyAddrProtoPort
			case engine.ActionTunnel:
				key = KeyIfaceAddr
			}
			out = append(out, SetSpec{Name: SetName(t, v6), V6: v6, Key: key, Timeout: true, Counter: true})
		}
	}
	return out
}

// ConfigSets lists the sets the layout fills from configuration: the
// management addresses (isolate and quarantine keep them reachable) and the
// quarantine allow-list. The rate meters are dynamic sets, not listed here.
func ConfigSets() []SetSpec {
	return []SetSpec{
		{Name: stemMgmt + "4", Key: KeyAddr},
		{Name: stemMgmt + "6", V6: true, Key: KeyAddr},
		{Name: stemQAllow + "4", Key: KeyAddrProtoPort},
		{Name: stemQAllow + "6", V6: true, Key: KeyAddrProtoPort},
	}
}

// MeterSet is the dynamic set metering new connections from rate-limited
// sources of one family.
func MeterSet(v6 bool) string {
	if v6 {
		return stemRateMeter + "6"
	}
	return stemRateMeter + "4"
}

// Service is an address range, protocol and port: a quarantine allow-list
// entry.
type Service struct {
	Prefix netip.Prefix
	Proto  uint8
	Port   uint16
}

// Layout is the configuration part of the table, the same on every run: it
// changes only when the config does.
type Layout struct {
	// Mgmt are the management addresses: never acted on, and still able to
	// reach isolated and quarantined hosts.
	Mgmt []netip.Prefix
	// QuarantineAllow is where a quarantined host may still go.
	QuarantineAllow []Service
	// RatePerMinute is how many new connections per minute a rate-limited
	// source may open; RateBurst how many beyond that in a burst.
	RatePerMinute int
	RateBurst     int
}

// DefaultRatePerMinute and DefaultRateBurst apply when the config is silent.
const (
	DefaultRatePerMinute = 10
	DefaultRateBurst     = 5
	// MeterTimeout is how long a rate meter remembers a quiet source.
	MeterTimeout = time.Minute
)

// Validate checks l and applies the defaults.
func (l *Layout) Validate() error {
	var errs []error
	if l.RatePerMinute == 0 {
		l.RatePerMinute = DefaultRatePerMinute
	}
	if l.RateBurst == 0 {
		l.RateBurst = DefaultRateBurst
	}
	if l.RatePerMinute < 0 || l.RatePerMinute > 1_000_000 {
		errs = append(errs, fmt.Errorf("rate per minute %d: want 1-1000000", l.RatePerMinute))
	}
	if l.RateBurst < 0 || l.RateBurst > 1_000_000 {
		errs = append(errs, fmt.Errorf("rate burst %d: want 1-1000000", l.RateBurst))
	}
	for i, p := range l.Mgmt {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("management address %d is empty", i))
			continue
		}
		l.Mgmt[i] = NormalPrefix(p)
	}
	for i, s := range l.QuarantineAllow {
		if !s.Prefix.IsValid() {
			errs = append(errs, fmt.Errorf("quarantine allow %d: no address", i))
			continue
		}
		l.QuarantineAllow[i].Prefix = NormalPrefix(s.Prefix)
		if s.Proto != ProtoTCP && s.Proto != ProtoUDP || s.Port == 0 {
			errs = append(errs, fmt.Errorf("quarantine allow %d: want tcp or udp and a port", i))
		}
	}
	return errors.Join(errs...)
}

// ConfigElements are the elements of the configuration sets.
func (l *Layout) ConfigElements() []Element {
	var out []Element
	for _, p := range l.Mgmt {
		out = append(out, Element{Set: familySet(stemMgmt, p), Prefix: p})
	}
	for _, s := range l.QuarantineAllow {
		out = append(out, Element{Set: familySet(stemQAllow, s.Prefix), Prefix: s.Prefix, Proto: s.Proto, Port: s.Port})
	}
	return out
}

func familySet(stem string, p netip.Prefix) string {
	if p.Addr().Is6() {
		return stem + "6"
	}
	return stem + "4"
}

// Element is one set element: the unit phantomsoc adds to and removes from
// the kernel. Which fields make the key depends on the set.
type Element struct {
	Set    string
	Prefix netip.Prefix
	Proto  uint8
	Port   uint16
	Iface  string
	// Timeout is the element's TTL when added; 0 is permanent.
	Timeout time.Duration
	// Expires is the time left, as read back from the kernel; 0 for a
	// permanent element.
	Expires time.Duration
	// Counter is what the element matched, as read back from the kernel
	// (zero in a set without counters); never written.
	Counter Counter
}

// Key identifies the element within the table, whatever its timeout.
func (e Element) Key() string {
	var b strings.Builder
	b.WriteString(e.Set)
	b.WriteByte(' ')
	if e.Iface != "" {
		b.WriteString(e.Iface)
		b.WriteString(" . ")
	}
	b.WriteString(e.Prefix.String())
	if e.Port != 0 {
		fmt.Fprintf(&b, " . %s . %d", ProtoName(e.Proto), e.Port)
	}
	return b.String()
}

// Batch is one transaction on a gateway: every element of Add is added (an
// existing one gets its timeout refreshed), every element of Delete removed
// (one already gone is not an error). Deletes go first.
type Batch struct {
	Add    []Element
	Delete []Element
}

// Empty reports whether b changes nothing.
func (b Batch) Empty() bool { return len(b.Add) == 0 && len(b.Delete) == 0 }

// Rule comments name every counted rule, so counters can be read back by
// name whatever the rule handles are.
func RuleComment(chain, what string) string { return chain + ":" + what }
