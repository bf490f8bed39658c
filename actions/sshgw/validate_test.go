package sshgw

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/phantomsoc/phantomsoc/actions"
)

type hostileCase struct {
	name  string
	batch actions.Batch
	want  string
}

// hostileCases are batches that must never reach nft: each would either
// break out of the script or write somewhere phantomsoc does not own.
func hostileCases() []hostileCase {
	p := netip.MustParsePrefix
	ok := actions.Element{Set: "block4", Prefix: p("192.0.2.50/32"), Timeout: time.Minute}
	return []hostileCase{
		{"interface breaks out of its quotes",
			actions.Batch{Add: []actions.Element{ok, {Set: "tunnel4", Prefix: p("192.0.2.0/24"), Iface: `x"; flush ruleset; "`, Timeout: time.Minute}}},
			`interface "x\"; flush ruleset; \""`},
		{"interface with a newline",
			actions.Batch{Add: []actions.Element{{Set: "tunnel6", Prefix: p("2001:db8::/64"), Iface: "wg0\nflush ruleset", Timeout: time.Minute}}},
			"interface"},
		{"set name carries a command",
			actions.Batch{Add: []actions.Element{{Set: "block4 { 192.0.2.1 }\nflush ruleset\nadd element inet phantomsoc block4", Prefix: p("192.0.2.1/32"), Timeout: time.Minute}}},
			"is not an action set"},
		{"set outside the layout",
			actions.Batch{Add: []actions.Element{{Set: "blocklist", Prefix: p("192.0.2.1/32"), Timeout: time.Minute}}},
			`set "blocklist" is not an action set`},
		{"configuration set",
			actions.Batch{Delete: []actions.Element{{Set: "mgmt4", Prefix: p("192.0.2.99/32")}}},
			`set "mgmt4" is not an action set`},
		{"hostile delete",
			actions.Batch{Delete: []actions.Element{{Set: "tunnel4", Prefix: p("192.0.2.0/24"), Iface: `wg0" }; flush ruleset; #`}}},
			"set tunnel4: interface"},
		{"IPv6 prefix in an IPv4 set",
			actions.Batch{Add: []actions.Element{{Set: "block4", Prefix: p("2001:db8::1/128"), Timeout: time.Minute}}},
			"does not fit ipv4_addr"},
		{"IPv4-mapped address in an IPv6 set",
			actions.Batch{Add: []actions.Element{{Set: "block6", Prefix: p("::ffff:192.0.2.1/128"), Timeout: time.Minute}}},
			"IPv4-mapped"},
		{"host bits set",
			actions.Batch{Add: []actions.Element{{Set: "block4", Prefix: p("192.0.2.1/24"), Timeout: time.Minute}}},
			"host bits"},
		{"no address",
			actions.Batch{Add: []actions.Element{{Set: "block4", Timeout: time.Minute}}},
			"no address"},
		{"protocol other than tcp or udp",
			actions.Batch{Add: []actions.Element{{Set: "firewall4", Prefix: p("0.0.0.0/0"), Proto: 1, Port: 1, Timeout: time.Minute}}},
			"protocol 1"},
		{"firewall rule without a port",
			actions.Batch{Add: []actions.Element{{Set: "firewall6", Prefix: p("::/0"), Proto: actions.ProtoTCP, Timeout: time.Minute}}},
			"needs a port"},
		{"address set with an interface",
			actions.Batch{Add: []actions.Element{{Set: "block4", Prefix: p("192.0.2.1/32"), Iface: "eth0", Timeout: time.Minute}}},
			"takes an address only"},
		{"negative timeout",
			actions.Batch{Add: []actions.Element{{Set: "block4", Prefix: p("192.0.2.1/32"), Timeout: -time.Second}}},
			"negative"},
		{"timeout past the maximum",
			actions.Batch{Add: []actions.Element{{Set: "block4", Prefix: p("192.0.2.1/32"), Timeout: actions.MaxTTL + time.Hour}}},
			"exceeds"},
	}
}

