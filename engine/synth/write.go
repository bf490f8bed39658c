package synth

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// kind is a line template.
type kind uint8

const (
	kListen4 kind = iota
	kListen6
	kInvalidUser
	kPamUnknown
	kPamAuthFail
	kPamAuthFailNoUser
	kFailedPassword
	kFailedPasswordInvalid
	kMaxAttempts
	kMaxAttemptsInvalid
	kDisconnectingAuth
	kDisconnectingInvalid
	kPamMore
	kPamMoreNoUser
	kPamIgnoring
	kClosedAuth
	kClosedInvalid
	kByeBye
	kDisconnectedAuth
	kDisconnectedInvalid
	kAcceptedPassword
	kAcceptedPublickey
	kSessionOpened
	kUserDisconnect
	kDisconnectedUser
	kSessionClosed
	kNoIdent
	kKexClosed
	kClosedBare
	kKexReset
	kResetBare
	kKexInvalidIdent
	kBannerInvalid
	kBadProtocol
	kNegotiateKex
	kNegotiateHostKey
	kClosedPreauth
	kLogindNew
	kLogindLoggedOut
	kLogindRemoved
	kCronOpened
	kCronCmd
	kCronClosed
	kSystemd
)

// Tables indexed by event.n.
var (
	banners = [...]string{
		"GET / HTTP/1.1",
		"\\026\\003\\001\\002",
		"SSH-1.5-Server",
		"MGLNDD_203.0.113.1_22",
		"HELP",
	}
	kexOffers = [...]string{
		"diffie-hellman-group1-sha1",
		"diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1",
		"diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1",
	}
	hostKeyOffers = [...]string{
		"ssh-rsa,ssh-dss",
		"ssh-dss",
	}
	cronCmds = [...]string{
		cmdHourly:  "   cd / && run-parts --report /etc/cron.hourly",
		cmdDaily:   "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }",
		cmdSysstat: "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
	}
	systemdMsgs = [...]string{
		sdAptStart:        "Starting apt-daily.service - Daily apt download activities...",
		sdAptDone:         "apt-daily.service: Deactivated successfully.",
		sdAptFinished:     "Finished apt-daily.service - Daily apt download activities.",
		sdTmpStart:        "Starting systemd-tmpfiles-clean.service - Cleanup of Temporary Directories...",
		sdTmpDone:         "systemd-tmpfiles-clean.service: Deactivated successfully.",
		sdTmpFinished:     "Finished systemd-tmpfiles-clean.service - Cleanup of Temporary Directories.",
		sdSysstatStart:    "Starting sysstat-collect.service - system activity accounting tool...",
		sdSysstatDone:     "sysstat-collect.service: Deactivated successfully.",
		sdSysstatFinished: "Finished sysstat-collect.service - system activity accounting tool.",
	}
)

const (
	cmdHourly = iota
	cmdDaily
	cmdSysstat
)

const (
	sdAptStart = iota
	sdAptDone
	sdAptFinished
	sdTmpStart
	sdTmpDone
	sdTmpFinished
	sdSysstatStart
	sdSysstatDone
	sdSysstatFinished
)

// Fixed PIDs of long-running processes.
const (
	pidSystemd = 1
	pidLogind  = 612
	pidSshd    = 804
)

// stamp is the RFC 3164 TIMESTAMP layout.
const stamp = "Jan _2 15:04:05"

