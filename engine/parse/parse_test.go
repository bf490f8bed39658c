package parse

import (
	"net/netip"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

var testRef = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newTestParser(t testing.TB, opts Options) *Parser {
	t.Helper()
	if opts.Ref.IsZero() {
		opts.Ref = testRef
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return p
}

const hdr = "Nov 23 10:00:01 gw1 sshd[4242]: "

type want struct {
	rec     bool
	typ     string
	ind     bool
	src     string // "" means invalid
	srcHost string
	user    string
	count   int
	pattern string
	method  string
}

func check(t *testing.T, line string, ev engine.Event, rec bool, w want) {
	t.Helper()
	src := ""
	if ev.Source.IsValid() {
		src = ev.Source.String()
	}
	got := want{rec, ev.Type, ev.Indicator, src, ev.SourceHost, ev.User, ev.Count, ev.Pattern, ev.Method}
	if !w.rec {
		if rec {
			t.Errorf("Parse(%q) recognized = true (%+v), want false", line, got)
		}
		return
	}
	if w.method == "" {
		got.method = ""
	}
	if w.pattern == "" {
		got.pattern = ""
	}
	if got != w {
		t.Errorf("Parse(%q) = %+v, want %+v", line, got, w)
	}
}

func TestParseSSHD(t *testing.T) {
	const (
		fail  = engine.TypeSSHAuthFailure
		pamf  = engine.TypePAMFailure
		inv   = engine.TypeSSHInvalidUser
		max   = engine.TypeSSHMaxAttempts
		close = engine.TypeSSHPreauthClose
		neg   = engine.TypeSSHNegotiation
		oth   = engine.TypeSSHOther
	)
	tests := []struct {
		name string
		msg  string
		want want
	}{
		{"failed password", "Failed password for root from 198.51.100.7 port 52144 ssh2",
			want{true, fail, true, "198.51.100.7", "", "root", 0, patFailedPassword, "password"}},
		{"failed password invalid user", "Failed password for invalid user admin from 198.51.100.7 port 52144 ssh2",
			want{true, inv, true, "198.51.100.7", "", "admin", 0, patFailedPassword, "password"}},
		{"injection in user", "Failed password for invalid user root from 198.51.100.9 port 22 from 203.0.113.5 port 4242 ssh2",
			want{true, inv, true, "203.0.113.5", "", "root from 198.51.100.9 port 22", 0, patFailedPassword, ""}},
		{"injection with ssh2", "Failed password for x from 198.51.100.9 port 22 ssh2 from 203.0.113.5 port 4242 ssh2",
			want{true, fail, true, "203.0.113.5", "", "x from 198.51.100.9 port 22 ssh2", 0, "", ""}},
		{"injection with key-looking tail", "Failed password for x from 198.51.100.9 port 22 ssh2: RSA SHA256:abc from 203.0.113.5 port 4242 ssh2",
			want{true, fail, true, "203.0.113.5", "", "x from 198.51.100.9 port 22 ssh2: RSA SHA256:abc", 0, "", ""}},
		{"kbdint ipv6", "Failed keyboard-interactive/pam for invalid user oracle from 2001:db8::17 port 40022 ssh2",
			want{true, inv, true, "2001:db8::17", "", "oracle", 0, patFailedKbdInt, "keyboard-interactive"}},
		{"bracketed ipv6", "Failed password for root from [2001:db8::18] port 40022 ssh2",
			want{true, fail, true, "2001:db8::18", "", "root", 0, "", ""}},
		{"failed none", "Failed none for invalid user pi from 198.51.100.12 port 1022 ssh2",
			want{true, inv, true, "198.51.100.12", "", "pi", 0, patFailedNone, "none"}},
		{"failed publickey key", "Failed publickey for git from 203.0.113.44 port 50022 ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4",
			want{true, fail, true, "203.0.113.44", "", "git", 0, patFailedPublickey, "publickey"}},
		{"v4-mapped", "Failed password for root from ::ffff:198.51.100.23 port 1 ssh2",
			want{true, fail, true, "198.51.100.23", "", "root", 0, "", ""}},
		{"zone rejected", "Failed password for root from fe80::1%eth0 port 22 ssh2", want{}},
		{"hostname source", "Failed password for root from attacker.example.net port 22 ssh2",
			want{true, fail, true, "", "attacker.example.net", "root", 0, "", ""}},
		{"cut line", "Failed password for root from 198.51.100.7 po", want{}},
		{"port out of range", "Failed password for root from 198.51.100.7 port 99999 ssh2", want{}},
		{"invalid user", "Invalid user test from 198.51.100.8 port 33221",
			want{true, inv, true, "198.51.100.8", "", "test", 0, patInvalidUser, ""}},
		{"invalid user no port", "Invalid user test from 198.51.100.8",
			want{true, inv, true, "198.51.100.8", "", "test", 0, patInvalidUser, ""}},
		{"invalid user empty", "Invalid user  from 198.51.100.8 port 1",
			want{true, inv, true, "198.51.100.8", "", "", 0, patInvalidUser, ""}},
		{"invalid user injection", "Invalid user a from 198.51.100.9 from 203.0.113.5 port 7",
			want{true, inv, true, "203.0.113.5", "", "a from 198.51.100.9", 0, patInvalidUser, ""}},
		{"illegal user", "Illegal user guest from 198.51.100.8",
			want{true, inv, true, "198.51.100.8", "", "guest", 0, patIllegalUser, ""}},
		{"not allowed", "User bob from 203.0.113.9 not allowed because not listed in AllowUsers",
			want{true, inv, true, "203.0.113.9", "", "bob", 0, patUserNotAllowed, ""}},
		{"not allowed shell", "User eve from 203.0.113.9 not allowed because shell does not exist",
			want{true, inv, true, "203.0.113.9", "", "eve", 0, patUserNotAllowed, ""}},
		{"not allowed injection", "User x from 198.51.100.9 not allowed because y from 203.0.113.9 not allowed because not listed in AllowUsers",
			want{true, inv, true, "203.0.113.9", "", "x from 198.51.100.9 not allowed because y", 0, patUserNotAllowed, ""}},
		{"max attempts", "error: maximum authentication attempts exceeded for invalid user admin from 198.51.100.7 port 52144 ssh2 [preauth]",
			want{true, max, true, "198.51.100.7", "", "admin", 0, patMaxAuthAttempts, ""}},
		{"disconnecting authenticating", "Disconnecting authenticating user root 198.51.100.7 port 52144: Too many authentication failures [preauth]",
			want{true, max, true, "198.51.100.7", "", "root", 0, patTooManyAuthUser, ""}},
		{"disconnecting invalid", "Disconnecting invalid user a b 198.51.100.7 port 52144: Too many authentication failures [preauth]",
			want{true, max, true, "198.51.100.7", "", "a b", 0, patTooManyAuthUser, ""}},
		{"pam more", "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root",
			want{true, max, true, "198.51.100.7", "", "root", 0, patPAMMoreFailures, ""}},
		{"pam more singular", "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7",
			want{true, max, true, "198.51.100.7", "", "", 0, patPAMMoreFailures, ""}},
		{"pam auth failure", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root",
			want{true, pamf, false, "198.51.100.7", "", "root", 0, patPAMAuthFailure, ""}},
		{"pam injection", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=x rhost=203.0.113.99",
			want{true, pamf, false, "198.51.100.7", "", "x rhost=203.0.113.99", 0, patPAMAuthFailure, ""}},
		{"pam hostname", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=dsl-7.example.com",
			want{true, pamf, false, "", "dsl-7.example.com", "", 0, patPAMAuthFailure, ""}},
		{"closed authenticating", "Connection closed by authenticating user root 198.51.100.7 port 52144 [preauth]",
			want{true, close, true, "198.51.100.7", "", "root", 0, patConnClosed, ""}},
		{"closed plain", "Connection closed by 198.51.100.7 port 52144",
			want{true, oth, false, "198.51.100.7", "", "", 0, patConnClosed, ""}},
		{"closed old preauth", "Connection closed by 198.51.100.7 [preauth]",
			want{true, close, true, "198.51.100.7", "", "", 0, patConnClosed, ""}},
		{"closed injection", "Connection closed by invalid user x 198.51.100.9 port 22 203.0.113.5 port 4242 [preauth]",
			want{true, close, true, "203.0.113.5", "", "x 198.51.100.9 port 22", 0, patConnClosed, ""}},
		{"disconnected invalid", "Disconnected from invalid user guest 198.51.100.7 port 1 [preauth]",
			want{true, close, true, "198.51.100.7", "", "guest", 0, patDisconnected, ""}},
		{"disconnected user", "Disconnected from user alice 192.0.2.10 port 50000",
			want{true, oth, false, "192.0.2.10", "", "alice", 0, patDisconnectedUser, ""}},
		{"received disconnect preauth", "Received disconnect from 198.51.100.7 port 52144:11: Bye Bye [preauth]",
			want{true, close, true, "198.51.100.7", "", "", 0, patRecvDisconnect, ""}},
		{"received disconnect by user", "Received disconnect from 192.0.2.10 port 50000:11: disconnected by user",
			want{true, oth, false, "192.0.2.10", "", "", 0, patRecvDisconnect, ""}},
		{"received disconnect old ipv6", "Received disconnect from 2001:db8::5: 11: Bye [preauth]",
			want{true, close, true, "2001:db8::5", "", "", 0, patRecvDisconnect, ""}},
		{"received disconnect text injection", "error: Received disconnect from 198.51.100.7 port 1:3: from 203.0.113.5 port 2 [preauth]",
			want{true, close, true, "198.51.100.7", "", "", 0, patRecvDisconnect, ""}},
		{"reset", "Connection reset by 198.51.100.7 port 1 [preauth]",
			want{true, close, true, "198.51.100.7", "", "", 0, patConnReset, ""}},
		{"unable to negotiate", "Unable to negotiate with 198.51.100.7 port 52144: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]",
			want{true, neg, true, "198.51.100.7", "", "", 0, patUnableNegotiate, ""}},
		{"unable to negotiate injection", "Unable to negotiate with 198.51.100.7 port 1: no matching cipher found. Their offer: x from 203.0.113.5 port 2",
			want{true, neg, true, "198.51.100.7", "", "", 0, patUnableNegotiate, ""}},
		{"bad protocol", "Bad protocol version identification 'GET / HTTP/1.1' from 198.51.100.7 port 52144",
			want{true, neg, true, "198.51.100.7", "", "", 0, patBadProtocol, ""}},
		{"bad protocol injection", "Bad protocol version identification 'x from 198.51.100.9 port 1' from 203.0.113.5 port 4242",
			want{true, neg, true, "203.0.113.5", "", "", 0, patBadProtocol, ""}},
		{"banner exchange", "banner exchange: Connection from 198.51.100.7 port 52144: invalid format",
			want{true, neg, true, "198.51.100.7", "", "", 0, patBannerExchange, ""}},
		{"no ident", "Did not receive identification string from 198.51.100.7 port 52144",
			want{true, neg, true, "198.51.100.7", "", "", 0, patNoIdent, ""}},
		{"no ident old", "Did not receive identification string from 198.51.100.7",
			want{true, neg, true, "198.51.100.7", "", "", 0, patNoIdent, ""}},
		{"timeout", "fatal: Timeout before authentication for 198.51.100.7 port 52144",
			want{true, neg, true, "198.51.100.7", "", "", 0, patTimeoutAuth, ""}},
		{"dispatch fatal", "ssh_dispatch_run_fatal: Connection from authenticating user root 198.51.100.7 port 52144: message authentication code incorrect [preauth]",
			want{true, neg, true, "198.51.100.7", "", "root", 0, patDispatchFatal, ""}},
		{"dispatch fatal plain", "ssh_dispatch_run_fatal: Connection from 198.51.100.7 port 52144: Connection corrupted [preauth]",
			want{true, neg, true, "198.51.100.7", "", "", 0, patDispatchFatal, ""}},
		{"protocol major", "Protocol major versions differ for 198.51.100.7 port 1: SSH-2.0-OpenSSH_9.6 vs. SSH-1.5-Scan",
			want{true, neg, true, "198.51.100.7", "", "", 0, patProtocolMajor, ""}},
		{"refused", "refused connect from scanner.example.org (203.0.113.66)",
			want{true, engine.TypeSSHRefused, true, "203.0.113.66", "", "", 0, patRefused, ""}},
		{"reverse mapping", "reverse mapping checking getaddrinfo for ns.example.com [198.51.100.3] failed - POSSIBLE BREAK-IN ATTEMPT!",
			want{true, oth, false, "198.51.100.3", "", "", 0, patReverseMapping, ""}},
		{"accepted publickey", "Accepted publickey for alice from 192.0.2.10 port 50000 ssh2: RSA SHA256:YWJjZGVmZ2g",
			want{true, engine.TypeSSHAuthSuccess, false, "192.0.2.10", "", "alice", 0, patAccepted, "publickey"}},
		{"accepted password", "Accepted password for bob from 192.0.2.11 port 50001 ssh2",
			want{true, engine.TypeSSHAuthSuccess, false, "192.0.2.11", "", "bob", 0, patAccepted, "password"}},
		{"accepted gssapi", "Accepted gssapi-with-mic for carol from 192.0.2.12 port 50002 ssh2",
			want{true, engine.TypeSSHAuthSuccess, false, "192.0.2.12", "", "carol", 0, patAccepted, "gssapi-with-mic"}},
		{"connection from", `Connection from 198.51.100.7 port 52144 on 192.0.2.1 port 22 rdomain ""`,
			want{true, engine.TypeSSHConnection, false, "198.51.100.7", "", "", 0, patConnection, ""}},
		{"message repeated", "message repeated 3 times: [ Failed password for root from 198.51.100.7 port 52144 ssh2]",
			want{true, fail, true, "198.51.100.7", "", "root", 3, patFailedPassword, ""}},
		{"session opened", "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
			want{true, oth, false, "", "", "", 0, patPAMSession, ""}},
		{"server listening", "Server listening on 0.0.0.0 port 22.", want{true, oth, false, "", "", "", 0, patServer, ""}},
		{"signal", "Received signal 15; terminating.", want{true, oth, false, "", "", "", 0, patServer, ""}},
		{"check pass", "pam_unix(sshd:auth): check pass; user unknown", want{true, oth, false, "", "", "", 0, patPAMCheckPass, ""}},
		{"unknown", "Something new happened", want{}},
		{"binary", "\x00\xff\xfe Failed \x00", want{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestParser(t, Options{Format: FormatSSHD})
			line := hdr + tc.msg
			ev, rec, err := p.Parse(line, 7)
			if err != nil {
				t.Fatalf("Parse(%q) error %v", line, err)
			}
			check(t, line, ev, rec, tc.want)
			if rec {
				if ev.Host != "gw1" || ev.PID != 4242 || ev.Program != "sshd" || ev.Raw != line || ev.Line != 7 {
					t.Errorf("Parse(%q) header = %q %d %q, want gw1 4242 sshd", line, ev.Host, ev.PID, ev.Program)
				}
			}
		})
	}
}

func TestPIDCorrelation(t *testing.T) {
	p := newTestParser(t, Options{})
	steps := []struct {
		line string
		want want
	}{
		{hdr + "Connection from 198.51.100.7 port 52144 on 192.0.2.1 port 22",
			want{true, engine.TypeSSHConnection, false, "198.51.100.7", "", "", 0, patConnection, ""}},
		{hdr + "input_userauth_request: invalid user admin [preauth]",
			want{true, engine.TypeSSHInvalidUser, false, "198.51.100.7", "", "admin", 0, patInputUserauth, ""}},
		{"Nov 23 10:00:01 gw2 sshd[4242]: input_userauth_request: invalid user admin [preauth]",
			want{true, engine.TypeSSHInvalidUser, false, "", "", "admin", 0, patInputUserauth, ""}},
		{hdr + "Disconnecting: Too many authentication failures for root [preauth]",
			want{true, engine.TypeSSHMaxAttempts, true, "198.51.100.7", "", "root", 0, patTooManyAuth, ""}},
		{hdr + "PAM service(sshd) ignoring max retries; 6 > 3",
			want{true, engine.TypeSSHMaxAttempts, true, "198.51.100.7", "", "", 0, patPAMIgnoringMax, ""}},
		{hdr + "fatal: Write failed: Connection reset by peer [preauth]",
			want{true, engine.TypeSSHPreauthClose, true, "198.51.100.7", "", "", 0, patSocketFailed, ""}},
		// The close dropped the entry: nobody left to blame.
		{hdr + "error: kex_exchange_identification: Connection closed by remote host",
			want{true, engine.TypeSSHPreauthClose, false, "", "", "", 0, patKexIdent, ""}},
		{"Nov 23 10:00:02 gw1 sshd-session[77]: Invalid user x from attacker.example.net port 2",
			want{true, engine.TypeSSHInvalidUser, true, "", "attacker.example.net", "x", 0, patInvalidUser, ""}},
		{"Nov 23 10:00:02 gw1 sshd-session[77]: Disconnecting: Too many authentication failures [preauth]",
			want{true, engine.TypeSSHMaxAttempts, true, "", "attacker.example.net", "", 0, patTooManyAuth, ""}},
	}
	for _, s := range steps {
		ev, rec, err := p.Parse(s.line, 1)
		if err != nil {
			t.Fatalf("Parse(%q) error %v", s.line, err)
		}
		check(t, s.line, ev, rec, s.want)
	}
}

func TestPIDTableBounded(t *testing.T) {
	p := newTestParser(t, Options{})
	p.pids.init(100, time.Hour)
	base := testRef
	for i := range 10000 {
		pr := peer{addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})}
		p.pids.put("gw1", i+1, pr, base.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			p.pids.del("gw1", i+1)
		}
	}
	if n := len(p.pids.m); n > 100 {
		t.Errorf("pid table holds %d entries, want <= 100", n)
	}
	if n := len(p.pids.order) - p.pids.head; n > 201 {
		t.Errorf("pid FIFO holds %d keys, want <= 201", n)
	}
	// TTL: an entry an hour older than the newest line goes.
	p.pids.init(100, time.Hour)
	p.pids.put("gw1", 1, peer{addr: netip.MustParseAddr("198.51.100.1")}, base)
	p.pids.put("gw1", 2, peer{addr: netip.MustParseAddr("198.51.100.2")}, base.Add(2*time.Hour))
	if _, ok := p.pids.get("gw1", 1, time.Time{}); ok {
		t.Errorf("pid 1 survived its TTL")
	}
}

