package parse

import (
	"net/netip"
	"strings"
)

// peer is the remote end sshd named: an address, or a host name when sshd
// ran with UseDNS and logged the name instead.
type peer struct {
	addr netip.Addr
	host string
	port uint16
}

func (p peer) valid() bool { return p.addr.IsValid() || p.host != "" }

// parsePeer reads one address token as sshd writes it: IPv4, IPv6 with or
// without brackets, an IPv4-mapped IPv6 address (returned as IPv4), or a
// host name. Zoned addresses are rejected: a zone is meaningless to a
// firewall and must never reach a decision.
func parsePeer(tok string) (peer, bool) {
	if len(tok) >= 2 && tok[0] == '[' && tok[len(tok)-1] == ']' {
		tok = tok[1 : len(tok)-1]
	}
	if tok == "" {
		return peer{}, false
	}
	if looksLikeAddr(tok) {
		a, ok := parseIPv6(tok)
		if !ok {
			var err error
			if a, err = netip.ParseAddr(tok); err != nil || a.Zone() != "" {
				return peer{}, false
			}
		}
		return peer{addr: a.Unmap()}, true
	}
	if !isHostName(tok) {
		return peer{}, false
	}
	return peer{host: tok}, true
}

// looksLikeAddr reports whether tok should parse as an IP address: it has a
// colon (IPv6), or it is made of digits and dots only (IPv4). Anything else
// is a host name candidate.
func looksLikeAddr(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c == ':' || c == '%' {
			return true
		}
		if c != '.' && !isDigit(c) {
			return false
		}
	}
	return true
}

// isHostName accepts the characters a DNS name (as sshd prints it) can have.
func isHostName(s string) bool {
	if len(s) > 255 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parsePort reads 1–5 digits as a port number.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// tailSpec is the grammar of the tail sshd appends after the (attacker
// controlled) user name: "from ADDR[ port N][ ssh2][: KEYINFO]".
type tailSpec struct {
	portOptional bool // "Invalid user U from ADDR" (OpenSSH < 7.3)
	ssh2         bool // " ssh2" may follow the port
	key          bool // ": KEYINFO" may follow (publickey, hostbased)
}

// splitFrom splits "USER from ADDR port N ..." at the " from " that starts
// a tail matching spec exactly up to the end of s. It searches from the
// right: user names may contain " from ADDR port N" themselves, but nothing
// the peer controls follows sshd's own tail. When two positions both yield
// a well-formed tail (only possible with certificate key IDs, which are
// attacker text after the address), ambiguous is true and the caller must
// not trust either address on its own.
func splitFrom(s string, spec tailSpec) (user string, pr peer, ok, ambiguous bool) {
	end := len(s)
	for {
		i := lastFrom(s[:end])
		if i < 0 {
			if strings.HasPrefix(s, "from ") {
				// Empty user name: "Invalid user  from ADDR".
				if p2, ok2 := parseTail(s[5:], spec); ok2 {
					if ok {
						return user, pr, true, true
					}
					return "", p2, true, false
				}
			}
			return user, pr, ok, false
		}
		if p2, ok2 := parseTail(s[i+6:], spec); ok2 {
			if ok {
				return user, pr, true, true
			}
			user, pr, ok = s[:i], p2, true
			if !spec.key {
				// Without key info nothing may follow the port, so a
				// second match further left is impossible.
				return user, pr, true, false
			}
		}
		end = i
	}
}

// parseTail matches "ADDR[ port N][ ssh2][: KEYINFO]" against all of s.
func parseTail(s string, spec tailSpec) (peer, bool) {
	sp := strings.IndexByte(s, ' ')
	tok, rest := s, ""
	if sp >= 0 {
		tok, rest = s[:sp], s[sp:]
	}
	pr, ok := parsePeer(tok)
	if !ok {
		return peer{}, false
	}
	if strings.HasPrefix(rest, " port ") {
		rest = rest[6:]
		j := 0
		for j < len(rest) && isDigit(rest[j]) {
			j++
		}
		port, ok := parsePort(rest[:j])
		if !ok {
			return peer{}, false
		}
		pr.port = port
		rest = rest[j:]
	} else if !spec.portOptional {
		return peer{}, false
	}
	if spec.ssh2 && (strings.HasPrefix(rest, " ssh2") || strings.HasPrefix(rest, " ssh1")) {
		rest = rest[5:]
	}
	if rest == "" {
		return pr, true
	}
	if spec.key && strings.HasPrefix(rest, ": ") && validKeyInfo(rest[2:]) {
		return pr, true
	}
	return peer{}, false
}

// validKeyInfo matches what sshd prints for a key: "TYPE FP", or for a
// certificate "TYPE FP ID KEYID (serial N) CA TYPE FP".
func validKeyInfo(s string) bool {
	typ, fp, ok := strings.Cut(s, " ")
	if !ok || !validKeyType(typ) {
		return false
	}
	fp, cert, isCert := strings.Cut(fp, " ")
	if !validFingerprint(fp) {
		return false
	}
	if !isCert {
		return true
	}
	if !strings.HasPrefix(cert, "ID ") {
		return false
	}
	i := strings.LastIndex(cert, " CA ")
	if i < 0 {
		return false
	}
	head, ca := cert[:i], cert[i+4:]
	if !strings.HasSuffix(head, ")") || !strings.Contains(head, " (serial ") {
		return false
	}
	caType, caFP, ok := strings.Cut(ca, " ")
	return ok && validKeyType(caType) && validFingerprint(caFP)
}

func validKeyType(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '-' || c == '@' || c == '.') {
			return false
		}
	}
	return true
}

