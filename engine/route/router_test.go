package route

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestMatch(t *testing.T) {
	r := loadTree(t)
	tests := []struct {
		name   string
		labels map[string]string
		want   []string // route: receivers
	}{
		{"nothing special goes to the root", map[string]string{"scenario": "port-scan", "risk": "9"},
			[]string{"route: ops"}},
		{"lab boxes, whatever the risk", map[string]string{"scenario": "ssh-bruteforce", "risk": "9", "role": "lab"},
			[]string{"route.routes[0]: lab-chan"}},
		{"regexp and numeric: a serious ssh attack pages", map[string]string{"scenario": "ssh-bruteforce", "risk": "7"},
			[]string{"route.routes[1]: pager"}},
		{"numeric below the bar", map[string]string{"scenario": "ssh-bruteforce", "risk": "6.9"},
			[]string{"route: ops"}},
		{"a risk that is not a number does not compare", map[string]string{"scenario": "ssh-bruteforce", "risk": "high"},
			[]string{"route: ops"}},
		{"regexp is anchored", map[string]string{"scenario": "old-ssh-bruteforce", "risk": "9"},
			[]string{"route: ops"}},
		{"continue reaches the next matching sibling", map[string]string{"scenario": "ssh-bruteforce", "risk": "8", "country": "CN"},
			[]string{"route.routes[1]: pager", "route.routes[2]: geo"}},
		{"negated regexp keeps FR out of geo", map[string]string{"scenario": "ssh-bruteforce", "risk": "8", "country": "FR"},
			[]string{"route.routes[1]: pager"}},
		{"without continue the first match wins", map[string]string{"country": "CN", "gateway": "gw-edge"},
			[]string{"route.routes[2]: geo"}},
		{"a child route is preferred to its parent", map[string]string{"gateway": "gw-core,gw-edge", "severity": "9"},
			[]string{"route.routes[3].routes[0]: edge-pager"}},
		{"the parent delivers when no child matches", map[string]string{"gateway": "gw-edge,gw-x", "severity": "8"},
			[]string{"route.routes[3]: audit"}},
		{"a gateway list is matched element-wise", map[string]string{"gateway": "gw-edge2"},
			[]string{"route: ops"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, res := range r.Match(tc.labels) {
				got = append(got, res.Route+": "+strings.Join(res.Receivers, ","))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match(%v) = %q, want %q", tc.labels, got, tc.want)
			}
		})
	}
}

func TestMatchInherits(t *testing.T) {
	r := loadTree(t)
	got := r.Match(map[string]string{"gateway": "gw-edge", "severity": "9"})
	if len(got) != 1 {
		t.Fatalf("Match = %+v, want one route", got)
	}
	res := got[0]
	if !slices.Equal(res.GroupBy, []string{"gateway"}) || res.GroupWait != 30*time.Second || res.RepeatInterval != 4*time.Hour {
		t.Errorf("Match = %+v, want group_by [gateway] from its parent and the root's intervals", res)
	}
	esc := r.Match(map[string]string{"scenario": "ssh-x", "risk": "9"})[0]
	if len(esc.Levels) != 3 || esc.Levels[1].Receivers[0] != "lead" || esc.GroupWait != 0 {
		t.Errorf("Match(ssh) = %+v, want three escalation levels and group_wait 0", esc)
	}
}

func TestExplain(t *testing.T) {
	r := loadTree(t)
	var b strings.Builder
	for _, s := range r.Explain(map[string]string{"scenario": "ssh-bruteforce", "risk": "8", "country": "CN", "role": "web"}) {
		mark := " "
		switch {
		case s.Selected:
			mark = "✓"
		case !s.Tried:
			mark = "-"
		case !s.Matched:
			mark = "✗"
		}
		b.WriteString(strings.Repeat("  ", s.Depth) + mark + " " + s.Route + " → " + strings.Join(s.Receivers, ",") + ": " + s.Why + "\n")
	}
	want := `  route → ops: the root matches every alert
  ✗ route.routes[0] → lab-chan: role=lab failed: role is "web"
  ✓ route.routes[1] → pager: matched scenario=~ssh-.*, risk>=7; delivers
  ✓ route.routes[2] → geo: matched country=~.+, country!~FR|DE; delivers
  - route.routes[3] → audit: not tried: route.routes[2] matched without continue
`
	if got := b.String(); got != want {
		t.Errorf("Explain =\n%s\nwant\n%s", got, want)
	}
}