// TestPIDReuse: a line attributed through its pid must not inherit the
// address of an earlier, finished connection that had the same pid.
func TestPIDReuse(t *testing.T) {
	p := newTestParser(t, Options{Format: FormatSSHD, Year: 2026})
	lines := []struct {
		line   string
		source string
	}{
		{"Jun  1 00:00:00 h sshd[500]: Unable to negotiate with 198.51.100.5 port 4000: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]", "198.51.100.5"},
		{"Jun  1 00:20:00 h sshd[500]: error: kex_exchange_identification: Connection closed by remote host", ""},
		{"Jun  1 01:00:00 h sshd[600]: Timeout before authentication for 203.0.113.7 port 4242", "203.0.113.7"},
		{"Jun  1 01:03:00 h sshd[600]: Disconnecting: Too many authentication failures [preauth]", ""},
		// Within one connection, attribution still works.
		{"Jun  1 02:00:00 h sshd[700]: Invalid user admin from 192.0.2.9 port 5000", "192.0.2.9"},
		{"Jun  1 02:00:02 h sshd[700]: Disconnecting: Too many authentication failures [preauth]", "192.0.2.9"},
	}
	for i, tc := range lines {
		ev, _, err := p.Parse(tc.line, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if ev.Source.IsValid() {
			got = ev.Source.String()
		}
		if got != tc.source {
			t.Errorf("Parse(%q) source = %q, want %q", tc.line, got, tc.source)
		}
	}
}

func TestYearAcrossNewYearWithAFastClock(t *testing.T) {
	p := newTestParser(t, Options{Format: FormatSSHD, Ref: time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC)})
	ev, _, err := p.Parse("Jan  1 00:00:30 h sshd[1]: Failed password for root from 198.51.100.4 port 22 ssh2", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Time.Year() != 2025 {
		t.Errorf("a line 90s past New Year against a reference in the old year: year %d, want 2025", ev.Time.Year())
	}
	ev, _, _ = p.Parse("Dec 31 23:58:00 h sshd[1]: Failed password for root from 198.51.100.4 port 22 ssh2", 2)
	if ev.Time.Year() != 2024 {
		t.Errorf("December line: year %d, want 2024", ev.Time.Year())
	}
}

func TestHeaders(t *testing.T) {
	msg := "Failed password for root from 198.51.100.7 port 52144 ssh2"
	clock := func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		format  Format
		line    string
		time    time.Time
		host    string
		program string
		pid     int
	}{
		{"rfc3164", FormatSyslog, "Nov 23 10:00:01 gw1 sshd[4242]: " + msg,
			time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC), "gw1", "sshd", 4242},
		{"rfc3164 pri padded day", FormatAuto, "<38>Dec  1 10:00:01 gw1 sshd[4242]: " + msg,
			time.Date(2025, 12, 1, 10, 0, 1, 0, time.UTC), "gw1", "sshd", 4242},
		{"rfc3164 no host", FormatSyslog, "Nov 23 10:00:01 sshd[4242]: " + msg,
			time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC), "", "sshd", 4242},
		{"rfc5424 pri", FormatSyslog, "<38>1 2026-11-23T10:00:00.123456+00:00 gw1 sshd 4242 - - " + msg,
			time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC), "gw1", "sshd", 4242},
		{"rfc5424 no pri sd", FormatSyslog, `1 2026-11-23T10:00:00Z gw1 sshd-session 4242 auth [meta x="a\]b" y="c"][o k="v"] ` + msg,
			time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), "gw1", "sshd-session", 4242},
		{"iso8601", FormatSSHD, "2026-11-23T10:00:00.123456+01:00 gw1 sshd[4242]: " + msg,
			time.Date(2026, 11, 23, 9, 0, 0, 123456000, time.UTC), "gw1", "sshd", 4242},
		{"journal short", FormatAuto, "gw1 sshd[4242]: " + msg, clock(), "gw1", "sshd", 4242},
		{"future kept", FormatSyslog, "2031-01-01T00:00:00Z gw1 sshd[4242]: " + msg,
			time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), "gw1", "sshd", 4242},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestParser(t, Options{Format: tc.format, Clock: clock})
			ev, rec, err := p.Parse(tc.line, 1)
			if err != nil || !rec {
				t.Fatalf("Parse(%q) = rec %v err %v, want recognised", tc.line, rec, err)
			}
			if !ev.Time.Equal(tc.time) || ev.Host != tc.host || ev.Program != tc.program || ev.PID != tc.pid {
				t.Errorf("Parse(%q) = %v %q %q %d, want %v %q %q %d", tc.line, ev.Time, ev.Host, ev.Program, ev.PID, tc.time, tc.host, tc.program, tc.pid)
			}
			if ev.Source != netip.MustParseAddr("198.51.100.7") || ev.Type != engine.TypeSSHAuthFailure {
				t.Errorf("Parse(%q) = %v %s, want 198.51.100.7 %s", tc.line, ev.Source, ev.Type, engine.TypeSSHAuthFailure)
			}
		})
	}
}

