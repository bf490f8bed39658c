package actions

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseTarget(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"192.0.2.7", "192.0.2.7/32", ""},
		{" 198.51.100.0/24 ", "198.51.100.0/24", ""},
		{"198.51.100.9/24", "198.51.100.0/24", ""},
		{"::ffff:192.0.2.7", "192.0.2.7/32", ""},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24", ""},
		{"2001:db8::1", "2001:db8::1/128", ""},
		{"2001:db8::/32", "2001:db8::/32", ""},
		{"fe80::1%eth0", "", "not an address"},
		{"192.0.2.7; nft flush ruleset", "", "not an address"},
		{"192.0.2.0/33", "", "not an address"},
		{"", "", "not an address"},
	} {
		got, err := ParseTarget(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTarget(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	p := netip.MustParsePrefix
	for _, c := range []struct {
		name string
		s    Spec
		err  string
	}{
		{"block", Spec{Type: engine.ActionBlock, Target: p("192.0.2.7/32"), TTL: time.Hour}, ""},
		{"permanent", Spec{Type: engine.ActionBlock, Target: p("192.0.2.7/32"), Permanent: true}, ""},
		{"permanent with ttl", Spec{Type: engine.ActionBlock, Target: p("192.0.2.7/32"), TTL: time.Hour, Permanent: true}, "permanent"},
		{"no ttl", Spec{Type: engine.ActionBlock, Target: p("192.0.2.7/32")}, "no ttl"},
		{"ttl too long", Spec{Type: engine.ActionBlock, Target: p("192.0.2.7/32"), TTL: 20 * 365 * 24 * time.Hour}, "exceeds"},
		{"firewall for everyone", Spec{Type: engine.ActionFirewall, Proto: ProtoTCP, Port: 2222, TTL: time.Hour}, ""},
		{"firewall without port", Spec{Type: engine.ActionFirewall, Proto: ProtoTCP, TTL: time.Hour}, "port"},
		{"block with port", Spec{Type: engine.ActionBlock, Target: p("192.0.2.7/32"), Port: 22, TTL: time.Hour}, "no protocol"},
		{"block without target", Spec{Type: engine.ActionBlock, TTL: time.Hour}, "needs a target"},
		{"tunnel", Spec{Type: engine.ActionTunnel, Target: p("192.0.2.7/32"), Iface: "wg0", TTL: time.Hour}, ""},
		{"tunnel hostile iface", Spec{Type: engine.ActionTunnel, Target: p("192.0.2.7/32"), Iface: `wg0" ; flush ruleset`, TTL: time.Hour}, "interface"},
		{"tunnel long iface", Spec{Type: engine.ActionTunnel, Target: p("192.0.2.7/32"), Iface: "abcdefghijklmnop", TTL: time.Hour}, "interface"},
		{"isolate with iface", Spec{Type: engine.ActionIsolate, Target: p("198.51.100.10/32"), Iface: "eth0", TTL: time.Hour}, "no interface"},
		{"unknown", Spec{Type: "drop-table", Target: p("192.0.2.7/32"), TTL: time.Hour}, "type"},
	} {
		err := c.s.Validate()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Validate = %v, want %q", c.name, err, c.err)
		}
	}
}

func TestGuard(t *testing.T) {
	p := netip.MustParsePrefix
	g := Guard{Protected: []Protected{{p("203.0.113.0/28"), "allowlist"}}}
	sh := Shield{Protected: []Protected{{p("198.51.100.1/32"), "management address of gw1"}}, SSHPort: 22}
	block := func(t string) Spec { return Spec{Type: engine.ActionBlock, Target: p(t), TTL: time.Hour} }
	for _, c := range []struct {
		name  string
		s     Spec
		force bool
		err   string
	}{
		{"plain", block("192.0.2.7/32"), false, ""},
		{"allowlisted", block("203.0.113.5/32"), false, "allowlist"},
		{"covers allowlist", block("203.0.113.0/24"), false, "allowlist"},
		{"management", block("198.51.100.1/32"), false, "management"},
		{"loopback", block("127.0.0.2/32"), false, "loopback"},
		{"loopback6", block("::1/128"), false, "loopback"},
		{"wide", block("10.0.0.0/8"), false, "--force"},
		{"wide forced", block("10.0.0.0/8"), true, ""},
		{"wide6", block("2001:db8::/24"), false, "--force"},
		{"close ssh for everyone", Spec{Type: engine.ActionFirewall, Proto: ProtoTCP, Port: 22, TTL: time.Hour}, false, "SSH port"},
		{"close udp 22 for everyone", Spec{Type: engine.ActionFirewall, Proto: ProtoUDP, Port: 22, TTL: time.Hour}, false, ""},
		{"close 2222 for everyone", Spec{Type: engine.ActionFirewall, Proto: ProtoTCP, Port: 2222, TTL: time.Hour}, false, ""},
	} {
		err := g.Check(c.s, c.force, sh)
		if c.err == "" {
			if err != nil {
				t.Errorf("%s: Check = %v, want nil", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: Check = %v, want refused mentioning %q", c.name, err, c.err)
		}
	}
}

// TestRenderGolden pins the nft script of a table and of a batch: both
// backends build this table, and an SSH gateway receives exactly this text.
func TestRenderGolden(t *testing.T) {
	l := &Layout{Mgmt: []netip.Prefix{netip.MustParsePrefix("198.51.100.10/32")},
		QuarantineAllow: []Service{{Prefix: netip.MustParsePrefix("198.51.100.53/32"), Proto: ProtoUDP, Port: 53}}}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	els := []Element{
		{Set: "block4", Prefix: netip.MustParsePrefix("192.0.2.0/24"), Timeout: time.Hour + 500*time.Millisecond},
		{Set: "block6", Prefix: netip.MustParsePrefix("2001:db8::7/128"), Timeout: 90 * time.Minute},
		{Set: "firewall4", Prefix: netip.MustParsePrefix("0.0.0.0/0"), Proto: ProtoTCP, Port: 2222},
		{Set: "tunnel4", Iface: "wg0", Prefix: netip.MustParsePrefix("192.0.2.44/32"), Timeout: 24 * time.Hour},
	}
	got := RenderTable(l, els) + "# batch\n" + RenderBatch(Batch{Add: els[:1], Delete: els[2:3]})
	path := "testdata/render.golden.nft"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("render differs from %s (rerun with -update if intended):\n%s", path, got)
	}
}

func TestNftDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 90 * time.Minute: "1h30m", 36*time.Hour + 1500*time.Millisecond: "1d12h1s500ms", 0: "1ms",
	} {
		if got := nftDuration(d); got != want {
			t.Errorf("nftDuration(%s) = %s, want %s", d, got, want)
		}
	}
}

// FuzzRequest feeds arbitrary request strings through parsing and
// rendering: either a clear error, or a script in which every value came
// from a validated type — never a quote, semicolon or newline from input.
func FuzzRequest(f *testing.F) {
	for _, s := range [][4]string{
		{"block", "192.0.2.7", "", ""},
		{"firewall-rule", "", "tcp/2222", ""},
		{"tunnel", "2001:db8::/64", "", "wg0"},
		{"tunnel", "192.0.2.1", "", "wg0\"; flush ruleset"},
		{"block", "::ffff:192.0.2.1/120", "", ""},
		{"firewall-rule", "198.51.100.0/24", "udp/0", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, typ, target, port, iface string) {
		r := Request{Type: typ, Target: target, Port: port, Iface: iface, TTL: time.Hour}
		s, err := r.spec()
		if err != nil {
			return
		}
		script := RenderBatch(Batch{Add: s.Elements(), Delete: s.Elements()})
		for _, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
			if strings.ContainsAny(line, ";#\\") || strings.Count(line, "{") != 1 || strings.Count(line, "}") != 1 {
				t.Fatalf("unsafe script line from %q %q %q %q: %s", typ, target, port, iface, line)
			}
		}
	})
}
