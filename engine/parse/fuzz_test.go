package parse

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

// needsPeer lists the types whose events are about a remote peer.
func needsPeer(ev engine.Event) bool {
	switch ev.Type {
	case engine.TypeSSHConnection, engine.TypeSSHAuthSuccess:
		return true
	}
	return ev.Indicator
}

func checkInvariants(t *testing.T, line string, ev engine.Event, rec bool, err error) {
	t.Helper()
	if err != nil {
		if rec || ev.Type != "" || ev.Raw != "" {
			t.Errorf("Parse(%q) = %+v, rec %v with error %v, want zero event", line, ev, rec, err)
		}
		return
	}
	if ev.Raw != line {
		t.Errorf("Parse(%q) raw = %q, want the line", line, ev.Raw)
	}
	if ev.Source.Zone() != "" || ev.Dest.Zone() != "" {
		t.Errorf("Parse(%q) = zoned address %v / %v", line, ev.Source, ev.Dest)
	}
	if ev.Source.Is4In6() {
		t.Errorf("Parse(%q) source %v is v4-mapped", line, ev.Source)
	}
	if rec && ev.SourceHost == "" && needsPeer(ev) && !ev.Source.IsValid() {
		t.Errorf("Parse(%q) = %s indicator %v without a valid source", line, ev.Type, ev.Indicator)
	}
	if rec && IsSSHD(ev.Program) && !slices.Contains(sshdPatterns, ev.Pattern) {
		t.Errorf("Parse(%q) pattern %q is not in Patterns()", line, ev.Pattern)
	}
	if rec && ev.Type == "" {
		t.Errorf("Parse(%q) recognised without a type", line)
	}
}

// seedLines adds the lines of testdata files matching glob.
func seedLines(f *testing.F, glob string, max int) {
	paths, _ := filepath.Glob(publicData + glob)
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if i >= max {
				break
			}
			f.Add(l)
		}
	}
}

func seedTable(f *testing.F) {
	for _, l := range sampleSSHD {
		f.Add(hdr + l)
		f.Add("<38>1 2026-11-23T10:00:00Z gw1 sshd 4242 - - " + l)
	}
}

func fuzzFormat(f *testing.F, format Format) {
	f.Fuzz(func(t *testing.T, line string) {
		p := newTestParser(t, Options{Format: format})
		// Twice, so the second parse sees the pid table the first filled.
		for range 2 {
			ev, rec, err := p.Parse(line, 1)
			checkInvariants(t, line, ev, rec, err)
		}
	})
}

func FuzzParseSSHD(f *testing.F) {
	seedTable(f)
	seedLines(f, "loghub/OpenSSH_2k.log", 400)
	fuzzFormat(f, FormatSSHD)
}

func FuzzParseSyslog(f *testing.F) {
	seedTable(f)
	seedLines(f, "loghub/Linux_2k.log", 300)
	f.Add(`<13>1 2026-11-23T10:00:00.1+01:00 gw1 sshd - - [a b="\]"] Invalid user x from 2001:db8::1 port 2`)
	f.Add("gw1 sshd[1]: Connection from ::ffff:198.51.100.1 port 1 on 192.0.2.1 port 22")
	fuzzFormat(f, FormatSyslog)
}

func FuzzParseEVE(f *testing.F) {
	seedLines(f, "suricata/*.eve.json", 50)
	f.Add(`{"timestamp":"2026-11-23T10:00:00+00:00","event_type":"alert","src_ip":"fe80::1%eth0"}`)
	fuzzFormat(f, FormatEVE)
}

func FuzzParseJSON(f *testing.F) {
	seedLines(f, "suricata/*.eve.json", 10)
	for _, l := range sampleJSON {
		f.Add(l)
	}
	fuzzFormat(f, FormatJSON)
}