func TestYearInference(t *testing.T) {
	ref := time.Date(2027, 1, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		stamp string
		year  int
		force int
		want  int
	}{
		{stamp: "Dec 31 23:59:59", want: 2026},
		{stamp: "Jan  2 10:00:00", want: 2027},
		{stamp: "Jan  3 10:00:00", want: 2027}, // a day of clock-skew slack
		{stamp: "Jan  5 10:00:00", want: 2026},
		{stamp: "Feb 29 10:00:00", want: 2024},
		{stamp: "Dec 31 23:59:59", force: 2030, want: 2030},
	}
	for _, tc := range tests {
		p := newTestParser(t, Options{Ref: ref, Year: tc.force})
		line := tc.stamp + " gw1 sshd[1]: Server listening on :: port 22."
		ev, rec, err := p.Parse(line, 1)
		if err != nil || !rec {
			t.Fatalf("Parse(%q) = rec %v err %v", line, rec, err)
		}
		if ev.Time.Year() != tc.want {
			t.Errorf("Parse(%q) year = %d, want %d", line, ev.Time.Year(), tc.want)
		}
	}
	// Cached: a New Year crossing within one stream.
	p := newTestParser(t, Options{Ref: ref})
	for _, c := range []struct {
		line string
		want int
	}{{"Dec 31 23:59:59 gw1 sshd[1]: x", 2026}, {"Jan  1 00:00:01 gw1 sshd[1]: x", 2027}, {"Dec 31 23:59:59 gw1 sshd[1]: x", 2026}} {
		ev, _, _ := p.Parse(c.line, 1)
		if ev.Time.Year() != c.want {
			t.Errorf("Parse(%q) year = %d, want %d", c.line, ev.Time.Year(), c.want)
		}
	}
}

