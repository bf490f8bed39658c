package evidence

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
	"github.com/phantomsoc/phantomsoc/store"
)

// nsEnv is a topology whose gateway namespace is the runner "gw".
func nsEnv(t *testing.T, tools ...string) (*nstest.Topology, *testEnv) {
	t.Helper()
	nstest.Require(t)
	for _, bin := range tools {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install %s): %v", bin, bin, err)
		}
	}
	tp := nstest.New(t)
	return tp, newEnv(t, Options{Runners: map[string]Runner{"gw": Local{Netns: tp.Gateway}}})
}

func mustExec(t *testing.T, tp *nstest.Topology, ns string, name string, args ...string) {
	t.Helper()
	if out, err := tp.Exec(ns, name, args...); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func TestRulesetBeforeAfter(t *testing.T) {
	tp, e := nsEnv(t, "nft")
	mustExec(t, tp, tp.Gateway, "nft", "add table inet phantomsoc; add set inet phantomsoc block4 { type ipv4_addr; }")
	r := Request{Gateway: "gw", Incident: "in-00000001", Collector: "engine", Ref: "dc-00000001"}
	before, after, applyErr, err := e.c.Bracket(t.Context(), r, []string{"in-00000002"}, func(context.Context) error {
		_, err := tp.Exec(tp.Gateway, "nft", "add element inet phantomsoc block4 { "+nstest.Attacker+" }")
		return err
	})
	if applyErr != nil || err != nil {
		t.Fatalf("Bracket: apply %v, snapshots %v", applyErr, err)
	}
	for _, inc := range []string{"in-00000001", "in-00000002"} {
		items, err := e.db.Evidence(store.EvidenceQuery{Incident: inc})
		ids := map[string]bool{}
		for _, it := range items {
			ids[it.ID] = true
		}
		if err != nil || len(items) != 2 || !ids[before.ID] || !ids[after.ID] {
			t.Errorf("evidence of %s = %+v, %v; want both snapshots", inc, items, err)
		}
	}
	if before.ID == after.ID || before.Meta["phase"] != "before" || after.Meta["phase"] != "after" || after.Meta["ref"] != "dc-00000001" ||
		after.Meta["command"] != "nft -j list table inet phantomsoc" || after.Source != "gw" {
		t.Errorf("before = %+v\nafter = %+v", before, after)
	}
	for _, c := range []struct {
		it   Item
		want bool
	}{{before, false}, {after, true}} {
		data, err := e.blobs.Read(c.it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(data) || !bytes.Contains(data, []byte(`"name": "phantomsoc"`)) && !bytes.Contains(data, []byte(`"name":"phantomsoc"`)) {
			t.Errorf("%s ruleset is not nft's JSON of the table: %s", c.it.Meta["phase"], data)
		}
		if got := bytes.Contains(data, []byte(nstest.Attacker)); got != c.want {
			t.Errorf("%s ruleset holds %s: %v, want %v", c.it.Meta["phase"], nstest.Attacker, got, c.want)
		}
	}
	all, err := e.c.Collect(t.Context(), Request{Type: engine.EvidenceRuleset, Gateway: "gw", Scope: "ruleset", Collector: "alice"})
	if err != nil || all.Meta["command"] != "nft -j list ruleset" {
		t.Errorf("full ruleset = %+v, %v", all, err)
	}
}

// holdListener accepts on addr in ns and keeps every connection open until
// the test ends.
func holdListener(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	if err := nstest.Do(ns, func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatalf("listen in %s on %s: %v", ns, addr, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
}

// dialHeld connects from ns bound to local and keeps the connection open
// until the test ends.
func dialHeld(t *testing.T, ns, local, addr string) {
	t.Helper()
	var c net.Conn
	err := nstest.Do(ns, func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, local, err)
	}
	t.Cleanup(func() { c.Close() })
}

func TestConnectionTable(t *testing.T) {
	tp, e := nsEnv(t, "ss")
	// Conntrack tracks a namespace's flows only once a rule needs it.
	mustExec(t, tp, tp.Gateway, "nft", "add table inet track; add chain inet track in { type filter hook input priority 0; }; add rule inet track in ct state established counter")
	gw := net.JoinHostPort(nstest.GatewayOut, "22")
	holdListener(t, tp.Gateway, gw)
	dialHeld(t, tp.Attacker, nstest.Attacker, gw)
	dialHeld(t, tp.Attacker, nstest.Attacker2, gw)
	src := netip.MustParsePrefix(nstest.Attacker + "/32")
	for _, tool := range []string{"ss", "conntrack"} {
		t.Run(tool, func(t *testing.T) {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("needs %s (apt-get install %s)", tool, tool)
			}
			it, err := e.c.Collect(t.Context(), Request{Type: engine.EvidenceConnections, Gateway: "gw", Target: src, Tool: tool, Incident: "in-00000001", Collector: "alice"})
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			data, _ := e.blobs.Read(it.ID)
			if !bytes.Contains(data, []byte(nstest.Attacker)) || bytes.Contains(data, []byte(nstest.Attacker2)) {
				t.Errorf("%s table holds %s but not %s? got:\n%s", tool, nstest.Attacker, nstest.Attacker2, data)
			}
			if it.Meta["tool"] != tool || it.Meta["target"] != src.String() {
				t.Errorf("meta = %v", it.Meta)
			}
		})
	}
}

func TestPacketCapture(t *testing.T) {
	tp, e := nsEnv(t, "tcpdump", "timeout")
	gw := net.JoinHostPort(nstest.GatewayOut, "22")
	nstest.Listen(t, tp.Gateway, gw)
	const packets = 6
	type result struct {
		it  Item
		err error
	}
	res := make(chan result, 1)
	go func() {
		it, err := e.c.Collect(t.Context(), Request{
			Type: engine.EvidencePcap, Gateway: "gw", Iface: tp.GatewayIface, Target: netip.MustParsePrefix(nstest.Attacker + "/32"),
			Port: 22, Duration: 10 * time.Second, MaxPackets: packets, Incident: "in-00000001", Collector: "alice",
		})
		res <- result{it, err}
	}()
	// Knock from both attacker addresses until the capture ends: only
	// the filtered one may show up in it.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var r result
wait:
	for {
		select {
		case r = <-res:
			break wait
		case <-tick.C:
			_ = nstest.Connect(tp.Attacker, nstest.Attacker2, gw, time.Second)
			_ = nstest.Connect(tp.Attacker, nstest.Attacker, gw, time.Second)
		}
	}
	if r.err != nil {
		t.Fatalf("Collect: %v", r.err)
	}
	data, err := e.blobs.Read(r.it.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, link, err := PcapPackets(data)
	if err != nil || n != packets || link != 1 {
		t.Fatalf("PcapPackets = %d, link %d, %v; want %d Ethernet packets", n, link, err, packets)
	}
	if r.it.Meta["packets"] != "6" || r.it.Meta["filter"] != "host "+nstest.Attacker+" and port 22" || r.it.Meta["iface"] != tp.GatewayIface {
		t.Errorf("meta = %v", r.it.Meta)
	}
	// Every packet is IPv4 between the attacker and the gateway.
	want := [2][4]byte{netip.MustParseAddr(nstest.Attacker).As4(), netip.MustParseAddr(nstest.GatewayOut).As4()}
	rest := data[pcapHeaderLen:]
	for i := range n {
		incl := binary.LittleEndian.Uint32(rest[8:])
		pkt := rest[pcapRecordLen : pcapRecordLen+incl]
		rest = rest[pcapRecordLen+incl:]
		if len(pkt) < 34 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
			t.Errorf("packet %d is not IPv4 over Ethernet", i+1)
			continue
		}
		var s, d [4]byte
		copy(s[:], pkt[26:30])
		copy(d[:], pkt[30:34])
		if [2][4]byte{s, d} != want && [2][4]byte{d, s} != want {
			t.Errorf("packet %d is %v -> %v, want between %s and %s", i+1, s, d, nstest.Attacker, nstest.GatewayOut)
		}
	}
}

// TestPacketCaptureTimeCap captures from a source that sends nothing: the
// duration ends the capture, and what comes back is a valid, empty pcap.
func TestPacketCaptureTimeCap(t *testing.T) {
	tp, e := nsEnv(t, "tcpdump", "timeout")
	it, err := e.c.Collect(t.Context(), Request{
		Type: engine.EvidencePcap, Gateway: "gw", Iface: tp.GatewayIface, Target: netip.MustParsePrefix("2001:db8:1::/64"),
		Duration: time.Second, MaxPackets: 1000, Collector: "alice",
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	data, _ := e.blobs.Read(it.ID)
	if n, _, err := PcapPackets(data); err != nil || n != 0 || it.Meta["filter"] != "net 2001:db8:1::/64" {
		t.Errorf("PcapPackets = %d, %v (meta %v); want an empty capture", n, err, it.Meta)
	}
}
