package tui

import (
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in string
		// terms is how many terms parse; -1 means an error containing err.
		terms int
		err   string
	}{
		{in: "", terms: 0},
		{in: "   ", terms: 0},
		{in: "type:ssh.auth.failure", terms: 1},
		{in: "source:203.0.113.0/24 type:ssh.auth.failure", terms: 2},
		{in: "source:203.0.113.7", terms: 1},
		{in: "source:2001:db8::/32", terms: 1},
		{in: "source:2001:db8::bad", terms: 1},
		{in: "source:203.0.113.7/24", terms: 1},
		{in: "source:scanner.example.net", terms: 1},
		{in: "SOURCE:203.0.113.0/24", terms: 1},
		{in: "user:root origin:auth.log program:sshd host:web1", terms: 4},
		{in: "indicator:true", terms: 1},
		{in: "indicator:false", terms: 1},
		{in: "indicator:0", terms: 1},
		{in: "Failed password", terms: 2},
		{in: "12:00:01", terms: 1},
		{in: "2001:db8::1", terms: 1},
		{in: "src_ip:", terms: 1},
		{in: "port:22", terms: -1, err: `port:22: unknown field "port"`},
		{in: "user:", terms: -1, err: "user:: empty value"},
		{in: "source:203.0.113.0/33", terms: -1, err: `bad CIDR "203.0.113.0/33"`},
		{in: "source:203.0.113.0/x", terms: -1, err: "bad CIDR"},
		{in: "source:203.0.113", terms: -1, err: `bad address "203.0.113"`},
		{in: "source:2001:db8:::1", terms: -1, err: "bad address"},
		{in: "indicator:maybe", terms: -1, err: "indicator:maybe: want true or false"},
		{in: "port:22 source:198.51.100.0/40", terms: -1, err: `unknown field "port" (type source user origin program host indicator); source:198.51.100.0/40: bad CIDR`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := parseFilter(tc.in)
			if tc.terms < 0 {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseFilter(%q) = %v, want an error containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFilter(%q) = %v, want %d terms", tc.in, err, tc.terms)
			}
			if len(f.terms) != tc.terms {
				t.Errorf("parseFilter(%q) has %d terms, want %d", tc.in, len(f.terms), tc.terms)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	failure := engine.Event{
		Type: engine.TypeSSHAuthFailure, Indicator: true, Source: addr("203.0.113.7"), User: "root",
		Host: "web1", Program: "sshd", Origin: "/var/log/auth.log",
		Raw: "Mar  1 11:59:46 web1 sshd[811]: Failed password for root from 203.0.113.7 port 40043 ssh2",
	}
	named := engine.Event{
		Type: engine.TypeSSHPreauthClose, Indicator: true, SourceHost: "scanner.example.net", Program: "sshd",
		Raw: "Connection closed by scanner.example.net port 22 [preauth]",
	}
	ids := engine.Event{
		Type: engine.TypeIDSAlert, Indicator: true, Source: addr("2001:db8::bad"), Host: "ids1",
		Origin: "/var/log/suricata/eve.json", Raw: `{"event_type":"alert","src_ip":"2001:db8::bad"}`,
	}
	flow := engine.Event{Type: engine.TypeIDSFlow, Source: addr("198.51.100.20"), Raw: `{"event_type":"flow"}`}
	tests := []struct {
		filter string
		ev     engine.Event
		want   bool
	}{
		{"", flow, true},
		{"type:ssh.auth.failure", failure, true},
		{"type:SSH.AUTH.FAILURE", failure, true},
		{"type:ssh.auth", failure, true},
		{"type:ssh", failure, true},
		{"type:ssh.au", failure, false},
		{"type:ssh.auth.failure", named, false},
		{"type:ids", ids, true},
		{"source:203.0.113.0/24", failure, true},
		{"source:203.0.113.9/24", failure, true},
		{"source:203.0.113.7", failure, true},
		{"source:203.0.113.7/32", failure, true},
		{"source:203.0.113.8", failure, false},
		{"source:198.51.100.0/24", failure, false},
		{"source:::ffff:203.0.113.0/120", failure, true},
		{"source:2001:db8::/32", ids, true},
		{"source:2001:db8::/32", failure, false},
		{"source:0.0.0.0/0", ids, false},
		{"source:203.0.113.0/24", named, false},
		{"source:scanner.example.net", named, true},
		{"source:Scanner.Example.Net", named, true},
		{"source:scanner.example.net", failure, false},
		{"user:root", failure, true},
		{"user:admin", failure, false},
		{"user:root", named, false},
		{"origin:auth.log", failure, true},
		{"origin:suricata", failure, false},
		{"origin:suricata", ids, true},
		{"program:sshd", failure, true},
		{"program:sshd", ids, false},
		{"host:web1", failure, true},
		{"host:WEB1", failure, true},
		{"host:web", failure, false},
		{"indicator:true", failure, true},
		{"indicator:true", flow, false},
		{"indicator:false", flow, true},
		{"failed", failure, true},
		{"FAILED PASSWORD", failure, true},
		{"failed preauth", failure, false},
		{"40043", failure, true},
		{"2001:db8::bad", ids, true},
		{"source:203.0.113.0/24 type:ssh.auth.failure", failure, true},
		{"source:203.0.113.0/24 type:ssh.auth.failure", ids, false},
		{"source:203.0.113.0/24 user:admin", failure, false},
		{"éé", failure, false},
	}
	for _, tc := range tests {
		t.Run(tc.filter+"/"+tc.ev.Type, func(t *testing.T) {
			f, err := parseFilter(tc.filter)
			if err != nil {
				t.Fatalf("parseFilter(%q) = %v", tc.filter, err)
			}
			if got := f.match(&tc.ev); got != tc.want {
				t.Errorf("parseFilter(%q).match(%s %q) = %v, want %v", tc.filter, tc.ev.Type, tc.ev.Raw, got, tc.want)
			}
		})
	}
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, lower string
		want     bool
	}{
		{"Failed password", "password", true},
		{"Failed password", "failed p", true},
		{"Failed", "failedx", false},
		{"", "", true},
		{"Grüße aus Köln", "köln", true},
		{"Grüße aus KÖLN", "köln", true},
		{"abc", "é", false},
	}
	for _, tc := range tests {
		if got := containsFold(tc.s, tc.lower); got != tc.want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", tc.s, tc.lower, got, tc.want)
		}
	}
}
