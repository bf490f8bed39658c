package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine/synth"
)

// TestWeekLongStream is the acceptance test of the detection pipeline: a
// synthetic week with fast, slow and distributed brute force, enumeration,
// scanners, a compromise and legitimate users with typos. Every attacker
// class must be caught and no legitimate user decided against.
func TestWeekLongStream(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "week.log")
	o := synth.DefaultOptions()
	var buf bytes.Buffer
	truth, err := synth.Generate(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := o.Start.Add(o.Duration)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	g := &globals{output: outputJSON}
	if _, err := replay(t.Context(), &out, nil, g, &inputOptions{format: "auto"}, []string{path}, ""); err != nil {
		t.Fatalf("replay: %v", err)
	}
	recs := decodeRecords(t, out.Bytes())

	alerted := map[netip.Addr]map[string]bool{}
	var decided []netip.Prefix
	var campaignPrefixes []netip.Prefix
	for _, r := range recs {
		switch r.Kind {
		case "alert":
			if a, err := netip.ParseAddr(r.Source); err == nil {
				if alerted[a] == nil {
					alerted[a] = map[string]bool{}
				}
				alerted[a][r.Scenario] = true
			}
			for _, p := range r.Prefixes {
				campaignPrefixes = append(campaignPrefixes, mustPrefix(t, p))
			}
		case "decision":
			if r.State == "refused" {
				continue
			}
			decided = append(decided, mustPrefix(t, r.Source))
		}
	}
	covered := func(a netip.Addr) bool {
		for _, p := range decided {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}

	// Each attacker class, with the scenario that must name it.
	wantScenario := map[synth.Class]string{
		synth.ClassFast:        "ssh-bruteforce",
		synth.ClassSlow:        "ssh-slow-bruteforce",
		synth.ClassEnumeration: "ssh-user-enum",
		synth.ClassScanner:     "ssh-preauth-scanner",
		synth.ClassCompromise:  "ssh-compromise-suspected",
	}
	for class, scenario := range wantScenario {
		srcs := truth.Sources[class]
		if len(srcs) == 0 {
			t.Fatalf("synthetic log has no %s sources", class)
		}
		for _, a := range srcs {
			if !alerted[a][scenario] {
				t.Errorf("%s attacker %s: no %s alert (alerts: %v)", class, a, scenario, keys(alerted[a]))
			}
			if !covered(a) {
				t.Errorf("%s attacker %s: no decision covers it", class, a)
			}
		}
	}

	// The distributed campaign: one campaign alert whose prefixes are the
	// dense groups, each decided on — and nothing wider.
	if len(truth.DensePrefixes) == 0 {
		t.Fatal("synthetic log has no dense campaign groups")
	}
	for _, want := range truth.DensePrefixes {
		found := false
		for _, p := range campaignPrefixes {
			if p.Overlaps(want) && p.Bits() >= want.Bits() {
				found = true
			}
		}
		if !found {
			t.Errorf("campaign prefix %s not proposed (proposed %v)", want, campaignPrefixes)
		}
	}
	for _, p := range decided {
		if (p.Addr().Is4() && p.Bits() < 24) || (p.Addr().Is6() && p.Bits() < 48) {
			t.Errorf("decision on %s is wider than a /24 (/48): never whole provider ranges", p)
		}
	}

	// No legitimate user is ever decided against, or even alerted on.
	for _, a := range truth.Sources[synth.ClassLegit] {
		if covered(a) {
			t.Errorf("legitimate user %s is covered by a decision", a)
		}
		if len(alerted[a]) > 0 {
			t.Errorf("legitimate user %s raised alerts %v", a, keys(alerted[a]))
		}
	}
}

func decodeRecords(t *testing.T, data []byte) []record {
	t.Helper()
	var recs []record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatalf("prefix %q: %v", s, err)
		}
		return p
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("address %q: %v", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen())
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
