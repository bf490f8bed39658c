package netlink

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phantomsoc/phantomsoc/actions"
)

// rebuilt is a bare namespace holding a freshly built table.
func rebuilt(t *testing.T, elems ...actions.Element) (*Backend, string) {
	t.Helper()
	ns := emptyNS(t)
	b := open(t, testLayout(), ns)
	if err := b.Rebuild(t.Context(), elems); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	return b, ns
}

func list(t *testing.T, b *Backend) *actions.State {
	t.Helper()
	st, err := b.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return st
}

// TestListRoundTrip reads back every shape of element Rebuild and Apply
// write: prefixes are rebuilt from the kernel's ranges, concatenations split
// into protocol, port and interface, timeouts and time left kept.
func TestListRoundTrip(t *testing.T) {
	want := equivalenceElements()
	b, _ := rebuilt(t, want[:10]...)
	if err := b.Apply(t.Context(), actions.Batch{Add: want[10:]}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	st := list(t, b)
	if !st.Present || !st.Intact || len(st.Missing) > 0 {
		t.Errorf("List: Present=%v Intact=%v Missing=%q, want a whole table", st.Present, st.Intact, st.Missing)
	}
	if !strings.HasPrefix(st.Version, "netlink") {
		t.Errorf("Version = %q, want netlink…", st.Version)
	}
	got := map[string]actions.Element{}
	for _, e := range st.Elements {
		got[e.Key()] = e
	}
	for _, w := range want {
		g, ok := got[w.Key()]
		if !ok {
			t.Errorf("element %s not listed", w.Key())
			continue
		}
		delete(got, w.Key())
		if g.Timeout != w.Timeout {
			t.Errorf("element %s: Timeout %s, want %s", w.Key(), g.Timeout, w.Timeout)
		}
		if w.Timeout > 0 && (g.Expires <= 0 || g.Expires > w.Timeout) {
			t.Errorf("element %s: Expires %s, want in (0, %s]", w.Key(), g.Expires, w.Timeout)
		}
		if w.Timeout == 0 && g.Expires != 0 {
			t.Errorf("permanent element %s: Expires %s, want 0", w.Key(), g.Expires)
		}
	}
	for k := range got {
		t.Errorf("unexpected element %s listed", k)
	}
	for _, r := range actions.Rules() {
		if _, ok := st.Counters[r.Comment]; r.Kind != actions.RuleJump && !ok {
			t.Errorf("no counter for rule %s", r.Comment)
		}
	}
}

// TestRefresh re-adds an element with a longer timeout: the kernel keeps
// one element and its expiry moves out.
func TestRefresh(t *testing.T) {
	for _, e := range []actions.Element{
		{Set: "block4", Prefix: pfx("192.0.2.10")},
		{Set: "block6", Prefix: pfx("2001:db8:1::/64")},
		{Set: "firewall4", Prefix: pfx("192.0.2.0/24"), Proto: actions.ProtoTCP, Port: 22},
		{Set: "tunnel6", Prefix: pfx("2001:db8:1::10"), Iface: "gwout"},
	} {
		t.Run(e.Set, func(t *testing.T) {
			b, _ := rebuilt(t)
			short, long := e, e
			short.Timeout, long.Timeout = 10*time.Second, time.Hour
			if err := b.Apply(t.Context(), actions.Batch{Add: []actions.Element{short}}); err != nil {
				t.Fatalf("Apply(%s): %v", short.Key(), err)
			}
			if err := b.Apply(t.Context(), actions.Batch{Add: []actions.Element{long}}); err != nil {
				t.Fatalf("Apply(%s) again: %v", long.Key(), err)
			}
			st := list(t, b)
			if len(st.Elements) != 1 {
				t.Fatalf("List after refresh: %d elements %v, want 1", len(st.Elements), st.Elements)
			}
			if g := st.Elements[0]; g.Timeout != time.Hour || g.Expires <= 10*time.Second {
				t.Errorf("after refresh: Timeout %s Expires %s, want 1h and more than 10s left", g.Timeout, g.Expires)
			}
		})
	}
}

// TestDeleteMissing deletes elements that are not there (never added, or
// expired) in every kind of set, in the same batch as a real change: the
// batch succeeds and the real change happens.
func TestDeleteMissing(t *testing.T) {
	b, _ := rebuilt(t, actions.Element{Set: "block4", Prefix: pfx("192.0.2.10")})
	batch := actions.Batch{
		Delete: []actions.Element{
			{Set: "block4", Prefix: pfx("192.0.2.10")},
			{Set: "block4", Prefix: pfx("203.0.113.0/24")},
			{Set: "block6", Prefix: pfx("2001:db8::/32")},
			{Set: "block4", Prefix: pfx("255.255.255.255")},
			{Set: "firewall6", Prefix: pfx("::/0"), Proto: actions.ProtoUDP, Port: 53},
			{Set: "tunnel4", Prefix: pfx("192.0.2.10"), Iface: "wg0"},
		},
		Add: []actions.Element{{Set: "isolate4", Prefix: pfx("198.51.100.10"), Timeout: time.Hour}},
	}
	for i := range 2 {
		if err := b.Apply(t.Context(), batch); err != nil {
			t.Fatalf("Apply #%d: %v", i+1, err)
		}
	}
	st := list(t, b)
	if len(st.Elements) != 1 || st.Elements[0].Key() != "isolate4 198.51.100.10/32" {
		t.Errorf("List = %v, want only isolate4 198.51.100.10/32", st.Elements)
	}
}

// TestDrift changes the table behind the backend's back: List notices, and
// Rebuild repairs it while keeping what it is given.
func TestDrift(t *testing.T) {
	keep := actions.Element{Set: "block4", Prefix: pfx("192.0.2.10"), Timeout: time.Hour}
	b, ns := rebuilt(t, keep)

	nsRun(t, ns, "nft", "flush", "ruleset")
	st := list(t, b)
	if st.Present || st.Intact || len(st.Elements) > 0 {
		t.Errorf("after flush ruleset: Present=%v Intact=%v Elements=%v, want no table", st.Present, st.Intact, st.Elements)
	}
	if err := b.Rebuild(t.Context(), []actions.Element{keep}); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if st := list(t, b); !st.Present || !st.Intact || len(st.Elements) != 1 {
		t.Fatalf("after Rebuild: Present=%v Intact=%v Missing=%q Elements=%v", st.Present, st.Intact, st.Missing, st.Elements)
	}

	for _, tc := range []struct {
		name, missing string
		breakIt       func()
	}{
		{"rule deleted", "rule forward:isolate4-to", func() { deleteRule(t, ns, actions.ChainForward, "forward:isolate4-to") }},
		{"jump deleted", "rule input:jump sources", func() { deleteRule(t, ns, actions.ChainInput, "jump sources") }},
		{"set deleted", "set ratelimit6", func() {
			deleteRule(t, ns, actions.ChainSources, "sources:ratelimit6")
			nsRun(t, ns, "nft", "delete", "set", "inet", "phantomsoc", "ratelimit6")
		}},
		{"rule added", "chain input has 8 rules, want 7", func() {
			nsRun(t, ns, "nft", "add", "rule", "inet", "phantomsoc", "input", "tcp", "dport", "22", "accept")
		}},
		{"chain deleted", "chain forward", func() {
			nsRun(t, ns, "nft", "delete", "chain", "inet", "phantomsoc", "forward")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.breakIt()
			st := list(t, b)
			if !st.Present || st.Intact || !slices.Contains(st.Missing, tc.missing) {
				t.Errorf("List: Present=%v Intact=%v Missing=%q, want present, not intact, missing %q", st.Present, st.Intact, st.Missing, tc.missing)
			}
			if err := b.Rebuild(t.Context(), []actions.Element{keep}); err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			st = list(t, b)
			if !st.Intact || len(st.Elements) != 1 || st.Elements[0].Key() != keep.Key() {
				t.Errorf("after Rebuild: Intact=%v Missing=%q Elements=%v, want intact with %s", st.Intact, st.Missing, st.Elements, keep.Key())
			}
		})
	}
}

// deleteRule deletes the rule of chain whose listing contains text.
func deleteRule(t *testing.T, ns, chain, text string) {
	t.Helper()
	out := nsRun(t, ns, "nft", "-a", "list", "chain", "inet", "phantomsoc", chain)
	for line := range strings.SplitSeq(string(out), "\n") {
		if !strings.Contains(line, text) {
			continue
		}
		_, handle, ok := strings.Cut(line, "# handle ")
		if !ok {
			break
		}
		nsRun(t, ns, "nft", "delete", "rule", "inet", "phantomsoc", chain, "handle", strings.TrimSpace(handle))
		return
	}
	t.Fatalf("no rule %q in chain %s:\n%s", text, chain, out)
}

// TestInvalidElements gives Apply and Rebuild elements that do not fit
// their set: each is an error naming the element, nothing reaches the
// kernel, and the valid elements of the same batch are not applied either.
func TestInvalidElements(t *testing.T) {
	b, _ := rebuilt(t)
	valid := actions.Element{Set: "block4", Prefix: pfx("192.0.2.10"), Timeout: time.Hour}
	for _, tc := range []struct {
		name string
		e    actions.Element
		want string
	}{
		{"unknown set", actions.Element{Set: "nope4", Prefix: pfx("192.0.2.1")}, `unknown set "nope4"`},
		{"config set is not a meter", actions.Element{Set: "rlmeter4", Prefix: pfx("192.0.2.1")}, "unknown set"},
		{"no address", actions.Element{Set: "block4"}, "no address"},
		{"ipv6 in ipv4 set", actions.Element{Set: "block4", Prefix: pfx("2001:db8::1")}, "address family"},
		{"ipv4 in ipv6 set", actions.Element{Set: "block6", Prefix: pfx("192.0.2.1")}, "address family"},
		{"mapped ipv4", actions.Element{Set: "block6", Prefix: netip.MustParsePrefix("::ffff:192.0.2.1/128")}, "IPv4-mapped"},
		{"host bits", actions.Element{Set: "block4", Prefix: netip.MustParsePrefix("192.0.2.10/24")}, "host bits"},
		{"port on block", actions.Element{Set: "block4", Prefix: pfx("192.0.2.1"), Proto: 6, Port: 22}, "address only"},
		{"iface on block", actions.Element{Set: "block4", Prefix: pfx("192.0.2.1"), Iface: "eth0"}, "address only"},
		{"firewall without port", actions.Element{Set: "firewall4", Prefix: pfx("192.0.2.1"), Proto: 6}, "needs a port"},
		{"firewall bad proto", actions.Element{Set: "firewall4", Prefix: pfx("192.0.2.1"), Proto: 1, Port: 22}, "want tcp or udp"},
		{"tunnel without iface", actions.Element{Set: "tunnel4", Prefix: pfx("192.0.2.1")}, "interface"},
		{"tunnel bad iface", actions.Element{Set: "tunnel4", Prefix: pfx("192.0.2.1"), Iface: "eth0 }; flush ruleset"}, "interface"},
		{"tunnel long iface", actions.Element{Set: "tunnel4", Prefix: pfx("192.0.2.1"), Iface: "abcdefghijklmnop"}, "interface"},
		{"negative timeout", actions.Element{Set: "block4", Prefix: pfx("192.0.2.1"), Timeout: -time.Second}, "negative"},
		{"timeout past max", actions.Element{Set: "block4", Prefix: pfx("192.0.2.1"), Timeout: actions.MaxTTL + time.Hour}, "exceeds"},
		{"timeout on config set", actions.Element{Set: "mgmt4", Prefix: pfx("192.0.2.1"), Timeout: time.Hour}, "take no timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, batch := range []actions.Batch{
				{Add: []actions.Element{valid, tc.e}},
				{Delete: []actions.Element{tc.e}, Add: []actions.Element{valid}},
			} {
				err := b.Apply(t.Context(), batch)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.e.Key()) {
					t.Errorf("Apply(%v) = %v, want an error naming %q and saying %q", batch, err, tc.e.Key(), tc.want)
				}
			}
			if err := b.Rebuild(t.Context(), []actions.Element{valid, tc.e}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Rebuild = %v, want an error saying %q", err, tc.want)
			}
			if st := list(t, b); !st.Intact || len(st.Elements) != 0 {
				t.Errorf("after refused batches: Intact=%v Elements=%v, want the table untouched", st.Intact, st.Elements)
			}
		})
	}
}

