package evidence

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Capture limits: a pcap is bounded in time, packets and bytes per packet.
const (
	MaxCaptureDuration = 10 * time.Minute
	MaxCapturePackets  = 100_000
	DefaultPackets     = 10_000
	DefaultDuration    = 30 * time.Second
	// snapLen is the bytes kept of each packet: headers and the start of
	// the payload, which is what an investigation reads.
	snapLen = 262
)

// ErrInvalid is wrapped by every refusal of a value before a command runs.
var ErrInvalid = errors.New("invalid evidence parameter")

var (
	// ifacePattern is a Linux interface name (IFNAMSIZ-1 bytes, no
	// slash, colon or space), or "any".
	ifacePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$`) })
	// userPattern is a login name as sshd logs it, narrowed.
	userPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$`) })
	// netnsPattern is an `ip netns` name.
	netnsPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`) })
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ParseTarget reads a source as an address or a prefix; zones, and the
// unspecified and hostless forms, are refused. An address is a /32 or
// /128.
func ParseTarget(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, invalid("source %q: %v", s, err)
		}
		return checkTarget(p)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, invalid("source %q: want an IP address or prefix", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, invalid("source %q: zoned addresses are not supported", s)
	}
	a = a.Unmap()
	return checkTarget(netip.PrefixFrom(a, a.BitLen()))
}

// checkTarget refuses prefixes a filter must not be built from.
func checkTarget(p netip.Prefix) (netip.Prefix, error) {
	switch {
	case !p.IsValid():
		return p, invalid("source: no address")
	case p.Addr().Zone() != "":
		return p, invalid("source %s: zoned addresses are not supported", p)
	case p.Addr().Is4In6():
		return checkTarget(netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96))
	case p.Bits() == 0:
		return p, invalid("source %s: matches every address", p)
	}
	return p.Masked(), nil
}

// single reports whether p is one address.
func single(p netip.Prefix) bool { return p.Bits() == p.Addr().BitLen() }

// CheckIface validates an interface name for tcpdump -i.
func CheckIface(s string) error {
	if !ifacePattern().MatchString(s) {
		return invalid("interface %q: want a Linux interface name", s)
	}
	return nil
}

// CheckUser validates a login name.
func CheckUser(s string) error {
	if !userPattern().MatchString(s) {
		return invalid("user %q: want a login name (letters, digits, _ . @ -)", s)
	}
	return nil
}

// BPFFilter is the capture filter for traffic to or from p, on port when
// it is not 0: "host 192.0.2.10", "net 192.0.2.0/24 and port 22". It is
// built only from the parsed values, so it can never say more.
func BPFFilter(p netip.Prefix, port uint16) ([]string, error) {
	p, err := checkTarget(p)
	if err != nil {
		return nil, err
	}
	f := []string{"net", p.String()}
	if single(p) {
		f = []string{"host", p.Addr().String()}
	}
	if port != 0 {
		f = append(f, "and", "port", strconv.FormatUint(uint64(port), 10))
	}
	return f, nil
}

// ParseFilter reads a capture filter written by hand, accepting only the
// shapes BPFFilter builds: "host ADDR" or "net PREFIX", optionally followed
// by "and port N". The command gets the filter rebuilt from the values.
func ParseFilter(s string) (netip.Prefix, uint16, error) {
	f := strings.Fields(s)
	if len(f) != 2 && len(f) != 5 {
		return netip.Prefix{}, 0, invalid("filter %q: want \"host ADDR\" or \"net PREFIX\", optionally \"and port N\"", s)
	}
	switch {
	case f[0] == "host" && strings.Contains(f[1], "/"):
		return netip.Prefix{}, 0, invalid("filter %q: host takes an address", s)
	case f[0] == "net" && !strings.Contains(f[1], "/"):
		return netip.Prefix{}, 0, invalid("filter %q: net takes a prefix", s)
	case f[0] != "host" && f[0] != "net":
		return netip.Prefix{}, 0, invalid("filter %q: starts with %q, want host or net", s, f[0])
	}
	p, err := ParseTarget(f[1])
	if err != nil {
		return netip.Prefix{}, 0, err
	}
	if len(f) == 2 {
		return p, 0, nil
	}
	if f[2] != "and" || f[3] != "port" {
		return netip.Prefix{}, 0, invalid("filter %q: want \"and port N\" after the address", s)
	}
	n, err := strconv.ParseUint(f[4], 10, 16)
	if err != nil || n == 0 {
		return netip.Prefix{}, 0, invalid("filter %q: port %q: want 1-65535", s, f[4])
	}
	return p, uint16(n), nil
}

// ssFilter selects sockets whose remote end is in p: ss's own filter
// language, IPv6 in brackets so a colon is not read as a port.
func ssFilter(p netip.Prefix) []string {
	switch {
	case single(p) && p.Addr().Is6():
		return []string{"dst", "[" + p.Addr().String() + "]"}
	case single(p):
		return []string{"dst", p.Addr().String()}
	case p.Addr().Is6():
		return []string{"dst", "[" + p.Addr().String() + "]/" + strconv.Itoa(p.Bits())}
	}
	return []string{"dst", p.String()}
}

// conntrackFilter selects flows that p originated.
func conntrackFilter(p netip.Prefix) []string {
	f := []string{"-s", p.Addr().String()}
	if p.Addr().Is6() {
		f = append([]string{"-f", "ipv6"}, f...)
	}
	if !single(p) {
		f = append(f, "--mask-src", prefixMask(p))
	}
	return f
}

// prefixMask writes p's netmask in address form (255.255.255.0, ffff::).
func prefixMask(p netip.Prefix) string {
	b := make([]byte, p.Addr().BitLen()/8)
	for i := range p.Bits() {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a.String()
}

// safeArg is what an argument of a command may hold: the characters of
// addresses, prefixes, numbers, names and flags. No space, quote, $, `,
// ;, |, &, <, >, *, ?, newline or backslash can pass.
var safeArg = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:/@%+=,\[\]-]+$`) })

// programs are the only commands a collector runs; timeout wraps tcpdump.
var programs = map[string]bool{"nft": true, "ss": true, "conntrack": true, "tcpdump": true, "timeout": true}

// CheckArgv is the last check before a command runs, locally or on a
// gateway: a known program and arguments of safe characters only.
func CheckArgv(argv []string) error {
	if len(argv) == 0 || !programs[argv[0]] {
		return invalid("command %q: not one of the evidence programs", argv)
	}
	if argv[0] == "timeout" && !programs[commandOf(argv)] {
		return invalid("command %q: timeout wraps an evidence program only", argv)
	}
	for _, a := range argv[1:] {
		if !safeArg().MatchString(a) {
			return invalid("command %s: argument %q holds characters outside [A-Za-z0-9_.:/@%%+=,[]-]", argv[0], a)
		}
	}
	return nil
}

// commandOf is the program a timeout argv runs: the first argument that is
// not an option or the option's value.
func commandOf(argv []string) string {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-s" || a == "-k":
			i++
		case strings.HasPrefix(a, "-"):
		case i+1 < len(argv) && isDuration(a):
			return argv[i+1]
		default:
			return ""
		}
	}
	return ""
}

func isDuration(s string) bool {
	_, err := strconv.ParseUint(strings.TrimSuffix(s, "s"), 10, 32)
	return err == nil
}
