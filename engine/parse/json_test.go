package parse

import (
	"net/netip"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

var sampleJSON = []string{
	`{"time":"2026-11-23T10:00:00Z","type":"ssh.auth.failure","source":"198.51.100.7","user":"root","host":"gw1","indicator":true,"message":"x"}`,
	`{"__REALTIME_TIMESTAMP":"1795428000123456","_HOSTNAME":"gw1","SYSLOG_IDENTIFIER":"sshd","_PID":"4242","MESSAGE":"Failed password for root from 198.51.100.7 port 1 ssh2"}`,
	`{"SYSLOG_IDENTIFIER":"sshd-session","_PID":"9","MESSAGE":[73,110,118,97,108,105,100,32,117,115,101,114,32,120,32,102,114,111,109,32,49,57,56,46,53,49,46,49,48,48,46,55]}`,
	`{"timestamp":"2016-07-13T16:42:07.573103-0600","event_type":"alert","src_ip":"198.51.100.7","src_port":80,"dest_ip":"192.0.2.1","dest_port":5,"proto":"TCP","host":"ids1","alert":{"signature":"S","signature_id":7,"category":"C","severity":2}}`,
	`{"foo":1}`,
	`[1,2]`,
	`null`,
	`{"type":""}`,
	`{"type":"generic","source":"fe80::1%eth0"}`,
	`{"type":"generic","source":"not an address"}`,
	`{"type":"ssh.auth.failure","indicator":true}`,
	`{"timestamp":"2017-03-06T06:54:10`,
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		line    string
		err     bool
		rec     bool
		typ     string
		ind     bool
		src     string
		host    string
		user    string
		time    time.Time
		pattern string
	}{
		{line: sampleJSON[0], rec: true, typ: engine.TypeSSHAuthFailure, ind: true, src: "198.51.100.7", host: "gw1", user: "root",
			time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), pattern: "json.event"},
		{line: sampleJSON[1], rec: true, typ: engine.TypeSSHAuthFailure, ind: true, src: "198.51.100.7", host: "gw1", user: "root",
			time: time.UnixMicro(1795428000123456), pattern: patFailedPassword},
		{line: sampleJSON[2], rec: true, typ: engine.TypeSSHInvalidUser, ind: true, src: "198.51.100.7", user: "x", pattern: patInvalidUser},
		{line: sampleJSON[3], rec: true, typ: engine.TypeIDSAlert, ind: true, src: "198.51.100.7", host: "ids1",
			time: time.Date(2016, 7, 13, 22, 42, 7, 573103000, time.UTC), pattern: "eve.alert"},
		{line: sampleJSON[4]},
		{line: sampleJSON[5], err: true},
		{line: sampleJSON[6], err: true},
		{line: sampleJSON[7], err: true},
		{line: sampleJSON[8], err: true},
		{line: sampleJSON[9], err: true},
		{line: sampleJSON[10], err: true},
		{line: sampleJSON[11], err: true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			p := newTestParser(t, Options{Format: FormatJSON})
			ev, rec, err := p.Parse(tc.line, 1)
			checkInvariants(t, tc.line, ev, rec, err)
			if (err != nil) != tc.err {
				t.Fatalf("Parse(%q) error = %v, want error %v", tc.line, err, tc.err)
			}
			if rec != tc.rec {
				t.Fatalf("Parse(%q) recognized = %v, want %v", tc.line, rec, tc.rec)
			}
			if !rec {
				return
			}
			src := ""
			if ev.Source.IsValid() {
				src = ev.Source.String()
			}
			if ev.Type != tc.typ || ev.Indicator != tc.ind || src != tc.src || ev.Host != tc.host || ev.User != tc.user ||
				!ev.Time.Equal(tc.time) || ev.Pattern != tc.pattern {
				t.Errorf("Parse(%q) = %s %v %s %q %q %v %s, want %s %v %s %q %q %v %s", tc.line,
					ev.Type, ev.Indicator, src, ev.Host, ev.User, ev.Time, ev.Pattern,
					tc.typ, tc.ind, tc.src, tc.host, tc.user, tc.time, tc.pattern)
			}
		})
	}
}

func TestParseEVEAlert(t *testing.T) {
	p := newTestParser(t, Options{Format: FormatEVE})
	ev, rec, err := p.Parse(sampleJSON[3], 1)
	if err != nil || !rec {
		t.Fatalf("Parse(%q) = %v %v", sampleJSON[3], rec, err)
	}
	if ev.Signature != "S" || ev.SignatureID != 7 || ev.Category != "C" || ev.Severity != 2 ||
		ev.SourcePort != 80 || ev.Dest != netip.MustParseAddr("192.0.2.1") || ev.DestPort != 5 || ev.Proto != "TCP" {
		t.Errorf("Parse(%q) = %+v, want all alert fields", sampleJSON[3], ev)
	}
	for _, l := range []string{`{"event_type":"alert","src_ip":"198.51.100.7","timestamp":"yesterday"}`, `not json`, `{"event_type":"flow","src_ip":"x"}`} {
		if _, _, err := p.Parse(l, 1); err == nil {
			t.Errorf("Parse(%q) error = nil, want error", l)
		}
	}
}
