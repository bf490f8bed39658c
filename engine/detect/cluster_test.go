package detect

import (
	"net/netip"
	"slices"
	"testing"
)

func TestClusters(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		name    string
		members []netip.Addr
		want    []string
	}{
		{"tight /28 cluster", addrs("203.0.113.17", "203.0.113.19", "203.0.113.22", "203.0.113.25", "203.0.113.28", "203.0.113.30"),
			[]string{"203.0.113.16/28"}},
		{"a straggler does not stretch the cluster", addrs("203.0.113.3", "203.0.113.17", "203.0.113.19", "203.0.113.22", "203.0.113.25", "203.0.113.28", "203.0.113.30", "203.0.113.31", "203.0.113.20", "203.0.113.21"),
			[]string{"203.0.113.16/28"}},
		{"two clusters in one /24", addrs("198.51.100.1", "198.51.100.2", "198.51.100.5", "198.51.100.7", "198.51.100.200", "198.51.100.201", "198.51.100.205", "198.51.100.206"),
			[]string{"198.51.100.0/29", "198.51.100.200/29"}},
		{"scattered sources: nothing", addrs("192.0.2.1", "192.0.2.60", "192.0.2.130", "192.0.2.250"), nil},
		{"too few", addrs("192.0.2.1", "192.0.2.2", "192.0.2.3"), nil},
		{"IPv6 in one /64", addrs("2001:db8:bad::1", "2001:db8:bad::9", "2001:db8:bad::30", "2001:db8:bad::77"), []string{"2001:db8:bad::/121"}},
		{"IPv6 across /64s", addrs("2001:db8:1::1", "2001:db8:1:1::1", "2001:db8:1:2::1", "2001:db8:1:3::1"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &group{members: tc.members}
			var got []string
			for _, p := range g.clusters(4) {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("clusters(%v) = %v, want %v", tc.members, got, tc.want)
			}
		})
	}
}
