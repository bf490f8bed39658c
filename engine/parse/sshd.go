package parse

import (
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Pattern names: stable, because `parse` reports hit counts per pattern and
// scenarios may match on them.
const (
	patFailedPassword   = "sshd.failed_password"
	patFailedPublickey  = "sshd.failed_publickey"
	patFailedKbdInt     = "sshd.failed_keyboard_interactive"
	patFailedNone       = "sshd.failed_none"
	patFailedOther      = "sshd.failed_other"
	patPAMAuthError     = "sshd.pam_auth_error"
	patInvalidUser      = "sshd.invalid_user"
	patIllegalUser      = "sshd.illegal_user"
	patInputUserauth    = "sshd.input_userauth_invalid_user"
	patUserNotAllowed   = "sshd.user_not_allowed"
	patMaxAuthAttempts  = "sshd.max_auth_attempts"
	patTooManyAuth      = "sshd.too_many_auth_failures"
	patTooManyAuthUser  = "sshd.too_many_auth_failures_user"
	patPAMMoreFailures  = "pam.more_auth_failures"
	patPAMIgnoringMax   = "pam.ignoring_max_retries"
	patPAMAuthFailure   = "pam.auth_failure"
	patPAMCheckPass     = "pam.check_pass"
	patPAMSession       = "pam.session"
	patConnClosed       = "sshd.connection_closed"
	patDisconnected     = "sshd.disconnected"
	patDisconnectedUser = "sshd.disconnected_user"
	patRecvDisconnect   = "sshd.received_disconnect"
	patConnReset        = "sshd.connection_reset"
	patReadError        = "sshd.read_error"
	patSocketFailed     = "sshd.socket_failed"
	patKexIdent         = "sshd.kex_exchange_identification"
	patUnableNegotiate  = "sshd.unable_to_negotiate"
	patBadProtocol      = "sshd.bad_protocol_version"
	patBannerExchange   = "sshd.banner_exchange"
	patNoIdent          = "sshd.no_identification"
	patTimeoutAuth      = "sshd.timeout_before_auth"
	patDispatchFatal    = "sshd.dispatch_run_fatal"
	patProtocolMajor    = "sshd.protocol_major_differ"
	patRefused          = "sshd.refused_connect"
	patReverseMapping   = "sshd.reverse_mapping"
	patAccepted         = "sshd.accepted"
	patConnection       = "sshd.connection"
	patSession          = "sshd.session"
	patServer           = "sshd.server"
)

// sshdPatterns lists every pattern above; Patterns returns a copy.
var sshdPatterns = []string{
	patFailedPassword, patFailedPublickey, patFailedKbdInt, patFailedNone,
	patFailedOther, patPAMAuthError, patInvalidUser, patIllegalUser,
	patInputUserauth, patUserNotAllowed, patMaxAuthAttempts, patTooManyAuth,
	patTooManyAuthUser, patPAMMoreFailures, patPAMIgnoringMax,
	patPAMAuthFailure, patPAMCheckPass, patPAMSession, patConnClosed,
	patDisconnected, patDisconnectedUser, patRecvDisconnect, patConnReset,
	patReadError, patSocketFailed, patKexIdent, patUnableNegotiate,
	patBadProtocol, patBannerExchange, patNoIdent, patTimeoutAuth,
	patDispatchFatal, patProtocolMajor, patRefused, patReverseMapping,
	patAccepted, patConnection, patSession, patServer,
}

// match is what one sshd rule made of a message.
type match struct {
	pattern   string
	typ       string
	indicator bool
	peer      peer
	user      string
	method    string
	// byPID asks for the peer to be taken from the pid table when the
	// message names none.
	byPID bool
	// closes drops the pid's table entry after use.
	closes bool
}

// sshd fills ev from an sshd message and reports whether it was recognised.
func (p *Parser) sshd(ev *engine.Event, msg string) bool {
	msg = trimRight(msg)
	if strings.HasPrefix(msg, "message repeated ") {
		n, inner, ok := repeated(msg[len("message repeated "):])
		if !ok {
			return false
		}
		ev.Count = n
		msg = inner
	}
	preauth := false
	if strings.HasSuffix(msg, " [preauth]") {
		preauth = true
		msg = msg[:len(msg)-len(" [preauth]")]
	}
	var m match
	if !matchSSHD(&m, msg, preauth) {
		return false
	}
	if !m.peer.valid() && (m.byPID || m.indicator) {
		if pr, ok := p.pids.get(ev.Host, ev.PID, ev.Time); ok {
			m.peer = pr
			m.peer.port = 0 // the port was the earlier line's
		}
	} else if m.peer.valid() {
		p.pids.put(ev.Host, ev.PID, m.peer, ev.Time)
	}
	if m.closes {
		p.pids.del(ev.Host, ev.PID)
	}
	if m.indicator && !m.peer.valid() {
		// Nobody to blame: the line still counts as recognised, but it
		// cannot feed detection.
		m.indicator = false
	}
	ev.Type = m.typ
	ev.Indicator = m.indicator
	ev.Pattern = m.pattern
	ev.Source = m.peer.addr
	ev.SourceHost = m.peer.host
	ev.SourcePort = m.peer.port
	ev.User = m.user
	ev.Method = m.method
	return true
}

// repeated reads rsyslog's "N times: [ INNER ]".
func repeated(s string) (int, string, bool) {
	n, i := 0, 0
	for i < len(s) && isDigit(s[i]) && i < 9 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || !strings.HasPrefix(s[i:], " times: [") || !strings.HasSuffix(s, "]") {
		return 0, "", false
	}
	inner := strings.TrimSpace(s[i+len(" times: [") : len(s)-1])
	return n, inner, true
}

func trimRight(s string) string {
	for len(s) > 0 {
		switch s[len(s)-1] {
		case ' ', '\t', '\r', '\n':
			s = s[:len(s)-1]
			continue
		}
		break
	}
	return s
}

// matchSSHD dispatches on the first bytes of the message, then on fixed
// literals. preauth reports that sshd's privsep child wrote the line
// (" [preauth]" already cut off).
func matchSSHD(m *match, msg string, preauth bool) bool {
	if len(msg) < 4 {
		return false
	}
	// sshd prefixes some messages with their log level.
	if strings.HasPrefix(msg, "error: ") {
		msg = msg[len("error: "):]
	} else if strings.HasPrefix(msg, "fatal: ") {
		msg = msg[len("fatal: "):]
	}
	if msg == "" {
		return false
	}
	switch msg[0] {
	case 'F':
		if rest, ok := strings.CutPrefix(msg, "Failed "); ok {
			return authLine(m, rest, false)
		}
	case 'A':
		if rest, ok := strings.CutPrefix(msg, "Accepted "); ok {
			if strings.HasPrefix(rest, "key ") || strings.HasPrefix(rest, "certificate ") {
				return other(m, patSession)
			}
			return authLine(m, rest, true)
		}
		if rest, ok := strings.CutPrefix(msg, "Address "); ok && strings.HasSuffix(rest, "POSSIBLE BREAK-IN ATTEMPT!") {
			tok, _, _ := strings.Cut(rest, " ")
			pr, ok := parsePeer(tok)
			if !ok || pr.host != "" {
				return false
			}
			m.peer = pr
			return other(m, patReverseMapping)
		}
	case 'I':
		if rest, ok := strings.CutPrefix(msg, "Invalid user "); ok {
			return invalidUser(m, rest, patInvalidUser)
		}
		if rest, ok := strings.CutPrefix(msg, "Illegal user "); ok {
			return invalidUser(m, rest, patIllegalUser)
		}
	case 'i':
		if rest, ok := strings.CutPrefix(msg, "input_userauth_request: invalid user "); ok {
			// The same connection's "Invalid user" line already counted
			// this probe; this debug echo only names the user again.
			m.set(patInputUserauth, engine.TypeSSHInvalidUser, false)
			m.user = rest
			m.byPID = true
			return true
		}
	case 'U':
		if rest, ok := strings.CutPrefix(msg, "User "); ok {
			return userNotAllowed(m, rest)
		}
		if rest, ok := strings.CutPrefix(msg, "Unable to negotiate with "); ok {
			return leadingAddrPort(m, rest, patUnableNegotiate, engine.TypeSSHNegotiation)
		}
		if strings.HasPrefix(msg, "User child is on pid ") {
			return other(m, patSession)
		}
	case 'm':
		if rest, ok := strings.CutPrefix(msg, "maximum authentication attempts exceeded for "); ok {
			user, pr, ok, amb := splitFrom(rest, tailSpec{ssh2: true})
			if !ok {
				return false
			}
			m.set(patMaxAuthAttempts, engine.TypeSSHMaxAttempts, true)
			m.user = strings.TrimPrefix(user, "invalid user ")
			if !amb {
				m.peer = pr
			}
			return true
		}
	case 'D':
		if rest, ok := strings.CutPrefix(msg, "Disconnecting: Too many authentication failures"); ok {
			m.set(patTooManyAuth, engine.TypeSSHMaxAttempts, true)
			m.user = strings.TrimPrefix(rest, " for ")
			m.byPID = true
			return true
		}
		if rest, ok := strings.CutPrefix(msg, "Disconnecting "); ok {
			head, ok := strings.CutSuffix(rest, ": Too many authentication failures")
			if !ok {
				return false
			}
			return closeLine(m, head, true, patTooManyAuthUser, engine.TypeSSHMaxAttempts, true)
		}
		if rest, ok := strings.CutPrefix(msg, "Disconnected from "); ok {
			if u, ok := strings.CutPrefix(rest, "user "); ok {
				// A post-login logout; the user name may itself look
				// like "authenticating user …", so it is checked first.
				user, pr, ok := lastAddrPort(u)
				if !ok {
					return false
				}
				m.peer, m.user, m.closes = pr, user, true
				return other(m, patDisconnectedUser)
			}
			return closeLine(m, rest, preauth, patDisconnected, engine.TypeSSHPreauthClose, true)
		}
		if rest, ok := strings.CutPrefix(msg, "Did not receive identification string from "); ok {
			return exactAddr(m, rest, patNoIdent, engine.TypeSSHNegotiation)
		}
	case 'C':
		if rest, ok := strings.CutPrefix(msg, "Connection closed by "); ok {
			return closeLine(m, rest, preauth, patConnClosed, engine.TypeSSHPreauthClose, true)
		}
		if rest, ok := strings.CutPrefix(msg, "Connection reset by "); ok {
			if rest == "peer" {
				m.set(patSocketFailed, engine.TypeSSHOther, false)
				if preauth {
					m.set(patSocketFailed, engine.TypeSSHPreauthClose, true)
				}
				m.byPID, m.closes = true, true
				return true
			}
			return closeLine(m, rest, preauth, patConnReset, engine.TypeSSHPreauthClose, true)
		}
		if rest, ok := strings.CutPrefix(msg, "Connection from "); ok {
			// "Connection from ADDR port N on ADDR port N[ rdomain "x"]"
			head, _, ok := strings.Cut(rest, " on ")
			if !ok {
				return false
			}
			pr, ok := addrPort(head)
			if !ok {
				return false
			}
			m.set(patConnection, engine.TypeSSHConnection, false)
			m.peer = pr
			return true
		}
		if strings.HasPrefix(msg, "Close session: ") {
			return other(m, patSession)
		}
	case 'R':
		if rest, ok := strings.CutPrefix(msg, "Received disconnect from "); ok {
			return receivedDisconnect(m, rest, preauth)
		}
		if rest, ok := strings.CutPrefix(msg, "Read error from remote host "); ok {
			head, _, ok := strings.Cut(rest, ": ")
			if !ok {
				return false
			}
			pr, ok := addrPort(head)
			if !ok {
				return false
			}
			m.peer, m.closes = pr, true
			if preauth {
				m.set(patReadError, engine.TypeSSHPreauthClose, true)
				return true
			}
			return other(m, patReadError)
		}
		if strings.HasPrefix(msg, "Received signal ") {
			return other(m, patServer)
		}
	case 'r':
		if rest, ok := strings.CutPrefix(msg, "refused connect from "); ok {
			return refused(m, rest)
		}
		if rest, ok := strings.CutPrefix(msg, "reverse mapping checking getaddrinfo for "); ok {
			return reverseMapping(m, rest)
		}
	case 'p':
		if strings.HasPrefix(msg, "pam_") {
			return pamModule(m, msg)
		}
	case 'P':
		if rest, ok := strings.CutPrefix(msg, "PAM "); ok {
			return pamCounts(m, rest)
		}
		if rest, ok := strings.CutPrefix(msg, "Protocol major versions differ"); ok {
			m.set(patProtocolMajor, engine.TypeSSHNegotiation, true)
			m.byPID = true
			if rest, ok := strings.CutPrefix(rest, " for "); ok {
				head, _, _ := strings.Cut(rest, ": ")
				if pr, ok := addrPort(head); ok {
					m.peer = pr
				} else if pr, ok := parsePeer(head); ok {
					m.peer = pr
				}
			}
			return true
		}
		if strings.HasPrefix(msg, "Postponed ") {
			return other(m, patSession)
		}
	case 'B':
		if rest, ok := strings.CutPrefix(msg, "Bad protocol version identification "); ok {
			_, pr, ok, _ := splitFrom(rest, tailSpec{portOptional: true})
			if !ok {
				return false
			}
			m.set(patBadProtocol, engine.TypeSSHNegotiation, true)
			m.peer, m.closes = pr, true
			return true
		}
	case 'b':
		if rest, ok := strings.CutPrefix(msg, "banner exchange: Connection from "); ok {
			return leadingAddrPort(m, rest, patBannerExchange, engine.TypeSSHNegotiation)
		}
	case 'T':
		if rest, ok := strings.CutPrefix(msg, "Timeout before authentication for "); ok {
			return exactAddr(m, rest, patTimeoutAuth, engine.TypeSSHNegotiation)
		}
		if strings.HasPrefix(msg, "Transferred: ") {
			return other(m, patSession)
		}
	case 's':
		if rest, ok := strings.CutPrefix(msg, "ssh_dispatch_run_fatal: Connection from "); ok {
			return dispatchFatal(m, rest)
		}
		if strings.HasPrefix(msg, "session opened for user ") || strings.HasPrefix(msg, "session closed for user ") {
			return other(m, patPAMSession)
		}
	case 'S':
		if strings.HasPrefix(msg, "Server listening on ") {
			return other(m, patServer)
		}
		if strings.HasPrefix(msg, "Starting session: ") {
			return other(m, patSession)
		}
	case 'k':
		if strings.HasPrefix(msg, "kex_exchange_identification: ") {
			m.set(patKexIdent, engine.TypeSSHPreauthClose, true)
			m.byPID = true
			return true
		}
	case 'W', 'w':
		if strings.HasPrefix(msg, "Write failed: ") {
			return socketFailed(m, preauth)
		}
	case 'a':
		// Old style "sshd(pam_unix)[pid]: authentication failure; …".
		if rest, ok := strings.CutPrefix(msg, "authentication failure; "); ok {
			// Old sshd(pam_unix) logs carry no sshd failure line of their
			// own: this is the attempt.
			return pamAuthFailure(m, rest, true)
		}
	case 'c':
		if strings.HasPrefix(msg, "check pass; user unknown") {
			return other(m, patPAMCheckPass)
		}
	}
	if strings.HasPrefix(msg, "Read from socket failed: ") {
		return socketFailed(m, preauth)
	}
	return false
}

func (m *match) set(pattern, typ string, indicator bool) {
	m.pattern, m.typ, m.indicator = pattern, typ, indicator
}

func other(m *match, pattern string) bool {
	m.set(pattern, engine.TypeSSHOther, false)
	return true
}