// TestKernelRefusesAll sends a batch the kernel refuses (an interval that
// overlaps one already there): nothing of it is applied.
func TestKernelRefusesAll(t *testing.T) {
	b, _ := rebuilt(t, actions.Element{Set: "block4", Prefix: pfx("192.0.2.0/24")})
	before := keys(list(t, b).Elements)
	err := b.Apply(t.Context(), actions.Batch{
		Delete: []actions.Element{{Set: "block4", Prefix: pfx("198.51.100.0/24")}},
		Add: []actions.Element{
			{Set: "block6", Prefix: pfx("2001:db8::1")},
			{Set: "block4", Prefix: pfx("192.0.2.128/25")},
		},
	})
	if err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Fatalf("Apply of an overlapping interval = %v, want the kernel to refuse the batch as an overlap", err)
	}
	if diff := cmp.Diff(before, keys(list(t, b).Elements)); diff != "" {
		t.Errorf("a refused batch changed the set (-before +after):\n%s", diff)
	}
}

// TestApplyLarge applies 100,000 elements in one batch and reads them back.
func TestApplyLarge(t *testing.T) {
	b, _ := rebuilt(t)
	elems := hosts(100_000, time.Hour)
	if err := b.Apply(t.Context(), actions.Batch{Add: elems}); err != nil {
		t.Fatalf("Apply of %d elements: %v", len(elems), err)
	}
	if got := len(list(t, b).Elements); got != len(elems) {
		t.Errorf("List: %d elements, want %d", got, len(elems))
	}
	if err := b.Apply(t.Context(), actions.Batch{Delete: elems}); err != nil {
		t.Fatalf("Apply(delete) of %d elements: %v", len(elems), err)
	}
	if got := len(list(t, b).Elements); got != 0 {
		t.Errorf("List after deleting all: %d elements, want 0", got)
	}
}

