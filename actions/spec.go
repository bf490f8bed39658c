package actions

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Types lists the remediation types, each with its exact inverse (removing
// the elements it added).
func Types() []string {
	return []string{engine.ActionBlock, engine.ActionRateLimit, engine.ActionFirewall,
		engine.ActionIsolate, engine.ActionQuarantine, engine.ActionTunnel}
}

// Protocol numbers a firewall rule may name.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
)

// Spec is one remediation, validated: every field is a typed value that can
// be rendered into an nft batch without quoting concerns. Build it with
// ParseSpec or check it with Validate.
type Spec struct {
	Type string
	// Target is the source (block, rate-limit, firewall-rule), the internal
	// host (isolate, quarantine) or the tunnel peer's address (tunnel). For
	// firewall-rule an invalid (zero) Target means everyone.
	Target netip.Prefix
	// Proto and Port are the firewall rule's protocol and destination port.
	Proto uint8
	Port  uint16
	// Iface is the tunnel interface.
	Iface string
	// TTL is enforced by the kernel per element; 0 is permanent, which must
	// be asked for explicitly (Permanent).
	TTL       time.Duration
	Permanent bool
}

// MaxTTL bounds a TTL: nftables keeps timeouts in milliseconds in a u64, but
// a decade is already a permanent action in disguise.
const MaxTTL = 10 * 365 * 24 * time.Hour

// ifacePattern is what the kernel accepts as an interface name (at most 15
// bytes, no slash, no whitespace), narrowed to characters that need no
// quoting anywhere.
var ifacePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$`) })

// ValidIface reports whether s is an interface name phantomsoc accepts.
func ValidIface(s string) bool { return ifacePattern().MatchString(s) }

// Validate checks s in place: the target is masked to its prefix, IPv4-mapped
// IPv6 is unmapped, and every field the type does not use must be empty.
func (s *Spec) Validate() error {
	known := false
	for _, t := range Types() {
		known = known || t == s.Type
	}
	if !known {
		return fmt.Errorf("type %q: want one of %s", s.Type, strings.Join(Types(), ", "))
	}
	var errs []error
	if s.Target.IsValid() {
		s.Target = NormalPrefix(s.Target)
	} else if s.Type != engine.ActionFirewall {
		errs = append(errs, fmt.Errorf("%s needs a target address or CIDR", s.Type))
	}
	switch {
	case s.TTL < 0:
		errs = append(errs, fmt.Errorf("ttl %s is negative", s.TTL))
	case s.TTL > MaxTTL:
		errs = append(errs, fmt.Errorf("ttl %s exceeds %s: ask for a permanent action instead", s.TTL, MaxTTL))
	case s.TTL == 0 && !s.Permanent:
		errs = append(errs, errors.New("no ttl: give one or make the action explicitly permanent"))
	case s.TTL != 0 && s.Permanent:
		errs = append(errs, errors.New("a permanent action has no ttl"))
	case s.TTL%time.Millisecond != 0:
		s.TTL = s.TTL.Truncate(time.Millisecond)
	}
	if s.Type == engine.ActionFirewall {
		if s.Proto != ProtoTCP && s.Proto != ProtoUDP {
			errs = append(errs, fmt.Errorf("firewall-rule protocol %d: want tcp or udp", s.Proto))
		}
		if s.Port == 0 {
			errs = append(errs, errors.New("firewall-rule needs a port 1-65535"))
		}
	} else if s.Proto != 0 || s.Port != 0 {
		errs = append(errs, fmt.Errorf("%s takes no protocol or port", s.Type))
	}
	if s.Type == engine.ActionTunnel {
		if !ValidIface(s.Iface) {
			errs = append(errs, fmt.Errorf("tunnel interface %q: want 1-15 of [A-Za-z0-9_.-], starting with a letter or digit", s.Iface))
		}
	} else if s.Iface != "" {
		errs = append(errs, fmt.Errorf("%s takes no interface", s.Type))
	}
	return errors.Join(errs...)
}

// NormalPrefix masks p and turns an IPv4-mapped IPv6 prefix into IPv4, so
// ::ffff:192.0.2.1 cannot dodge an IPv4 rule or an IPv4 guard.
func NormalPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			bits = 0
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
	}
	return p.Masked()
}

// ParseTarget reads an address or CIDR as a user typed it.
func ParseTarget(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("target %q: not an address or CIDR", s)
		}
		return NormalPrefix(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("target %q: not an address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParsePort reads "tcp/2222" or "udp/53".
func ParsePort(s string) (proto uint8, port uint16, err error) {
	name, num, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "/")
	if !ok {
		return 0, 0, fmt.Errorf("port %q: want PROTO/PORT, e.g. tcp/2222", s)
	}
	switch name {
	case "tcp":
		proto = ProtoTCP
	case "udp":
		proto = ProtoUDP
	default:
		return 0, 0, fmt.Errorf("port %q: protocol must be tcp or udp", s)
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return 0, 0, fmt.Errorf("port %q: port must be 1-65535", s)
	}
	return proto, uint16(n), nil
}

// ProtoName is the nft keyword for a protocol number.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// String renders s for people and audit records.
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Type)
	b.WriteByte(' ')
	if s.Target.IsValid() {
		b.WriteString(engine.PrefixString(s.Target))
	} else {
		b.WriteString("everyone")
	}
	if s.Type == engine.ActionFirewall {
		fmt.Fprintf(&b, " %s/%d", ProtoName(s.Proto), s.Port)
	}
	if s.Iface != "" {
		fmt.Fprintf(&b, " on %s", s.Iface)
	}
	if s.Permanent {
		b.WriteString(" permanent")
	} else {
		fmt.Fprintf(&b, " for %s", s.TTL)
	}
	return b.String()
}

// Elements is what s puts into the kernel: one set element per family it
// touches (a firewall rule for everyone covers both families).
func (s Spec) Elements() []Element {
	el := func(p netip.Prefix) Element {
		return Element{Set: SetName(s.Type, p.Addr().Is6()), Prefix: p, Proto: s.Proto, Port: s.Port, Iface: s.Iface, Timeout: s.TTL}
	}
	if !s.Target.IsValid() {
		return []Element{el(netip.MustParsePrefix("0.0.0.0/0")), el(netip.MustParsePrefix("::/0"))}
	}
	return []Element{el(s.Target)}
}
