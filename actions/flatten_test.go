package actions

import (
	"net/netip"
	"testing"
	"time"
)

func TestFlatten(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	p := netip.MustParsePrefix
	for _, c := range []struct {
		name  string
		items []item
		want  map[string]time.Time
	}{
		{"disjoint", []item{{p("192.0.2.7/32"), h(1)}, {p("198.51.100.0/24"), h(2)}},
			map[string]time.Time{"192.0.2.7/32": h(1), "198.51.100.0/24": h(2)}},
		{"covered host disappears", []item{{p("192.0.2.0/24"), h(4)}, {p("192.0.2.7/32"), h(1)}},
			map[string]time.Time{"192.0.2.0/24": h(4)}},
		{"same prefix keeps the later", []item{{p("192.0.2.7/32"), h(1)}, {p("192.0.2.7/32"), h(3)}},
			map[string]time.Time{"192.0.2.7/32": h(3)}},
		{"permanent wins", []item{{p("192.0.2.7/32"), h(1)}, {p("192.0.2.7/32"), time.Time{}}},
			map[string]time.Time{"192.0.2.7/32": {}}},
		{"longer host splits the range", []item{{p("192.0.2.0/30"), h(1)}, {p("192.0.2.1/32"), h(5)}},
			map[string]time.Time{"192.0.2.0/32": h(1), "192.0.2.1/32": h(5), "192.0.2.2/31": h(1)}},
		{"ipv6", []item{{p("2001:db8::/126"), h(1)}, {p("2001:db8::3/128"), h(2)}},
			map[string]time.Time{"2001:db8::/127": h(1), "2001:db8::2/128": h(1), "2001:db8::3/128": h(2)}},
		{"everyone", []item{{p("0.0.0.0/0"), h(1)}},
			map[string]time.Time{"0.0.0.0/0": h(1)}},
	} {
		out := map[elemKey]*want{}
		flatten(group{set: "block4"}, c.items, out)
		got := map[string]time.Time{}
		for k, w := range out {
			got[k.prefix.String()] = w.expires
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			continue
		}
		for k, v := range c.want {
			if g, ok := got[k]; !ok || !g.Equal(v) {
				t.Errorf("%s: %s = %v (present %v), want %v; all %v", c.name, k, g, ok, v, got)
			}
		}
		// The output never overlaps: the kernel would refuse it.
		var ps []netip.Prefix
		for k := range out {
			ps = append(ps, k.prefix)
		}
		for i := range ps {
			for j := range ps {
				if i != j && ps[i].Overlaps(ps[j]) {
					t.Errorf("%s: %s overlaps %s", c.name, ps[i], ps[j])
				}
			}
		}
	}
}