// write renders the events and collects the truth from what was written.
func (g *gen) write(w io.Writer) (Truth, error) {
	r := g.rng(saltWrite)
	lw := lineWriter{
		g: g, bw: bufio.NewWriterSize(w, 64<<10), r: r,
		nextPID: int32(1100 + r.IntN(400)), nextSess: int32(1 + r.IntN(40)), lastAt: -1,
	}
	g.conns[0].pid = pidSshd
	seen := make([]map[netip.Addr]struct{}, len(classNames))
	dense := make([]map[netip.Addr]struct{}, g.groups)
	lines := 0
	for copyN := range max(g.o.Repeat, 1) {
		if copyN > 0 {
			// A new period: every connection but sshd's own is a new
			// process.
			for i := range g.conns[1:] {
				g.conns[1+i].pid, g.conns[1+i].sess = 0, 0
			}
		}
		off := int64(copyN) * int64(g.o.Duration/time.Second)
		for _, e := range g.events {
			lines++
			if err := lw.line(e, off+e.at); err != nil {
				return Truth{}, fmt.Errorf("write line %d: %w", lines, err)
			}
			if copyN == 0 {
				note(seen, dense, &g.conns[e.conn])
			}
		}
	}
	if err := lw.bw.Flush(); err != nil {
		return Truth{}, fmt.Errorf("flush: %w", err)
	}
	t := Truth{Sources: make(map[Class][]netip.Addr), Lines: lines}
	for cl, set := range seen {
		if len(set) > 0 {
			t.Sources[classNames[cl]] = sortedAddrs(set)
		}
	}
	for _, set := range dense {
		if len(set) > 0 {
			t.DensePrefixes = append(t.DensePrefixes, coverPrefix(sortedAddrs(set)))
		}
	}
	return t, nil
}

// lineWriter formats events into lines, giving out PIDs and logind
// sessions in line order.
type lineWriter struct {
	g                 *gen
	bw                *bufio.Writer
	r                 *rand.Rand
	buf               []byte
	nextPID, nextSess int32
	lastAt            int64 // the second buf's stamp holds
}

// line writes e's line at `at` seconds after Start.
func (lw *lineWriter) line(e event, at int64) error {
	g := lw.g
	c := &g.conns[e.conn]
	if at != lw.lastAt {
		lw.buf = appendStamp(lw.buf[:0], g.start+at)
		lw.lastAt = at
	}
	buf := lw.buf[:len(stamp)]
	buf = append(buf, ' ')
	buf = append(buf, g.o.Host...)
	buf = append(buf, ' ')
	switch prog := progOf(e.kind); prog {
	case "sshd", "CRON":
		if c.pid == 0 {
			c.pid = lw.nextPID
			lw.nextPID += 1 + int32(lw.r.IntN(4))
			if prog == "CRON" {
				lw.nextPID++ // the job's child
			}
		}
		pid := c.pid
		if e.kind == kCronCmd {
			pid++
		}
		buf = appendProg(buf, prog, pid)
	case "systemd-logind":
		if c.sess == 0 {
			c.sess = lw.nextSess
			lw.nextSess++
		}
		buf = appendProg(buf, prog, pidLogind)
	default:
		buf = appendProg(buf, prog, pidSystemd)
	}
	buf = appendMsg(buf, e, c)
	buf = append(buf, '\n')
	lw.buf = buf
	_, err := lw.bw.Write(buf)
	return err
}

// note records c's address in the truth sets of its class and dense group.
func note(seen, dense []map[netip.Addr]struct{}, c *conn) {
	if c.class == clNoise || !c.addr.IsValid() {
		return
	}
	if seen[c.class] == nil {
		seen[c.class] = make(map[netip.Addr]struct{})
	}
	seen[c.class][c.addr] = struct{}{}
	if c.group >= 0 {
		if dense[c.group] == nil {
			dense[c.group] = make(map[netip.Addr]struct{})
		}
		dense[c.group][c.addr] = struct{}{}
	}
}

// appendStamp appends the syslog timestamp of Unix second sec.
func appendStamp(buf []byte, sec int64) []byte {
	return time.Unix(sec, 0).UTC().AppendFormat(buf, stamp)
}

// appendProg appends "prog[pid]: ".
func appendProg(buf []byte, prog string, pid int32) []byte {
	buf = append(buf, prog...)
	buf = append(buf, '[')
	buf = strconv.AppendInt(buf, int64(pid), 10)
	return append(buf, "]: "...)
}

// progOf names the program that logs a kind.
func progOf(k kind) string {
	switch k {
	case kLogindNew, kLogindLoggedOut, kLogindRemoved:
		return "systemd-logind"
	case kCronOpened, kCronCmd, kCronClosed:
		return "CRON"
	case kSystemd:
		return "systemd"
	}
	return "sshd"
}

