package netlink

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

// topo is a topology with phantomsoc's table on its gateway and a listener
// on every service the probes use.
type topo struct {
	*nstest.Topology
	b *Backend
}

// Services the probes connect to.
var (
	gwSSH    = net.JoinHostPort(nstest.GatewayOut, "22")
	gwSSH6   = net.JoinHostPort(nstest.GatewayOut6, "22")
	gwAlt    = net.JoinHostPort(nstest.GatewayOut, "2222")
	gwAlt6   = net.JoinHostPort(nstest.GatewayOut6, "2222")
	gwInSSH  = net.JoinHostPort(nstest.GatewayIn, "22")
	gwInSSH6 = net.JoinHostPort(nstest.GatewayIn6, "22")
	intWeb   = net.JoinHostPort(nstest.Internal, "80")
	intWeb6  = net.JoinHostPort(nstest.Internal6, "80")
	atkWeb   = net.JoinHostPort(nstest.Attacker, "8080")
	atkWeb6  = net.JoinHostPort(nstest.Attacker6, "8080")
	mgmtDNS  = net.JoinHostPort(nstest.Mgmt, "53")
	mgmtDNS6 = net.JoinHostPort(mgmt6, "53")
	mgmtWeb  = net.JoinHostPort(nstest.Mgmt, "80")
	mgmtWeb6 = net.JoinHostPort(mgmt6, "80")
)

