package main

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestFail2banJailSimulation(t *testing.T) {
	row := func(ip string, t float64) string {
		return fmt.Sprintf("['%s',\t%.1f,\t{'user': 'root'}],", ip, t)
	}
	var lines []string
	// 203.0.113.1: 5 failures in 4 minutes -> banned.
	for i := range 5 {
		lines = append(lines, row("203.0.113.1", 1000+float64(i)*60))
	}
	// 203.0.113.2: one failure every 15 minutes for hours -> never banned.
	for i := range 20 {
		lines = append(lines, row("203.0.113.2", 1000+float64(i)*900))
	}
	// 2001:db8::3: 4 failures, then the fifth 11 minutes after the first.
	for _, at := range []float64{0, 60, 120, 180, 660} {
		lines = append(lines, row("2001:db8::3", 5000+at))
	}
	lines = append(lines, "Lines: 30 lines, 0 ignored, 30 matched", "garbage ['x")
	got := debianJail.simulate(strings.NewReader(strings.Join(lines, "\n")))
	want := map[string]bool{"203.0.113.1": true, "203.0.113.2": false, "2001:db8::3": false}
	for ip, w := range want {
		if got[netip.MustParseAddr(ip)] != w {
			t.Errorf("banned[%s] = %v, want %v", ip, !w, w)
		}
	}
}

func TestJSONField(t *testing.T) {
	line := `{"kind":"decision","id":"de-00000002","source":"203.0.113.16/28","action":"block"}`
	if got := jsonField(line, "source"); got != "203.0.113.16/28" {
		t.Errorf("jsonField(source) = %q", got)
	}
	if got := jsonField(line, "missing"); got != "" {
		t.Errorf("jsonField(missing) = %q, want empty", got)
	}
}
