package evidence

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// tripwire is a Runner that fails the test if anything reaches it.
type tripwire struct{ t *testing.T }

func (w tripwire) Capture(_ context.Context, argv []string, _ int) ([]byte, error) {
	w.t.Errorf("a command ran: %q", argv)
	return nil, errors.New("tripwire")
}

func TestHostileValuesRefused(t *testing.T) {
	e := newEnv(t, Options{Runners: map[string]Runner{LocalRunner: tripwire{t}, "edge1": tripwire{t}}})
	for _, s := range []string{
		"192.0.2.10; rm -rf /", "$(reboot)", "`id`", "192.0.2.10 or port 22", "192.0.2.10\n", "fe80::1%eth0;id",
		"192.0.2.0/24 and not host 1.1.1.1", "0.0.0.0/0", "::/0", "", "192.0.2.10/33", "localhost",
	} {
		if _, err := ParseTarget(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTarget(%q) = %v, want ErrInvalid", s, err)
		}
	}
	for _, s := range []string{
		"host 192.0.2.10 or tcp[13]=2", "host 192.0.2.10 and port 22; reboot", "host 192.0.2.10 and port 0",
		"host $(id)", "net 192.0.2.10", "host 192.0.2.0/24", "src host 192.0.2.10", "host 192.0.2.10 and port 22 and port 23",
		"host 192.0.2.10 or port 22 x", "host 192.0.2.10 and port 65536", "not host 192.0.2.10",
	} {
		if _, _, err := ParseFilter(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseFilter(%q) = %v, want ErrInvalid", s, err)
		}
	}
	src := netip.MustParsePrefix("192.0.2.10/32")
	ctx := t.Context()
	for _, r := range []Request{
		{Type: engine.EvidencePcap, Target: src, Iface: "eth0;id"},
		{Type: engine.EvidencePcap, Target: src, Iface: "$(reboot)"},
		{Type: engine.EvidencePcap, Target: src, Iface: "-w/etc/passwd"},
		{Type: engine.EvidencePcap, Target: src, Duration: time.Hour},
		{Type: engine.EvidencePcap, Target: src, MaxPackets: 1 << 30},
		{Type: engine.EvidencePcap},
		{Type: engine.EvidencePcap, Target: netip.MustParsePrefix("::/0")},
		{Type: engine.EvidenceConnections},
		{Type: engine.EvidenceConnections, Target: src, Tool: "sh"},
		{Type: engine.EvidenceRuleset, Scope: "ruleset; reboot"},
		{Type: engine.EvidenceRuleset, Phase: "during"},
		{Type: engine.EvidenceRuleset, Ref: "dc-1 && reboot"},
		{Type: engine.EvidenceRuleset, Gateway: "nowhere"},
		{Type: engine.EvidenceAuthHistory, Users: []string{"root; id"}},
		{Type: engine.EvidenceAuthHistory, Users: []string{"$(id)"}},
		{Type: engine.EvidenceAuthHistory},
	} {
		r.Collector = "mallory"
		if _, err := e.c.Collect(ctx, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("Collect(%+v) = %v, want ErrInvalid", r, err)
		}
	}
	for _, argv := range [][]string{
		{"sh", "-c", "id"},
		{"nft", "list ruleset; id"},
		{"ss", "dst", "$(id)"},
		{"timeout", "5", "sh"},
		{"timeout", "-s", "INT", "5", "bash", "-c", "id"},
		{"tcpdump", "-w", "/tmp/x y"},
		{"conntrack", "-L", "'"},
		{},
	} {
		if err := CheckArgv(argv); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckArgv(%q) = %v, want ErrInvalid", argv, err)
		}
		if _, err := (Local{}).Capture(ctx, argv, 1024); !errors.Is(err, ErrInvalid) {
			t.Errorf("Local.Capture(%q) = %v, want ErrInvalid", argv, err)
		}
	}
	if _, err := (Local{Netns: "x; id"}).Capture(ctx, []string{"ss", "-tn"}, 1024); !errors.Is(err, ErrInvalid) {
		t.Errorf("Local with a hostile namespace name = %v, want ErrInvalid", err)
	}
}