// hosts are n distinct /32 blocks in 10.0.0.0/8, spaced so no two ranges
// touch (adjacent ranges would share a boundary key).
func hosts(n int, ttl time.Duration) []actions.Element {
	out := make([]actions.Element, n)
	for i := range out {
		v := uint32(10<<24) + uint32(i)*2
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		out[i] = actions.Element{Set: "block4", Prefix: netip.PrefixFrom(a, 32), Timeout: ttl}
	}
	return out
}

// TestNew refuses what is not a network namespace and opens the current one.
func TestNew(t *testing.T) {
	if _, err := New(testLayout(), t.TempDir()); err == nil {
		t.Error("New(a directory) succeeded, want an error")
	}
	if _, err := New(testLayout(), "/nonexistent/ns"); err == nil {
		t.Error("New(a missing path) succeeded, want an error")
	}
	if _, err := New(nil, ""); err == nil {
		t.Error("New(nil layout) succeeded, want an error")
	}
	if _, err := New(&actions.Layout{RatePerMinute: -1}, ""); err == nil {
		t.Error("New(bad layout) succeeded, want an error")
	}
	l := testLayout()
	b, err := New(l, "")
	if err != nil {
		t.Fatalf(`New(""): %v`, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if l.RatePerMinute != 0 {
		t.Errorf("New changed the caller's layout: RatePerMinute = %d", l.RatePerMinute)
	}
}

func keys(es []actions.Element) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key())
	}
	slices.Sort(out)
	return out
}
