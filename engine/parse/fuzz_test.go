package parse

import (
	"net/netip"
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

// FuzzParseIPv6 holds the fast IPv6 parser to netip.ParseAddr: whatever it
// accepts, netip must accept as the same address.
// FuzzLastFrom holds lastFrom to strings.LastIndex.
func FuzzLastFrom(f *testing.F) {
	for _, s := range []string{"", " from ", "root from 192.0.2.1 port 22", "x from  from y", "from ", " from", "a fromfrom b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := lastFrom(s), strings.LastIndex(s, " from "); got != want {
			t.Fatalf("lastFrom(%q) = %d, want %d", s, got, want)
		}
	})
}

func FuzzParseIPv6(f *testing.F) {
	for _, s := range []string{
		"2001:db8::1", "::", "::1", "1::", "2001:DB8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
		"::1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::ffff:192.0.2.1", "fe80::1%eth0", "1:::2", ":1::", "1:2",
		"12345::", "2001:db8::g", "::ffff:c000:201", "", ":", "1:2:3:4:5:6:7:8:9", "0000:0000::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseIPv6(s)
		if !ok {
			return
		}
		want, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("parseIPv6(%q) = %v, netip refuses it: %v", s, got, err)
		}
		if got != want {
			t.Fatalf("parseIPv6(%q) = %v, netip = %v", s, got, want)
		}
	})
}

// TestParseIPv6 checks the fast parser takes the forms sshd writes (it is
// no faster if it hands them to netip) and leaves every other form to netip.
func TestParseIPv6(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{"2001:db8::1", true}, {"2001:db8:c1ca:43:5550:5672:1bd2:4155", true}, {"::", true}, {"::1", true},
		{"1::", true}, {"2001:DB8::A", true}, {"1:2:3:4:5:6:7::", true}, {"::2:3:4:5:6:7:8", true},
		{"::ffff:c000:201", true},
		{"::ffff:192.0.2.1", false}, {"fe80::1%eth0", false}, {"192.0.2.1", false}, {"1:::2", false},
		{"1:2:3:4:5:6:7:8::", false}, {"12345::", false}, {"1:2", false}, {"1:", false}, {"", false},
		{":1::", false}, {"1:2:3:4:5:6:7:8:9", false}, {"2001:db8::1::2", false},
	} {
		got, ok := parseIPv6(tc.in)
		if ok != tc.fast {
			t.Errorf("parseIPv6(%q) ok = %v, want %v", tc.in, ok, tc.fast)
			continue
		}
		if ok {
			if want := netip.MustParseAddr(tc.in); got != want {
				t.Errorf("parseIPv6(%q) = %v, want %v", tc.in, got, want)
			}
		}
	}
}