func TestBuiltCommands(t *testing.T) {
	for _, tc := range []struct {
		target string
		port   uint16
		bpf    string
		ss     string
		ct     string
	}{
		{"192.0.2.10", 0, "host 192.0.2.10", "dst 192.0.2.10", "-s 192.0.2.10"},
		{"192.0.2.10", 22, "host 192.0.2.10 and port 22", "dst 192.0.2.10", "-s 192.0.2.10"},
		{"192.0.2.77/24", 0, "net 192.0.2.0/24", "dst 192.0.2.0/24", "-s 192.0.2.0 --mask-src 255.255.255.0"},
		{"::ffff:192.0.2.10", 0, "host 192.0.2.10", "dst 192.0.2.10", "-s 192.0.2.10"},
		{"2001:db8:1::10", 443, "host 2001:db8:1::10 and port 443", "dst [2001:db8:1::10]", "-f ipv6 -s 2001:db8:1::10"},
		{"2001:db8:1::/48", 0, "net 2001:db8:1::/48", "dst [2001:db8:1::]/48", "-f ipv6 -s 2001:db8:1:: --mask-src ffff:ffff:ffff::"},
	} {
		p, err := ParseTarget(tc.target)
		if err != nil {
			t.Fatalf("ParseTarget(%q) = %v", tc.target, err)
		}
		bpf, err := BPFFilter(p, tc.port)
		if err != nil || strings.Join(bpf, " ") != tc.bpf {
			t.Errorf("BPFFilter(%s, %d) = %q, %v; want %q", p, tc.port, bpf, err, tc.bpf)
		}
		if got := strings.Join(ssFilter(p), " "); got != tc.ss {
			t.Errorf("ssFilter(%s) = %q, want %q", p, got, tc.ss)
		}
		if got := strings.Join(conntrackFilter(p), " "); got != tc.ct {
			t.Errorf("conntrackFilter(%s) = %q, want %q", p, got, tc.ct)
		}
		argv := pcapArgv("eth0", 30*time.Second, 100, bpf)
		if err := CheckArgv(argv); err != nil {
			t.Errorf("CheckArgv(%q) = %v", argv, err)
		}
	}
}

// FuzzFilter checks that whatever ParseFilter accepts rebuilds into a
// filter of safe tokens that parses back to the same values.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"host 192.0.2.10", "net 192.0.2.0/24 and port 22", "host 2001:db8::1 and port 443", "host ::ffff:192.0.2.1",
		"host 192.0.2.10 or tcp[13]=2", "host 192.0.2.10 and port 22; reboot", "host $(id)", "net 0.0.0.0/0",
		"host fe80::1%eth0", "host\t192.0.2.10\tand\tport\t22", "net 2001:db8::/129",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, port, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseFilter(%q) = %v, want ErrInvalid", s, err)
			}
			return
		}
		tokens, err := BPFFilter(p, port)
		if err != nil {
			t.Fatalf("BPFFilter of accepted %q = %v", s, err)
		}
		if err := CheckArgv(append([]string{"tcpdump"}, tokens...)); err != nil {
			t.Fatalf("accepted %q builds unsafe tokens %q: %v", s, tokens, err)
		}
		p2, port2, err := ParseFilter(strings.Join(tokens, " "))
		if err != nil || p2 != p || port2 != port {
			t.Fatalf("rebuilt %q parses to %s %d %v, want %s %d", tokens, p2, port2, err, p, port)
		}
	})
}

// FuzzPcap checks the pcap reader never panics and never counts past the
// data.
func FuzzPcap(f *testing.F) {
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	rec := []byte{0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 192, 0, 2, 10}
	f.Add(hdr)
	f.Add(append(append([]byte(nil), hdr...), rec...))
	f.Add(append(append([]byte(nil), hdr...), rec[:10]...))
	f.Add([]byte{0xa1, 0xb2, 0xc3, 0xd4})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, _, err := PcapPackets(data)
		if err == nil && n*pcapRecordLen > len(data) {
			t.Fatalf("PcapPackets counted %d packets in %d bytes", n, len(data))
		}
	})
}
