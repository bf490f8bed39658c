package parse

import (
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// authLine reads "METHOD for [invalid user ]USER from ADDR port N ssh2[:
// KEYINFO]" after "Failed " or "Accepted ".
func authLine(m *match, s string, accepted bool) bool {
	method, rest, ok := strings.Cut(s, " for ")
	if !ok || method == "" || strings.IndexByte(method, ' ') >= 0 {
		return false
	}
	key := method == "publickey" || method == "hostbased"
	user, pr, ok, amb := splitFrom(rest, tailSpec{ssh2: true, key: key})
	if !ok {
		return false
	}
	base, _, _ := strings.Cut(method, "/")
	m.method = base
	if !amb {
		m.peer = pr
	} else {
		m.byPID = true
	}
	if accepted {
		m.set(patAccepted, engine.TypeSSHAuthSuccess, false)
		m.user = user
		return true
	}
	switch base {
	case "password":
		m.pattern = patFailedPassword
	case "publickey":
		m.pattern = patFailedPublickey
	case "keyboard-interactive":
		m.pattern = patFailedKbdInt
	case "none":
		m.pattern = patFailedNone
	default:
		m.pattern = patFailedOther
	}
	m.typ, m.indicator = engine.TypeSSHAuthFailure, true
	if u, ok := strings.CutPrefix(user, "invalid user "); ok {
		m.typ, user = engine.TypeSSHInvalidUser, u
	}
	m.user = user
	return true
}

// invalidUser reads "USER from ADDR[ port N]".
func invalidUser(m *match, s, pattern string) bool {
	user, pr, ok, _ := splitFrom(s, tailSpec{portOptional: true})
	if !ok {
		return false
	}
	m.set(pattern, engine.TypeSSHInvalidUser, true)
	m.user, m.peer = user, pr
	return true
}

// userNotAllowed reads "USER from ADDR not allowed because REASON"; the
// reason is one of sshd's fixed texts, so the last " not allowed because "
// is sshd's own.
func userNotAllowed(m *match, s string) bool {
	i := strings.LastIndex(s, " not allowed because ")
	if i < 0 {
		return false
	}
	m.set(patUserNotAllowed, engine.TypeSSHInvalidUser, true)
	user, pr, ok, _ := splitFrom(s[:i], tailSpec{portOptional: true})
	if !ok {
		// "User U not allowed because account is locked": no address.
		m.user, m.byPID = s[:i], true
		return true
	}
	m.user, m.peer = user, pr
	return true
}

// closeLine reads "[authenticating user U |invalid user U ]ADDR[ port N]"
// of the close/disconnect/reset family. The address is the last token
// before the final " port N"; everything before it is the user part.
// Without [preauth] and without a user the line is an ordinary close.
func closeLine(m *match, s string, preauth bool, pattern, typ string, closes bool) bool {
	head, pr, ok := lastAddrPort(s)
	if !ok {
		if strings.IndexByte(s, ' ') >= 0 {
			return false
		}
		// OpenSSH < 7.3: "Connection closed by ADDR".
		if pr, ok = parsePeer(s); !ok {
			return false
		}
		head = ""
	}
	named := false
	if head != "" {
		if u, ok := strings.CutPrefix(head, "authenticating user "); ok {
			m.user, named = u, true
		} else if u, ok := strings.CutPrefix(head, "invalid user "); ok {
			m.user, named = u, true
		} else {
			return false
		}
	}
	m.peer, m.closes = pr, closes
	if preauth || named {
		m.set(pattern, typ, true)
		return true
	}
	return other(m, pattern)
}

// receivedDisconnect reads "ADDR port N:CODE: TEXT" or (before OpenSSH 7.3)
// "ADDR: CODE: TEXT". TEXT is the client's; the address comes first, in
// sshd's fixed position.
func receivedDisconnect(m *match, s string, preauth bool) bool {
	tok, rest, _ := strings.Cut(s, " ")
	var pr peer
	var ok bool
	if strings.HasPrefix(rest, "port ") {
		pr, ok = parsePeer(tok)
		digits := rest[5:]
		j := 0
		for j < len(digits) && isDigit(digits[j]) {
			j++
		}
		if ok {
			pr.port, ok = parsePort(digits[:j])
		}
		if ok && (j == len(digits) || digits[j] != ':') {
			ok = false
		}
	} else if a, found := strings.CutSuffix(tok, ":"); found {
		pr, ok = parsePeer(a)
	}
	if !ok {
		return false
	}
	m.peer, m.closes = pr, true
	if preauth {
		m.set(patRecvDisconnect, engine.TypeSSHPreauthClose, true)
		return true
	}
	return other(m, patRecvDisconnect)
}

func socketFailed(m *match, preauth bool) bool {
	m.byPID, m.closes = true, true
	if preauth {
		m.set(patSocketFailed, engine.TypeSSHPreauthClose, true)
		return true
	}
	return other(m, patSocketFailed)
}

// leadingAddrPort reads "ADDR port N: TEXT" where TEXT (the client's offer
// or an error) follows sshd's own address.
func leadingAddrPort(m *match, s, pattern, typ string) bool {
	head, _, ok := strings.Cut(s, ": ")
	if !ok {
		head = s
	}
	pr, ok := addrPort(head)
	if !ok {
		return false
	}
	m.set(pattern, typ, true)
	// The connection's last line: its pid may be reused.
	m.peer, m.closes = pr, true
	return true
}

// exactAddr reads "ADDR[ port N]" making up the whole rest of the line.
func exactAddr(m *match, s, pattern, typ string) bool {
	pr, ok := parseTail(s, tailSpec{portOptional: true})
	if !ok {
		return false
	}
	m.set(pattern, typ, true)
	// The connection's last line: its pid may be reused.
	m.peer, m.closes = pr, true
	return true
}

// dispatchFatal reads "[authenticating user U |invalid user U ]ADDR port N:
// ERROR". ERROR is one of sshd's ssh_err texts, none of which contains
// " port ", so the last " port N: " is sshd's.
func dispatchFatal(m *match, s string) bool {
	i := strings.LastIndex(s, " port ")
	if i < 0 {
		return false
	}
	j := strings.Index(s[i:], ": ")
	if j < 0 {
		return false
	}
	head, pr, ok := lastAddrPort(s[:i+j])
	if !ok {
		return false
	}
	if u, ok := strings.CutPrefix(head, "authenticating user "); ok {
		m.user = u
	} else if u, ok := strings.CutPrefix(head, "invalid user "); ok {
		m.user = u
	} else if head != "" {
		return false
	}
	m.set(patDispatchFatal, engine.TypeSSHNegotiation, true)
	m.peer = pr
	return true
}

// refused reads tcp_wrappers' "HOST (ADDR)".
func refused(m *match, s string) bool {
	if !strings.HasSuffix(s, ")") {
		return false
	}
	i := strings.LastIndex(s, " (")
	if i < 0 {
		return false
	}
	pr, ok := parsePeer(s[i+2 : len(s)-1])
	if !ok {
		return false
	}
	m.set(patRefused, engine.TypeSSHRefused, true)
	m.peer = pr
	return true
}

// reverseMapping reads "NAME [ADDR] failed - POSSIBLE BREAK-IN ATTEMPT!".
// It is DNS hygiene, not an attack: recognised, never an indicator, but it
// names the peer for the pid table.
func reverseMapping(m *match, s string) bool {
	for _, suf := range [...]string{" failed - POSSIBLE BREAK-IN ATTEMPT!", " failed.", " failed"} {
		if h, ok := strings.CutSuffix(s, suf); ok {
			s = h
			break
		}
	}
	if !strings.HasSuffix(s, "]") {
		return false
	}
	i := strings.LastIndex(s, " [")
	if i < 0 {
		return false
	}
	pr, ok := parsePeer(s[i+2 : len(s)-1])
	if !ok || pr.host != "" {
		return false
	}
	m.peer = pr
	return other(m, patReverseMapping)
}

// pamModule reads "pam_MODULE(sshd:FACILITY): TEXT".
func pamModule(m *match, msg string) bool {
	i := strings.Index(msg, "): ")
	if i < 0 {
		return false
	}
	mod, rest := msg[:i+1], msg[i+3:]
	if !strings.Contains(mod, "(sshd:") {
		return false
	}
	switch {
	case strings.HasPrefix(rest, "authentication failure; "):
		// sshd logs its own "Failed password" line for the same attempt:
		// counting both would double every failure (and turn a user's
		// three typos into six), so this line only names the peer.
		return pamAuthFailure(m, rest[len("authentication failure; "):], false)
	case strings.HasPrefix(rest, "check pass; "):
		return other(m, patPAMCheckPass)
	case strings.HasPrefix(rest, "session opened for user "), strings.HasPrefix(rest, "session closed for user "):
		return other(m, patPAMSession)
	}
	return false
}

// pamAuthFailure reads PAM's failure fields; indicator is false where sshd
// reports the same attempt itself.
func pamAuthFailure(m *match, kv string, indicator bool) bool {
	rhost, user := pamFields(kv)
	typ := engine.TypeSSHAuthFailure
	if !indicator {
		typ = engine.TypePAMFailure
	}
	m.set(patPAMAuthFailure, typ, indicator)
	m.user = user
	m.byPID = true
	if rhost != "" {
		if pr, ok := parsePeer(rhost); ok {
			m.peer = pr
		}
	}
	return true
}

// pamCounts reads "N more authentication failure(s); KV" and "service(sshd)
// ignoring max retries; N > M" (after "PAM ").
func pamCounts(m *match, s string) bool {
	if strings.HasPrefix(s, "service(sshd) ignoring max retries; ") {
		m.set(patPAMIgnoringMax, engine.TypeSSHMaxAttempts, true)
		m.byPID = true
		return true
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	rest, ok := strings.CutPrefix(s[i:], " more authentication failure")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "s")
	kv, ok := strings.CutPrefix(rest, "; ")
	if !ok {
		return false
	}
	rhost, user := pamFields(kv)
	m.set(patPAMMoreFailures, engine.TypeSSHMaxAttempts, true)
	m.user = user
	m.byPID = true
	if rhost != "" {
		if pr, ok := parsePeer(rhost); ok {
			m.peer = pr
		}
	}
	return true
}

// pamFields reads pam_unix's "logname=L uid=N euid=N tty=T ruser=R rhost=H
// [ user=U]" left to right. user is the attempted (attacker-chosen) name
// and always comes last, so scanning stops at it: whatever it contains can
// never supply rhost.
func pamFields(s string) (rhost, user string) {
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if u, ok := strings.CutPrefix(s, "user="); ok {
			return rhost, u
		}
		tok, rest, _ := strings.Cut(s, " ")
		key, val, ok := strings.Cut(tok, "=")
		if !ok {
			return rhost, user
		}
		switch key {
		case "rhost":
			rhost = val
		case "logname", "uid", "euid", "tty", "ruser":
		default:
			return rhost, user
		}
		s = rest
	}
	return rhost, user
}
