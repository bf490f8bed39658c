package netlink

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phantomsoc/phantomsoc/actions"
)

// equivalenceElements fill every action set with the shapes phantomsoc
// writes: single addresses, CIDRs, ranges that reach the top of the address
// space (open intervals), /0, concatenations with CIDRs, with and without
// timeouts.
func equivalenceElements() []actions.Element {
	el := func(set, p string, proto uint8, port uint16, iface string, ttl time.Duration) actions.Element {
		return actions.Element{Set: set, Prefix: pfx(p), Proto: proto, Port: port, Iface: iface, Timeout: ttl}
	}
	const tcp, udp = actions.ProtoTCP, actions.ProtoUDP
	return []actions.Element{
		el("block4", "192.0.2.10", 0, 0, "", time.Hour),
		el("block4", "203.0.113.0/24", 0, 0, "", 0),
		el("block4", "255.255.255.255", 0, 0, "", 0),
		el("block6", "2001:db8:1::/64", 0, 0, "", time.Hour),
		el("block6", "2001:db8:2::10", 0, 0, "", 90*time.Second),
		el("block6", "ff00::/8", 0, 0, "", 0),
		el("ratelimit4", "0.0.0.0/0", 0, 0, "", 0),
		el("ratelimit6", "::/0", 0, 0, "", time.Minute),
		el("firewall4", "0.0.0.0/0", tcp, 2222, "", 0),
		el("firewall4", "192.0.2.10", udp, 53, "", 30*time.Minute),
		el("firewall4", "198.51.100.0/24", tcp, 22, "", 0),
		el("firewall6", "::/0", tcp, 2222, "", 0),
		el("firewall6", "2001:db8::/32", udp, 53, "", time.Hour),
		el("isolate4", "198.51.100.10", 0, 0, "", time.Hour),
		el("isolate6", "2001:db8:2::10", 0, 0, "", 0),
		el("quarantine4", "198.51.100.0/25", 0, 0, "", 0),
		el("quarantine6", "2001:db8:2::/64", 0, 0, "", 2*time.Hour),
		el("tunnel4", "192.0.2.10", 0, 0, "gwout", 0),
		el("tunnel4", "192.0.2.99", 0, 0, "gwout", 0),
		el("tunnel4", "203.0.113.128/25", 0, 0, "wg0", time.Hour),
		el("tunnel6", "2001:db8::/32", 0, 0, "wg0", time.Hour),
	}
}

// TestSameTableAsText is the contract between the backends: the table
// Rebuild writes over netlink and the one `nft -f` loads from
// actions.RenderTable list the same (JSON, and expression by expression),
// and stay the same after the same batch goes through Apply and
// actions.RenderBatch.
func TestSameTableAsText(t *testing.T) {
	l := testLayout()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	viaNetlink, viaText := emptyNS(t), emptyNS(t)
	b := open(t, l, viaNetlink)
	ctx := t.Context()
	elems := equivalenceElements()

	if err := b.Rebuild(ctx, elems); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	loadText(t, viaText, actions.RenderTable(l, elems))
	compareTables(t, "after Rebuild", viaNetlink, viaText)

	batch := actions.Batch{
		Delete: []actions.Element{
			{Set: "block4", Prefix: pfx("192.0.2.10")},
			{Set: "block4", Prefix: pfx("198.51.100.200")}, // never added
			{Set: "firewall4", Prefix: pfx("198.51.100.0/24"), Proto: actions.ProtoTCP, Port: 22},
			{Set: "tunnel6", Prefix: pfx("2001:db8::/32"), Iface: "wg0"},
			{Set: "isolate6", Prefix: pfx("2001:db8:2::10")},
		},
		Add: []actions.Element{
			{Set: "block4", Prefix: pfx("192.0.2.32/28"), Timeout: 2 * time.Hour},
			{Set: "block6", Prefix: pfx("2001:db8:3::/48")},
			{Set: "firewall6", Prefix: pfx("2001:db8:1::10"), Proto: actions.ProtoTCP, Port: 443, Timeout: time.Hour},
			{Set: "tunnel6", Prefix: pfx("2001:db8:1::10"), Iface: "gwout", Timeout: time.Hour},
			{Set: "isolate4", Prefix: pfx("198.51.100.10"), Timeout: 3 * time.Hour}, // refresh
		},
	}
	if err := b.Apply(ctx, batch); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	loadText(t, viaText, actions.RenderBatch(batch))
	compareTables(t, "after Apply", viaNetlink, viaText)
}

func loadText(t *testing.T, ns, script string) {
	t.Helper()
	cmd := "nft -f - <<'EOF'\n" + script + "EOF\n"
	nsRun(t, ns, "sh", "-c", cmd)
}

func compareTables(t *testing.T, when, viaNetlink, viaText string) {
	t.Helper()
	if diff := cmp.Diff(nftJSON(t, viaText), nftJSON(t, viaNetlink)); diff != "" {
		t.Errorf("%s: nft -j list differs (-text +netlink):\n%s", when, diff)
	}
	if diff := cmp.Diff(ruleDump(t, viaText), ruleDump(t, viaNetlink)); diff != "" {
		t.Errorf("%s: rule expressions differ (-text +netlink):\n%s", when, diff)
	}
}

var (
	ruleHeader = regexp.MustCompile(`^(inet phantomsoc [a-z]+)( \d+)*$`)
	counterVal = regexp.MustCompile(`counter pkts \d+ bytes \d+`)
)

// ruleDump is the rules as libnftnl prints the kernel's expressions
// (`nft --debug=netlink list`), handles and counter values removed: it
// catches what the JSON hides, such as registers and byteorder steps.
func ruleDump(t *testing.T, ns string) []string {
	t.Helper()
	out := nsRun(t, ns, "nft", "--debug=netlink", "list", "table", actions.TableFamily, actions.TableName)
	var lines []string
	inRules := false
	for line := range strings.SplitSeq(string(out), "\n") {
		if m := ruleHeader.FindStringSubmatch(line); m != nil {
			inRules = true
			lines = append(lines, m[1])
			continue
		}
		if strings.HasPrefix(line, "table ") {
			break // the listing itself follows the debug dump
		}
		if inRules && line != "" {
			lines = append(lines, counterVal.ReplaceAllString(line, "counter"))
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no rules in nft --debug=netlink output:\n%s", out)
	}
	return lines
}