func TestLocation(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	p := newTestParser(t, Options{Location: loc})
	ev, _, _ := p.Parse(hdr+"Server listening on :: port 22.", 1)
	if want := time.Date(2026, 11, 23, 9, 0, 1, 0, time.UTC); !ev.Time.Equal(want) {
		t.Errorf("Parse with zone +1 = %v, want %v", ev.Time, want)
	}
}

func TestCertificateAmbiguity(t *testing.T) {
	// The key ID of a certificate is client text after the address: when
	// it forges a second well-formed tail, neither address is trusted, and
	// the pid table decides.
	line := hdr + "Failed publickey for root from 203.0.113.5 port 4242 ssh2: ED25519-CERT SHA256:aaaa ID x from 198.51.100.9 port 22 ssh2: RSA SHA256:bbbb ID y (serial 1) CA ED25519 SHA256:cccc"
	p := newTestParser(t, Options{})
	ev, rec, _ := p.Parse(line, 1)
	check(t, line, ev, rec, want{true, engine.TypeSSHAuthFailure, false, "", "", "root from 203.0.113.5 port 4242 ssh2: ED25519-CERT SHA256:aaaa ID x", 0, patFailedPublickey, ""})
	p.Parse(hdr+"Connection from 203.0.113.5 port 4242 on 192.0.2.1 port 22", 2)
	ev, rec, _ = p.Parse(line, 3)
	if !rec || ev.Source != netip.MustParseAddr("203.0.113.5") || !ev.Indicator {
		t.Errorf("Parse(%q) after Connection from = %v %v %v, want 203.0.113.5 indicator", line, rec, ev.Source, ev.Indicator)
	}
	plain := hdr + "Failed publickey for root from 203.0.113.5 port 4242 ssh2: ED25519-CERT SHA256:aaaa ID host-7 (serial 1) CA ED25519 SHA256:cccc"
	ev, rec, _ = newTestParser(t, Options{}).Parse(plain, 1)
	check(t, plain, ev, rec, want{true, engine.TypeSSHAuthFailure, true, "203.0.113.5", "", "root", 0, patFailedPublickey, ""})
}

