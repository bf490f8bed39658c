package sshgw

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/evidence"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
	"github.com/phantomsoc/phantomsoc/store"
)

func TestCaptureLineRefusesHostileArguments(t *testing.T) {
	for _, argv := range [][]string{
		{"sh", "-c", "id"},
		{"nft", "list ruleset; id"},
		{"ss", "dst", "$(id)"},
		{"ss", "dst", "192.0.2.10'"},
		{"conntrack", "-L", "`id`"},
		{"timeout", "5", "bash"},
		{"nft", "-j", "list", "ruleset\nid"},
		{},
	} {
		if line, err := captureLine(argv); err == nil {
			t.Errorf("captureLine(%q) = %q, want a refusal", argv, line)
		}
	}
	line, err := captureLine([]string{"ss", "-tanp", "dst", "[2001:db8:1::10]"})
	if err != nil || line != "'ss' '-tanp' 'dst' '[2001:db8:1::10]'" {
		t.Errorf("captureLine = %q, %v; want every token quoted", line, err)
	}
}

// TestEvidenceOverSSH collects a ruleset before and after an action, the
// connection table and a packet capture from a gateway behind a real sshd.
func TestEvidenceOverSSH(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()
	if err := g.Rebuild(ctx, nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	path := filepath.Join(t.TempDir(), "phantomsoc.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := evidence.OpenBlobs(evidence.DefaultDir(path))
	if err != nil {
		t.Fatal(err)
	}
	c, err := evidence.New(blobs, db, evidence.Options{Runners: map[string]evidence.Runner{"edge1": g}})
	if err != nil {
		t.Fatal(err)
	}
	read := func(it evidence.Item) []byte {
		data, err := blobs.Read(it.ID)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	req := evidence.Request{Gateway: "edge1", Incident: "in-00000001", Collector: "engine", Ref: "dc-00000001"}
	before, after, applyErr, err := c.Bracket(ctx, req, nil, func(ctx context.Context) error {
		return g.Apply(ctx, actions.Batch{Add: []actions.Element{blockElem(nstest.Attacker2, time.Hour)}})
	})
	if applyErr != nil || err != nil {
		t.Fatalf("Bracket: apply %v, snapshots %v", applyErr, err)
	}
	if bytes.Contains(read(before), []byte(nstest.Attacker2)) || !bytes.Contains(read(after), []byte(nstest.Attacker2)) {
		t.Errorf("the before/after rulesets do not show %s being added", nstest.Attacker2)
	}
	if after.Source != "edge1" || after.Meta["gateway"] != "edge1" || after.Meta["phase"] != "after" {
		t.Errorf("after = %+v", after)
	}

	// The administering session itself is a connection from Mgmt.
	conns, err := c.Collect(ctx, evidence.Request{Type: engine.EvidenceConnections, Gateway: "edge1", Target: netip.MustParsePrefix(nstest.Mgmt + "/32"), Collector: "alice"})
	if err != nil {
		t.Fatalf("connections: %v", err)
	}
	if !bytes.Contains(read(conns), []byte(nstest.Mgmt)) {
		t.Errorf("connection table lacks the session from %s:\n%s", nstest.Mgmt, read(conns))
	}

	res := make(chan error, 1)
	var pcap evidence.Item
	go func() {
		var err error
		pcap, err = c.Collect(ctx, evidence.Request{
			Type: engine.EvidencePcap, Gateway: "edge1", Iface: tp.GatewayIface, Target: netip.MustParsePrefix(nstest.Attacker + "/32"),
			Duration: 10 * time.Second, MaxPackets: 4, Collector: "alice",
		})
		res <- err
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	addr := net.JoinHostPort(nstest.GatewayOut, "22")
	for done := false; !done; {
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("pcap: %v", err)
			}
			done = true
		case <-tick.C:
			_ = nstest.Connect(tp.Attacker, nstest.Attacker, addr, time.Second)
		}
	}
	if n, _, err := evidence.PcapPackets(read(pcap)); err != nil || n != 4 {
		t.Errorf("pcap over SSH holds %d packets, %v; want 4", n, err)
	}
	if !strings.HasPrefix(pcap.Meta["command"], "timeout --preserve-status -s INT") {
		t.Errorf("pcap command = %q", pcap.Meta["command"])
	}
}