func newTopo(t *testing.T, l *actions.Layout) *topo {
	t.Helper()
	tp := nstest.New(t)
	if out, err := tp.Exec(tp.Attacker, "ip", "addr", "add", mgmt6+"/64", "dev", "eth0", "nodad"); err != nil {
		t.Fatalf("add %s: %v: %s", mgmt6, err, out)
	}
	for _, a := range []string{gwSSH, gwSSH6, gwAlt, gwAlt6, gwInSSH, gwInSSH6} {
		nstest.Listen(t, tp.Gateway, a)
	}
	for _, a := range []string{intWeb, intWeb6} {
		nstest.Listen(t, tp.Internal, a)
	}
	for _, a := range []string{atkWeb, atkWeb6, mgmtDNS, mgmtDNS6, mgmtWeb, mgmtWeb6} {
		nstest.Listen(t, tp.Attacker, a)
	}
	b := open(t, l, tp.Gateway)
	if err := b.Rebuild(t.Context(), nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	return &topo{Topology: tp, b: b}
}

// probe is one TCP connection attempt: from a namespace ("attacker" or
// "internal"), bound to a local address, to a service.
type probe struct {
	from, local, to string
}

func (p probe) String() string { return fmt.Sprintf("%s %s -> %s", p.from, p.local, p.to) }

func (tp *topo) ns(role string) string {
	if role == "internal" {
		return tp.Internal
	}
	return tp.Attacker
}

// reachable reports whether p's connection completes.
func (tp *topo) reachable(p probe) bool {
	return nstest.Connect(tp.ns(p.from), p.local, p.to, 2*time.Second) == nil
}

// blocked reports whether p's connection does not complete in a short time.
func (tp *topo) blocked(p probe) bool {
	return nstest.Blocked(tp.ns(p.from), p.local, p.to) == nil
}

// expect checks every probe: open ones must connect, closed ones must not.
func (tp *topo) expect(t *testing.T, when string, open, closed []probe) {
	t.Helper()
	for _, p := range open {
		if !tp.reachable(p) {
			t.Errorf("%s: %s blocked, want it to connect", when, p)
		}
	}
	for _, p := range closed {
		if !tp.blocked(p) {
			t.Errorf("%s: %s connected, want it blocked", when, p)
		}
	}
}

func (tp *topo) counters(t *testing.T) map[string]actions.Counter {
	t.Helper()
	st, err := tp.b.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return st.Counters
}

func el(set, p string) actions.Element {
	return actions.Element{Set: set, Prefix: pfx(p), Timeout: time.Hour}
}

func fw(set, p string, port uint16) actions.Element {
	e := el(set, p)
	e.Proto, e.Port = actions.ProtoTCP, port
	return e
}

func tun(set, iface, p string) actions.Element {
	e := el(set, p)
	e.Iface = iface
	return e
}

// TestEnforce sends real packets through the gateway for every action type,
// IPv4 and IPv6, address and CIDR: before the action the closed probes
// connect, after Apply(add) they do not while the open ones still do and
// the rules' counters rose, and after Apply(delete) everything connects
// again.
func TestEnforce(t *testing.T) {
	atk := func(local, to string) probe { return probe{"attacker", local, to} }
	in := func(local, to string) probe { return probe{"internal", local, to} }
	const (
		a, a2, m, a6 = nstest.Attacker, nstest.Attacker2, nstest.Mgmt, nstest.Attacker6
		i, i6        = nstest.Internal, nstest.Internal6
	)
	cases := []struct {
		name     string
		elems    []actions.Element
		open     []probe
		closed   []probe
		counters []string
	}{
		{
			name:     "block ipv4 address",
			elems:    []actions.Element{el("block4", a)},
			open:     []probe{atk(a2, gwSSH), atk(a6, gwSSH6)},
			closed:   []probe{atk(a, gwSSH), atk(a, intWeb)},
			counters: []string{"sources:block4"},
		},
		{
			name:     "block ipv4 cidr",
			elems:    []actions.Element{el("block4", "192.0.2.0/28")},
			open:     []probe{atk(m, gwSSH)},
			closed:   []probe{atk(a, gwSSH), atk(a2, gwSSH), atk(a2, intWeb)},
			counters: []string{"sources:block4"},
		},
		{
			name:     "block ipv6 address",
			elems:    []actions.Element{el("block6", a6)},
			open:     []probe{atk(mgmt6, gwSSH6), atk(a, gwSSH)},
			closed:   []probe{atk(a6, gwSSH6), atk(a6, intWeb6)},
			counters: []string{"sources:block6"},
		},
		{
			name:     "block ipv6 cidr",
			elems:    []actions.Element{el("block6", "2001:db8:1::10/124")},
			open:     []probe{atk(mgmt6, gwSSH6)},
			closed:   []probe{atk(a6, gwSSH6)},
			counters: []string{"sources:block6"},
		},
		{
			name:     "firewall-rule ipv4 one source",
			elems:    []actions.Element{fw("firewall4", a, 2222)},
			open:     []probe{atk(a, gwSSH), atk(a2, gwAlt)},
			closed:   []probe{atk(a, gwAlt)},
			counters: []string{"sources:firewall4"},
		},
		{
			name:     "firewall-rule ipv4 cidr",
			elems:    []actions.Element{fw("firewall4", "192.0.2.0/28", 2222)},
			open:     []probe{atk(a, gwSSH), atk(m, gwAlt)},
			closed:   []probe{atk(a, gwAlt), atk(a2, gwAlt)},
			counters: []string{"sources:firewall4"},
		},
		{
			name:     "firewall-rule ipv6 one source",
			elems:    []actions.Element{fw("firewall6", a6, 2222)},
			open:     []probe{atk(a6, gwSSH6), atk(mgmt6, gwAlt6)},
			closed:   []probe{atk(a6, gwAlt6)},
			counters: []string{"sources:firewall6"},
		},
		{
			name:     "firewall-rule everyone",
			elems:    []actions.Element{fw("firewall4", "0.0.0.0/0", 2222), fw("firewall6", "::/0", 2222)},
			open:     []probe{atk(a, gwSSH), atk(a6, gwSSH6)},
			closed:   []probe{atk(a, gwAlt), atk(a2, gwAlt), atk(m, gwAlt), atk(a6, gwAlt6), atk(mgmt6, gwAlt6)},
			counters: []string{"sources:firewall4", "sources:firewall6"},
		},
		{
			name:   "isolate ipv4 host",
			elems:  []actions.Element{el("isolate4", i)},
			open:   []probe{atk(m, intWeb), atk(a6, intWeb6)},
			closed: []probe{atk(a, intWeb), in(i, atkWeb), in(i, mgmtWeb), in(i, gwInSSH)},
			counters: []string{"forward:isolate4-mgmt", "forward:isolate4-mgmt-reply", "forward:isolate4-to",
				"forward:isolate4-from", "input:isolate4"},
		},
		{
			name:     "isolate ipv4 cidr",
			elems:    []actions.Element{el("isolate4", "198.51.100.0/24")},
			open:     []probe{atk(m, intWeb)},
			closed:   []probe{atk(a, intWeb), in(i, atkWeb)},
			counters: []string{"forward:isolate4-mgmt", "forward:isolate4-to", "forward:isolate4-from"},
		},
		{
			name:   "isolate ipv6 host",
			elems:  []actions.Element{el("isolate6", i6)},
			open:   []probe{atk(mgmt6, intWeb6), atk(a, intWeb)},
			closed: []probe{atk(a6, intWeb6), in(i6, atkWeb6), in(i6, gwInSSH6)},
			counters: []string{"forward:isolate6-mgmt", "forward:isolate6-mgmt-reply", "forward:isolate6-to",
				"forward:isolate6-from", "input:isolate6"},
		},
		{
			name:   "quarantine ipv4 host",
			elems:  []actions.Element{el("quarantine4", i)},
			open:   []probe{in(i, mgmtDNS), atk(m, intWeb), in(i6, atkWeb6)},
			closed: []probe{in(i, mgmtWeb), in(i, atkWeb), atk(a, intWeb), in(i, gwInSSH)},
			counters: []string{"forward:quarantine4-allowed", "forward:quarantine4-reply", "forward:quarantine4-mgmt",
				"forward:quarantine4-from", "forward:quarantine4-to", "input:quarantine4"},
		},
		{
			name:     "quarantine ipv4 cidr",
			elems:    []actions.Element{el("quarantine4", "198.51.100.0/24")},
			open:     []probe{in(i, mgmtDNS)},
			closed:   []probe{in(i, atkWeb), atk(a, intWeb)},
			counters: []string{"forward:quarantine4-allowed", "forward:quarantine4-from", "forward:quarantine4-to"},
		},
		{
			name:   "quarantine ipv6 host",
			elems:  []actions.Element{el("quarantine6", i6)},
			open:   []probe{in(i6, mgmtDNS6), atk(mgmt6, intWeb6)},
			closed: []probe{in(i6, mgmtWeb6), in(i6, atkWeb6), atk(a6, intWeb6), in(i6, gwInSSH6)},
			counters: []string{"forward:quarantine6-allowed", "forward:quarantine6-reply", "forward:quarantine6-mgmt",
				"forward:quarantine6-from", "forward:quarantine6-to", "input:quarantine6"},
		},
		{
			name:     "tunnel ipv4 peer",
			elems:    []actions.Element{tun("tunnel4", "gwout", a)},
			open:     []probe{atk(a2, gwSSH)},
			closed:   []probe{atk(a, gwSSH), in(i, atkWeb)},
			counters: []string{"sources:tunnel4", "forward:tunnel4-out"},
		},
		{
			name:     "tunnel ipv6 peer",
			elems:    []actions.Element{tun("tunnel6", "gwout", a6)},
			open:     []probe{atk(mgmt6, gwSSH6)},
			closed:   []probe{atk(a6, gwSSH6), in(i6, atkWeb6)},
			counters: []string{"sources:tunnel6", "forward:tunnel6-out"},
		},
		{
			// The same peer address on another interface: its packets
			// arrive on gwout, so the element must not match them.
			name:  "tunnel on another interface",
			elems: []actions.Element{tun("tunnel4", "gwin", a), tun("tunnel6", "gwin", a6)},
			open:  []probe{atk(a, gwSSH), atk(a6, gwSSH6), in(i, atkWeb), in(i6, atkWeb6)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := newTopo(t, testLayout())
			ctx := t.Context()
			tp.expect(t, "before", append(slices.Clone(tc.open), tc.closed...), nil)
			before := tp.counters(t)

			if err := tp.b.Apply(ctx, actions.Batch{Add: tc.elems}); err != nil {
				t.Fatalf("Apply(add): %v", err)
			}
			tp.expect(t, "after add", tc.open, tc.closed)
			after := tp.counters(t)
			for _, c := range tc.counters {
				if after[c].Packets <= before[c].Packets {
					t.Errorf("counter %s: %d packets after, %d before: want it to rise", c, after[c].Packets, before[c].Packets)
				}
			}

			if err := tp.b.Apply(ctx, actions.Batch{Delete: tc.elems}); err != nil {
				t.Fatalf("Apply(delete): %v", err)
			}
			tp.expect(t, "after delete", append(slices.Clone(tc.open), tc.closed...), nil)
		})
	}
}
