package netlink

import (
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

// TestBlockExpires leaves removal to the kernel: a block with a one-second
// TTL stops a connection at once and lets one through again after it ran
// out, with nothing sent by phantomsoc in between.
func TestBlockExpires(t *testing.T) {
	for _, tc := range []struct {
		name, set, local, to, counter string
	}{
		{"ipv4", "block4", nstest.Attacker, gwSSH, "sources:block4"},
		{"ipv6", "block6", nstest.Attacker6, gwSSH6, "sources:block6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := newTopo(t, testLayout())
			p := probe{"attacker", tc.local, tc.to}
			tp.expect(t, "before", []probe{p}, nil)
			e := actions.Element{Set: tc.set, Prefix: pfx(tc.local), Timeout: time.Second}
			if err := tp.b.Apply(t.Context(), actions.Batch{Add: []actions.Element{e}}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			added := time.Now()
			if !tp.blocked(p) {
				t.Fatalf("%s connected right after a 1s block", p)
			}
			if got := tp.counters(t)[tc.counter].Packets; got == 0 {
				t.Errorf("counter %s = 0 after a blocked connection", tc.counter)
			}
			// Each failed attempt waits out its own timeout, so this
			// polls without sleeping.
			for !tp.reachable(p) {
				if time.Since(added) > 10*time.Second {
					t.Fatalf("%s still blocked %s after a 1s block", p, time.Since(added))
				}
			}
			st, err := tp.b.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range st.Elements {
				t.Errorf("List after expiry: element %s still there", e.Key())
			}
		})
	}
}

// TestRateLimit opens new connections from a rate-limited source as fast as
// it can: the burst passes, then new connections are dropped, while another
// source is not limited.
func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name, set, limited, other, to, counter string
	}{
		{"ipv4", "ratelimit4", nstest.Attacker, nstest.Attacker2, gwSSH, "sources:ratelimit4"},
		{"ipv4 cidr", "ratelimit4", "192.0.2.0/28", nstest.Mgmt, gwSSH, "sources:ratelimit4"},
		{"ipv6", "ratelimit6", nstest.Attacker6, mgmt6, gwSSH6, "sources:ratelimit6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := testLayout()
			l.RatePerMinute, l.RateBurst = 1, 2
			tp := newTopo(t, l)
			src := pfx(tc.limited).Addr().String()
			if tc.name == "ipv4 cidr" {
				src = nstest.Attacker2
			}
			p := probe{"attacker", src, tc.to}
			// Before the limit, and so that neighbour discovery is done:
			// a first IPv6 SYN in a fresh topology waits for a
			// retransmit, and each retransmit is one more new packet.
			tp.expect(t, "before", []probe{p}, nil)
			e := actions.Element{Set: tc.set, Prefix: pfx(tc.limited), Timeout: time.Hour}
			if err := tp.b.Apply(t.Context(), actions.Batch{Add: []actions.Element{e}}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			var got []bool
			for range 8 {
				got = append(got, tp.blocked(p))
			}
			if got[0] {
				t.Errorf("first connection blocked: %v, want the burst to pass", got)
			}
			if !got[len(got)-1] {
				t.Errorf("connections %v: want the last ones dropped", got)
			}
			if c := tp.counters(t)[tc.counter]; c.Packets == 0 {
				t.Errorf("counter %s = 0 after dropped connections", tc.counter)
			}
			tp.expect(t, "other source", []probe{{"attacker", tc.other, tc.to}}, nil)
		})
	}
}
