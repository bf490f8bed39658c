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
		a, err := netip.ParseAddr(tok)
		if err != nil || a.Zone() != "" {
			return peer{}, false
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
		i := strings.LastIndex(s[:end], " from ")
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