// appendPeer appends "A port P".
func appendPeer(buf []byte, c *conn) []byte {
	buf = c.addr.AppendTo(buf)
	buf = append(buf, " port "...)
	return strconv.AppendUint(buf, uint64(c.port), 10)
}

// appendRhost appends pam_unix's remote part, which has two spaces before
// user= as pam_unix really prints it.
func appendRhost(buf []byte, c *conn, user bool) []byte {
	buf = append(buf, "logname= uid=0 euid=0 tty=ssh ruser= rhost="...)
	buf = c.addr.AppendTo(buf)
	if user {
		buf = append(buf, "  user="...)
		buf = append(buf, c.user...)
	}
	return buf
}

// appendMsg appends the message of e, in OpenSSH's (and PAM's) wording at
// the default INFO level.
func appendMsg(buf []byte, e event, c *conn) []byte {
	switch e.kind {
	case kListen4:
		return append(buf, "Server listening on 0.0.0.0 port 22."...)
	case kListen6:
		return append(buf, "Server listening on :: port 22."...)
	case kInvalidUser:
		buf = append(buf, "Invalid user "...)
		buf = append(buf, c.user...)
		buf = append(buf, " from "...)
		return appendPeer(buf, c)
	case kPamUnknown:
		return append(buf, "pam_unix(sshd:auth): check pass; user unknown"...)
	case kPamAuthFail, kPamAuthFailNoUser:
		buf = append(buf, "pam_unix(sshd:auth): authentication failure; "...)
		return appendRhost(buf, c, e.kind == kPamAuthFail)
	case kFailedPassword, kFailedPasswordInvalid, kMaxAttempts, kMaxAttemptsInvalid, kAcceptedPassword, kAcceptedPublickey:
		switch e.kind {
		case kFailedPassword, kFailedPasswordInvalid:
			buf = append(buf, "Failed password for "...)
		case kMaxAttempts, kMaxAttemptsInvalid:
			buf = append(buf, "error: maximum authentication attempts exceeded for "...)
		case kAcceptedPassword:
			buf = append(buf, "Accepted password for "...)
		default:
			buf = append(buf, "Accepted publickey for "...)
		}
		if e.kind == kFailedPasswordInvalid || e.kind == kMaxAttemptsInvalid {
			buf = append(buf, "invalid user "...)
		}
		buf = append(buf, c.user...)
		buf = append(buf, " from "...)
		buf = appendPeer(buf, c)
		buf = append(buf, " ssh2"...)
		switch e.kind {
		case kMaxAttempts, kMaxAttemptsInvalid:
			buf = append(buf, " [preauth]"...)
		case kAcceptedPublickey:
			buf = append(buf, ": ED25519 SHA256:"...)
			buf = append(buf, c.key...)
		}
		return buf
	case kDisconnectingAuth, kDisconnectingInvalid:
		buf = append(buf, "Disconnecting "...)
		buf = appendWho(buf, e.kind == kDisconnectingInvalid, c)
		return append(buf, ": Too many authentication failures [preauth]"...)
	case kPamMore, kPamMoreNoUser:
		buf = append(buf, "PAM "...)
		buf = strconv.AppendUint(buf, uint64(e.n), 10)
		buf = append(buf, " more authentication failure"...)
		if e.n != 1 {
			buf = append(buf, 's')
		}
		buf = append(buf, "; "...)
		return appendRhost(buf, c, e.kind == kPamMore)
	case kPamIgnoring:
		return append(buf, "PAM service(sshd) ignoring max retries; 6 > 3"...)
	case kClosedAuth, kClosedInvalid:
		buf = append(buf, "Connection closed by "...)
		buf = appendWho(buf, e.kind == kClosedInvalid, c)
		return append(buf, " [preauth]"...)
	case kByeBye:
		buf = append(buf, "Received disconnect from "...)
		buf = appendPeer(buf, c)
		return append(buf, ":11: Bye Bye [preauth]"...)
	case kDisconnectedAuth, kDisconnectedInvalid:
		buf = append(buf, "Disconnected from "...)
		buf = appendWho(buf, e.kind == kDisconnectedInvalid, c)
		return append(buf, " [preauth]"...)
	case kSessionOpened:
		buf = append(buf, "pam_unix(sshd:session): session opened for user "...)
		buf = append(buf, c.user...)
		buf = append(buf, "(uid="...)
		buf = strconv.AppendInt(buf, int64(c.uid), 10)
		return append(buf, ") by (uid=0)"...)
	case kUserDisconnect:
		buf = append(buf, "Received disconnect from "...)
		buf = appendPeer(buf, c)
		return append(buf, ":11: disconnected by user"...)
	case kDisconnectedUser:
		buf = append(buf, "Disconnected from user "...)
		buf = append(buf, c.user...)
		buf = append(buf, ' ')
		return appendPeer(buf, c)
	case kSessionClosed:
		buf = append(buf, "pam_unix(sshd:session): session closed for user "...)
		return append(buf, c.user...)
	case kNoIdent:
		buf = append(buf, "Did not receive identification string from "...)
		return appendPeer(buf, c)
	case kKexClosed:
		return append(buf, "error: kex_exchange_identification: Connection closed by remote host"...)
	case kClosedBare:
		buf = append(buf, "Connection closed by "...)
		return appendPeer(buf, c)
	case kKexReset:
		return append(buf, "error: kex_exchange_identification: read: Connection reset by peer"...)
	case kResetBare:
		buf = append(buf, "Connection reset by "...)
		return appendPeer(buf, c)
	case kKexInvalidIdent:
		buf = append(buf, `error: kex_exchange_identification: client sent invalid protocol identifier "`...)
		buf = append(buf, banners[e.n]...)
		return append(buf, '"')
	case kBannerInvalid:
		buf = append(buf, "banner exchange: Connection from "...)
		buf = appendPeer(buf, c)
		return append(buf, ": invalid format"...)
	case kBadProtocol:
		buf = append(buf, "Bad protocol version identification '"...)
		buf = append(buf, banners[e.n]...)
		buf = append(buf, "' from "...)
		return appendPeer(buf, c)
	case kNegotiateKex, kNegotiateHostKey:
		buf = append(buf, "Unable to negotiate with "...)
		buf = appendPeer(buf, c)
		if e.kind == kNegotiateKex {
			buf = append(buf, ": no matching key exchange method found. Their offer: "...)
			buf = append(buf, kexOffers[e.n]...)
		} else {
			buf = append(buf, ": no matching host key type found. Their offer: "...)
			buf = append(buf, hostKeyOffers[e.n]...)
		}
		return append(buf, " [preauth]"...)
	case kClosedPreauth:
		buf = append(buf, "Connection closed by "...)
		buf = appendPeer(buf, c)
		return append(buf, " [preauth]"...)
	case kLogindNew:
		buf = append(buf, "New session "...)
		buf = strconv.AppendInt(buf, int64(c.sess), 10)
		buf = append(buf, " of user "...)
		buf = append(buf, c.user...)
		return append(buf, '.')
	case kLogindLoggedOut:
		buf = append(buf, "Session "...)
		buf = strconv.AppendInt(buf, int64(c.sess), 10)
		return append(buf, " logged out. Waiting for processes to exit."...)
	case kLogindRemoved:
		buf = append(buf, "Removed session "...)
		buf = strconv.AppendInt(buf, int64(c.sess), 10)
		return append(buf, '.')
	case kCronOpened:
		return append(buf, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"...)
	case kCronCmd:
		buf = append(buf, "(root) CMD ("...)
		buf = append(buf, cronCmds[e.n]...)
		return append(buf, ')')
	case kCronClosed:
		return append(buf, "pam_unix(cron:session): session closed for user root"...)
	case kSystemd:
		return append(buf, systemdMsgs[e.n]...)
	}
	return buf
}

// appendWho appends "authenticating user U A port P" or "invalid user U A
// port P".
func appendWho(buf []byte, invalid bool, c *conn) []byte {
	if invalid {
		buf = append(buf, "invalid user "...)
	} else {
		buf = append(buf, "authenticating user "...)
	}
	buf = append(buf, c.user...)
	buf = append(buf, ' ')
	return appendPeer(buf, c)
}