func TestIsSSHD(t *testing.T) {
	for prog, want := range map[string]bool{"sshd": true, "sshd-session": true, "sshd-auth": true, "sshd(pam_unix)": true,
		"sshdx": false, "ssh": false, "cron": false, "": false} {
		if got := IsSSHD(prog); got != want {
			t.Errorf("IsSSHD(%q) = %v, want %v", prog, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatAuto, "auto": FormatAuto, "SSHD": FormatSSHD, "eve": FormatEVE, "syslog": FormatSyslog, "json": FormatJSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("csv"); err == nil {
		t.Errorf("ParseFormat(%q) = nil error, want error", "csv")
	}
	if _, err := New(Options{Format: "csv"}); err == nil {
		t.Errorf("New(Format: csv) = nil error, want error")
	}
}

func TestRobustness(t *testing.T) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = "from 1 port ssh2: "[i%18]
	}
	lines := []string{"", "\x00", "<", "<999999>", "<1>1 ", "1 - - - - - -", "Nov 23 10:00:01", "{", "{\"type\":", "\xff\xfe\xfd",
		hdr + string(big), hdr + "Failed password for " + string(big) + " from 198.51.100.7 port 1 ssh2", string(big)}
	for _, f := range []Format{FormatAuto, FormatSSHD, FormatSyslog, FormatEVE, FormatJSON} {
		p := newTestParser(t, Options{Format: f})
		for _, l := range lines {
			ev, rec, err := p.Parse(l, 1)
			checkInvariants(t, l, ev, rec, err)
		}
	}
}