// TestHostileElementsRefusedOffline shows the refusal comes before any use
// of the connection: a gateway that never connected says the batch is bad,
// not that it is down.
func TestHostileElementsRefusedOffline(t *testing.T) {
	g := offlineGateway(t)
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			err := g.Apply(t.Context(), tc.batch)
			if err == nil || errors.Is(err, ErrDown) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply = %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
	// A good batch gets as far as the connection.
	good := actions.Batch{Add: roundTripElements(), Delete: roundTripElements()}
	if err := g.Apply(t.Context(), good); !errors.Is(err, ErrDown) {
		t.Errorf("Apply(good batch) offline = %v, want ErrDown", err)
	}
	if err := g.Rebuild(t.Context(), roundTripElements()); !errors.Is(err, ErrDown) || !strings.HasPrefix(err.Error(), "gateway edge1: rebuild: ") {
		t.Errorf("Rebuild offline = %v, want ErrDown naming the gateway", err)
	}
	if _, err := g.List(t.Context()); !errors.Is(err, ErrDown) {
		t.Errorf("List offline = %v, want ErrDown", err)
	}
}

func TestCheckElementsBoundsItsReport(t *testing.T) {
	bad := make([]actions.Element, 1000)
	for i := range bad {
		bad[i] = actions.Element{Set: "nope"}
	}
	err := checkElements("add", bad)
	if err == nil || !strings.Contains(err.Error(), "and 990 more bad elements") {
		t.Fatalf("checkElements(1000 bad) = %v, want 10 listed and the rest counted", err)
	}
}

// TestValidatedRendersClean checks the contract with actions.RenderBatch:
// whatever passes checkElements renders into lines that stay within their
// element braces.
func TestValidatedRendersClean(t *testing.T) {
	elems := roundTripElements()
	if err := checkElements("add", elems); err != nil {
		t.Fatalf("checkElements(good) = %v", err)
	}
	script := actions.RenderBatch(actions.Batch{Add: elems, Delete: elems})
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		if strings.Count(line, "{") != 1 || strings.Count(line, "}") != 1 || strings.ContainsAny(line, ";#") {
			t.Errorf("rendered line %q is not one plain element command", line)
		}
	}
}

func offlineGateway(t *testing.T) *Gateway {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, key, string(pem.EncodeToMemory(block)))
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, "")
	g, err := New(Config{Name: "edge1", Addr: "192.0.2.1:22", User: "root", KnownHosts: kh, KeyFile: key}, testLayout(), testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SSH_AUTH_SOCK", "")
	good := Config{Name: "edge1", Addr: "192.0.2.1:22", User: "root", KnownHosts: filepath.Join(dir, "kh"), KeyFile: filepath.Join(dir, "key")}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"IPv6 address", func(c *Config) { c.Addr = "[2001:db8::1]:2222" }, ""},
		{"hostname", func(c *Config) { c.Addr = "edge1.example.net:22" }, ""},
		{"no port", func(c *Config) { c.Addr = "192.0.2.1" }, "want host:port"},
		{"port zero", func(c *Config) { c.Addr = "edge1:0" }, "port must be"},
		{"hostile host", func(c *Config) { c.Addr = "-oProxyCommand=sh:22" }, "neither an IP address nor a hostname"},
		{"hostile user", func(c *Config) { c.User = "root -oProxyCommand" }, "user"},
		{"no known_hosts", func(c *Config) { c.KnownHosts = "" }, "known_hosts"},
		{"no key, no agent", func(c *Config) { c.KeyFile = "" }, "SSH_AUTH_SOCK"},
		{"short keepalive", func(c *Config) { c.Keepalive = time.Millisecond }, "keepalive"},
		{"no name", func(c *Config) { c.Name = "" }, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error saying %q", err, tc.want)
			case tc.want == "" && c.Keepalive != DefaultKeepalive:
				t.Errorf("Keepalive = %s, want the default %s", c.Keepalive, DefaultKeepalive)
			}
		})
	}
}

func TestCommandsAreConstant(t *testing.T) {
	g := &Gateway{cfg: Config{Sudo: true}}
	for _, tc := range []struct{ got, want string }{
		{g.command(cmdApply), "sudo -n nft -f -"},
		{g.command(cmdList), "sudo -n nft -j list table inet phantomsoc"},
		{g.command(cmdVersion), "sudo -n nft --version"},
	} {
		if tc.got != tc.want {
			t.Errorf("command = %q, want %q", tc.got, tc.want)
		}
	}
}