func TestTree(t *testing.T) {
	golden.RequireEqual(t, []byte(loadTree(t).Tree()))
}

func TestLabels(t *testing.T) {
	src := netip.MustParseAddr("198.51.100.7")
	a := &engine.Alert{
		Scenario: "ssh-bruteforce", Key: "198.51.100.7", Source: src, Severity: 6, Risk: 8.25, Confidence: 0.9,
		Propose: "block", Host: "web1",
		Labels: map[string]string{"team": "blue", "risk": "0", "empty": ""},
		Blast:  engine.BlastRadius{Gateways: []string{"gw-edge", "gw-core", "gw-edge"}},
		Evidence: []engine.Event{
			{Source: netip.MustParseAddr("203.0.113.9"), Geo: &engine.Geo{Country: "DE", ASN: 3320}},
			{Source: src, Asset: &engine.Asset{Name: "web1", Role: "web", Criticality: 3}, Geo: &engine.Geo{Country: "CN", ASN: 4134, Org: "Chinanet"}},
			{Source: src, Asset: &engine.Asset{Name: "db1", Role: "database", Criticality: 5, Exposure: "internal", Owner: "dba"}},
		},
	}
	want := map[string]string{
		"scenario": "ssh-bruteforce", "severity": "6", "risk": "8.25", "confidence": "0.9", "propose": "block",
		"key": "198.51.100.7", "source": "198.51.100.7", "host": "web1",
		"asset": "db1", "role": "database", "criticality": "5", "exposure": "internal", "owner": "dba",
		"gateway": "gw-core,gw-edge", "country": "CN", "asn": "4134", "org": "Chinanet", "team": "blue",
	}
	got := Labels(a)
	if len(got) != len(want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Labels[%q] = %q, want %q", k, got[k], v)
		}
	}
	campaign := &engine.Alert{Scenario: "campaign", Key: "campaign", Prefixes: []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/24")}}
	if l := Labels(campaign); l["prefixes"] != "198.51.100.0/24,203.0.113.0/24" || l["source"] != "" {
		t.Errorf("Labels(campaign) = %v, want sorted prefixes and no source", l)
	}
}

func TestFingerprint(t *testing.T) {
	base := func() *engine.Alert {
		return &engine.Alert{ID: "01A", Scenario: "ssh-bruteforce", Key: "198.51.100.7",
			Source: netip.MustParseAddr("198.51.100.7"), Risk: 5, Time: wed}
	}
	fp := Fingerprint(base())
	same := base()
	same.ID, same.Time, same.Risk, same.Count = "01B", wed.Add(time.Hour), 9, 40
	if got := Fingerprint(same); got != fp {
		t.Errorf("Fingerprint changed with ID, time, risk or count: %s, want %s", got, fp)
	}
	for name, mut := range map[string]func(a *engine.Alert){
		"scenario": func(a *engine.Alert) { a.Scenario = "ssh-spray" },
		"key":      func(a *engine.Alert) { a.Key = "198.51.100.8" },
		"source":   func(a *engine.Alert) { a.Source = netip.MustParseAddr("198.51.100.8") },
		"prefixes": func(a *engine.Alert) { a.Prefixes = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")} },
		// length-prefixed fields: moving bytes between fields changes it
		"boundary": func(a *engine.Alert) { a.Scenario, a.Key = "ssh-bruteforce1", "98.51.100.7" },
	} {
		a := base()
		mut(a)
		if Fingerprint(a) == fp {
			t.Errorf("Fingerprint ignores %s", name)
		}
	}
	if len(fp) != 16 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Errorf("Fingerprint = %q, want 16 hex digits", fp)
	}
}
