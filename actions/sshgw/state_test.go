package sshgw

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
)

// listLayout is the layout testdata/list.json was rendered with (by
// actions.RenderTable, listed by nft 1.0.6).
func listLayout() *actions.Layout {
	l := &actions.Layout{
		Mgmt:            []netip.Prefix{netip.MustParsePrefix("192.0.2.99/32")},
		QuarantineAllow: []actions.Service{{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Proto: actions.ProtoTCP, Port: 53}},
	}
	if err := l.Validate(); err != nil {
		panic(err)
	}
	return l
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseState(t *testing.T) {
	list := string(readTestdata(t, "list.json"))
	p := netip.MustParsePrefix
	wantElems := []actions.Element{
		{Set: "block4", Prefix: p("192.0.2.11/32"), Timeout: time.Hour, Expires: 3599 * time.Second},
		{Set: "block4", Prefix: p("203.0.113.0/24"), Timeout: time.Hour, Expires: 3599 * time.Second},
		{Set: "block6", Prefix: p("2001:db8:9::/48")},
		{Set: "firewall4", Prefix: p("0.0.0.0/0"), Proto: actions.ProtoTCP, Port: 2222, Timeout: time.Minute, Expires: 59 * time.Second},
		{Set: "firewall6", Prefix: p("2001:db8::5/128"), Proto: actions.ProtoUDP, Port: 53, Timeout: time.Minute, Expires: 59 * time.Second},
		{Set: "tunnel4", Prefix: p("192.0.2.0/24"), Iface: "wg0", Timeout: time.Minute, Expires: 59 * time.Second},
		{Set: "tunnel6", Prefix: p("2001:db8::1/128"), Iface: "wg0", Timeout: time.Minute, Expires: 59 * time.Second},
	}
	for _, tc := range []struct {
		name    string
		json    string
		layout  *actions.Layout
		present bool
		intact  bool
		missing []string
		elems   []actions.Element
	}{
		{name: "whole table", json: list, layout: listLayout(), present: true, intact: true, elems: wantElems},
		{name: "other layout", json: list, layout: testLayout(), present: true,
			missing: []string{"element qallow4 198.51.100.0/24 . udp . 53"}, elems: wantElems},
		{name: "no table", json: `{"nftables": [{"metainfo": {"version": "1.0.6"}}]}`, layout: listLayout(),
			missing: []string{"table inet phantomsoc"}},
		{name: "set of another type", json: strings.Replace(list, `"name": "block6", "table": "phantomsoc", "type": "ipv6_addr"`,
			`"name": "block6", "table": "phantomsoc", "type": "ipv4_addr"`, 1), layout: listLayout(), present: true,
			missing: []string{"set block6 of type ipv6_addr (has ipv4_addr)"}, elems: slices.Delete(slices.Clone(wantElems), 2, 3)},
		{name: "range element", json: strings.Replace(list, `"elem": [{"prefix": {"addr": "2001:db8:9::", "len": 48}}]`,
			`"elem": [{"range": ["2001:db8:9::1", "2001:db8:9::5"]}]`, 1), layout: listLayout(), present: true,
			missing: []string{`set block6: element this backend never writes: {"range": ["2001:db8:9::1", "2001:db8:9::5"]}: want an address or prefix`},
			elems:   slices.Delete(slices.Clone(wantElems), 2, 3)},
		{name: "chain without its hook", json: strings.Replace(list, `"name": "forward", "handle": 3, "type": "filter", "hook": "forward"`,
			`"name": "forward", "handle": 3`, 1), layout: listLayout(), present: true,
			missing: []string{"chain forward hooked to forward"}, elems: wantElems},
		{name: "rule gone", json: strings.Replace(list, `"comment": "input:isolate4"`, `"comment": "input:other"`, 1),
			layout: listLayout(), present: true, missing: []string{"rule input:isolate4"}, elems: wantElems},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseState([]byte(tc.json), tc.layout)
			if err != nil {
				t.Fatalf("parseState: %v", err)
			}
			if st.Present != tc.present || st.Intact != tc.intact || !slices.Equal(st.Missing, tc.missing) {
				t.Errorf("parseState: Present %v Intact %v Missing %q, want %v %v %q", st.Present, st.Intact, st.Missing, tc.present, tc.intact, tc.missing)
			}
			if !slices.Equal(st.Elements, tc.elems) {
				t.Errorf("parseState: elements\n%v\nwant\n%v", st.Elements, tc.elems)
			}
			if tc.present && len(st.Counters) != len(actions.Rules())-2 {
				t.Errorf("parseState: %d counters, want one per commented rule (%d)", len(st.Counters), len(actions.Rules())-2)
			}
		})
	}
}

func TestParseStateRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "nft: command not found", `{"nftables": [{"set": 7}]}`} {
		if _, err := parseState([]byte(in), listLayout()); err == nil {
			t.Errorf("parseState(%q) = nil error, want one", in)
		}
	}
}

func TestHasTable(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       bool
	}{
		{"present", string(readTestdata(t, "tables.json")), true},
		{"absent", `{"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "phantomsoc"}}]}`, false},
	} {
		got, err := hasTable([]byte(tc.json))
		if err != nil || got != tc.want {
			t.Errorf("hasTable(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// FuzzParseState: no panic, and every element read back passes the same
// check as elements about to be sent, so a listed element can always be
// deleted again.
func FuzzParseState(f *testing.F) {
	f.Add(readTestdata(f, "list.json"))
	f.Add(readTestdata(f, "tables.json"))
	f.Add([]byte(`{"nftables": [{"table": {"family": "inet", "name": "phantomsoc"}}, {"set": {"family": "inet", "table": "phantomsoc", "name": "tunnel4", "type": ["ifname", "ipv4_addr"], "elem": [{"elem": {"val": {"concat": ["wg0", "192.0.2.1"]}, "timeout": 5, "expires": 4}}]}}]}`))
	l := listLayout()
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data, l)
		if err != nil {
			return
		}
		if err := checkElements("listed", st.Elements); err != nil {
			t.Fatalf("parseState accepted elements that would be refused: %v", err)
		}
		for _, e := range st.Elements {
			if e.Expires < 0 || e.Expires > actions.MaxTTL {
				t.Fatalf("element %s expires in %s", e.Key(), e.Expires)
			}
		}
	})
}