func validFingerprint(s string) bool {
	var body string
	switch {
	case strings.HasPrefix(s, "SHA256:"):
		body = s[7:]
	case strings.HasPrefix(s, "MD5:"):
		body = s[4:]
	default:
		return false
	}
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '+' || c == '/' || c == '=' || c == ':') {
			return false
		}
	}
	return true
}

// addrPort reads "ADDR port N" exactly (nothing before or after).
func addrPort(s string) (peer, bool) {
	return parseTail(s, tailSpec{})
}

// lastAddrPort splits "PREFIX ADDR port N" at the last " port N" and the
// address token before it; prefix is what precedes the address (for
// "authenticating user U ADDR port N", the attacker-controlled part).
func lastAddrPort(s string) (prefix string, pr peer, ok bool) {
	i := strings.LastIndex(s, " port ")
	if i < 0 {
		return "", peer{}, false
	}
	port, ok := parsePort(s[i+6:])
	if !ok {
		return "", peer{}, false
	}
	j := strings.LastIndexByte(s[:i], ' ')
	pr, ok = parsePeer(s[j+1 : i])
	if !ok {
		return "", peer{}, false
	}
	pr.port = port
	if j < 0 {
		return "", pr, true
	}
	return s[:j], pr, true
}

// parseIPv6 parses the plain IPv6 forms sshd writes (hex groups and one
// "::"), four times faster than netip.ParseAddr, which most addresses of
// a busy log went through. ok is false for anything else — IPv4, an
// embedded IPv4 tail, a zone, or an invalid address — which the caller
// leaves to netip; when ok is true the address is the one netip returns
// (FuzzParseIPv6 holds it to that).
func parseIPv6(s string) (netip.Addr, bool) {
	var ip [16]byte
	n := 0         // bytes of ip filled
	ellipsis := -1 // where "::" stands in ip
	i := 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis, i = 0, 2
	}
	for i < len(s) {
		if n == 16 {
			return netip.Addr{}, false
		}
		v, j := 0, i
		for j < len(s) && j-i < 4 {
			d := hexDigit(s[j])
			if d < 0 {
				break
			}
			v = v<<4 | d
			j++
		}
		if j == i || (j < len(s) && s[j] != ':') {
			return netip.Addr{}, false
		}
		ip[n], ip[n+1] = byte(v>>8), byte(v)
		n += 2
		if j == len(s) {
			break
		}
		i = j + 1 // past ':'
		switch {
		case i < len(s) && s[i] == ':':
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = n
			i++
		case i == len(s):
			return netip.Addr{}, false // a trailing single colon
		}
	}
	switch {
	case ellipsis >= 0:
		if n == 16 {
			return netip.Addr{}, false // "::" must stand for a group
		}
		tail := n - ellipsis
		copy(ip[16-tail:], ip[ellipsis:n])
		clear(ip[ellipsis : 16-tail])
	case n != 16:
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// lastFrom is strings.LastIndex(s, " from "), which ran for most lines:
// testing the space that ends the separator first skips nearly every
// position at one comparison.
func lastFrom(s string) int {
	for i := len(s) - len(" from "); i >= 0; i-- {
		if s[i+5] == ' ' && s[i] == ' ' && s[i+1:i+5] == "from" {
			return i
		}
	}
	return -1
}
