package parse

import (
	"testing"
)

// sampleSSHD is a realistic sshd mix, mostly failures: the benchmark input
// and fuzz seeds.
var sampleSSHD = []string{
	"Failed password for root from 198.51.100.7 port 52144 ssh2",
	"Failed password for invalid user admin from 198.51.100.8 port 40022 ssh2",
	"Invalid user admin from 198.51.100.8 port 40022",
	"input_userauth_request: invalid user admin [preauth]",
	"pam_unix(sshd:auth): check pass; user unknown",
	"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.8",
	"Failed password for root from 203.0.113.5 port 4242 ssh2",
	"message repeated 5 times: [ Failed password for root from 203.0.113.5 port 4242 ssh2]",
	"Disconnecting: Too many authentication failures for root [preauth]",
	"PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root",
	"Connection closed by authenticating user root 203.0.113.5 port 4242 [preauth]",
	"Received disconnect from 198.51.100.9 port 1022:11: Bye Bye [preauth]",
	"Failed keyboard-interactive/pam for invalid user oracle from 2001:db8::17 port 40022 ssh2",
	"Unable to negotiate with 198.51.100.10 port 5555: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]",
	"Did not receive identification string from 198.51.100.11 port 6666",
	"Connection from 198.51.100.12 port 7777 on 192.0.2.1 port 22 rdomain \"\"",
	"Accepted publickey for alice from 192.0.2.10 port 50000 ssh2: ED25519 SHA256:YWJjZGVmZ2hpamtsbW5vcA",
	"pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
	"Failed password for invalid user root from 198.51.100.9 port 22 from 203.0.113.5 port 4242 ssh2",
	"error: maximum authentication attempts exceeded for invalid user test from 198.51.100.13 port 8888 ssh2 [preauth]",
}

func BenchmarkParseSSHD(b *testing.B) {
	lines := make([]string, len(sampleSSHD))
	for i, m := range sampleSSHD {
		lines[i] = "Nov 23 10:00:01 gw1 sshd[4242]: " + m
	}
	p := newTestParser(b, Options{Format: FormatSSHD})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, rec, _ := p.Parse(lines[n%len(lines)], int64(n)); !rec {
			b.Fatalf("Parse(%q) not recognised", lines[n%len(lines)])
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkParseEVE(b *testing.B) {
	var lines []string
	for _, name := range []string{"suricata-verify_alert-testmyids.eve.json", "suricata-verify_dnp3-dnp3_data-alert.eve.json", "suricata-verify_eve-dns.eve.json"} {
		lines = append(lines, readLines(b, publicData+"suricata/"+name)...)
	}
	p := newTestParser(b, Options{Format: FormatEVE})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, _, err := p.Parse(lines[n%len(lines)], int64(n)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
