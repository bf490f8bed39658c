package netlink

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

// Addresses the topology does not have: a management host for IPv6 (added
// to the attacker namespace where a test needs it).
const mgmt6 = "2001:db8:1::99"

// emptyNS creates a bare network namespace (loopback only) and removes it
// when t ends.
func emptyNS(t testing.TB) string {
	t.Helper()
	nstest.Require(t)
	var r [3]byte
	_, _ = rand.Read(r[:])
	ns := "psnl" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

// nsRun runs a command in namespace ns and fails t if it fails.
func nsRun(t testing.TB, ns string, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v: %s", name, args, ns, err, out)
	}
	return out
}

// open opens a backend on ns and closes it when t ends.
func open(t testing.TB, l *actions.Layout, ns string) *Backend {
	t.Helper()
	b, err := New(l, nstest.Path(ns))
	if err != nil {
		t.Fatalf("New(%s): %v", ns, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// testLayout is the topology's management host and a quarantine allow-list
// entry on it (DNS over TCP), in both families.
func testLayout() *actions.Layout {
	return &actions.Layout{
		Mgmt: []netip.Prefix{pfx(nstest.Mgmt), pfx(mgmt6)},
		QuarantineAllow: []actions.Service{
			{Prefix: pfx(nstest.Mgmt), Proto: actions.ProtoTCP, Port: 53},
			{Prefix: pfx(mgmt6), Proto: actions.ProtoTCP, Port: 53},
		},
	}
}

// pfx parses an address or CIDR, failing loudly on a typo in a test table.
func pfx(s string) netip.Prefix {
	p, err := actions.ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return p
}

// nftJSON is `nft -j list table inet phantomsoc` in ns, decoded, with what
// differs between two equal tables removed: handles, counter values, the
// time left on elements and nft's metainfo.
func nftJSON(t testing.TB, ns string) any {
	t.Helper()
	out := nsRun(t, ns, "nft", "-j", "list", "table", actions.TableFamily, actions.TableName)
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("nft -j output: %v: %s", err, out)
	}
	return normalise(v)
}

func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "handle")
		delete(v, "expires")
		delete(v, "metainfo")
		if c, ok := v["counter"].(map[string]any); ok {
			c["packets"], c["bytes"] = 0, 0
		}
		for k, x := range v {
			v[k] = normalise(x)
		}
	case []any:
		out := v[:0]
		for _, x := range v {
			if m, ok := x.(map[string]any); ok && len(m) == 1 && m["metainfo"] != nil {
				continue
			}
			out = append(out, normalise(x))
		}
		return out
	}
	return v
}
