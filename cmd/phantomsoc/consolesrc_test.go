package main

import (
	"net/netip"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestEventRingKeepsTheNewestAndNumbersThem(t *testing.T) {
	r := newEventRing(nil)
	add := func(n int) {
		for range n {
			r.Add(&engine.Event{Type: engine.TypeSSHAuthFailure, Source: netip.MustParseAddr("192.0.2.7")})
		}
	}
	add(10)
	got := r.After(0)
	if len(got) != 10 || got[0].Seq != 1 || got[9].Seq != 10 {
		t.Fatalf("After(0) = %d events, seq %d..%d; want 1..10", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
	if got := r.After(7); len(got) != 3 || got[0].Seq != 8 {
		t.Fatalf("After(7) = %+v; want 8..10", got)
	}
	if got := r.After(10); len(got) != 0 {
		t.Fatalf("After(10) = %d events, want none", len(got))
	}
	add(ringSize + 5)
	got = r.After(3)
	if len(got) != ringSize || got[0].Seq != 16 || got[len(got)-1].Seq != ringSize+15 {
		t.Fatalf("after wrapping: %d events, seq %d..%d; want the last %d (16..%d)", len(got), got[0].Seq, got[len(got)-1].Seq, ringSize, ringSize+15)
	}
	// A console that saw a previous daemon's higher numbers starts over.
	if got := r.After(1 << 40); len(got) != ringSize || got[0].Seq != 16 {
		t.Fatalf("After(beyond newest) = %d events from %d, want all retained from 16", len(got), got[0].Seq)
	}
	if got[0].Event.Source != netip.MustParseAddr("192.0.2.7") {
		t.Errorf("event not copied: %+v", got[0])
	}
}

func TestWideNeedsTypedConfirmation(t *testing.T) {
	p := netip.MustParsePrefix
	for _, c := range []struct {
		d    engine.Decision
		want bool
	}{
		{engine.Decision{Action: engine.ActionBlock, Target: p("192.0.2.7/32")}, false},
		{engine.Decision{Action: engine.ActionBlock, Target: p("192.0.2.0/24")}, false},
		{engine.Decision{Action: engine.ActionBlock, Target: p("192.0.2.0/23")}, true},
		{engine.Decision{Action: engine.ActionBlock, Target: p("2001:db8::/64")}, false},
		{engine.Decision{Action: engine.ActionBlock, Target: p("2001:db8::/48")}, true},
		{engine.Decision{Action: engine.ActionIsolate, Target: p("198.51.100.10/32")}, true},
		{engine.Decision{Action: engine.ActionBlock, Target: p("192.0.2.7/32"), Gateways: []string{"a", "b"}}, true},
		{engine.Decision{Action: engine.ActionFirewall, Port: 2222, Proto: "tcp"}, true},
	} {
		if got := wide(&c.d); got != c.want {
			t.Errorf("wide(%s %s gateways %v) = %v, want %v", c.d.Action, c.d.TargetString(), c.d.Gateways, got, c.want)
		}
	}
}

func TestSessionActorIsTheSSHLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"local", map[string]string{"USER": "alice"}, "console:alice"},
		{"ssh", map[string]string{"SSH_CONNECTION": "192.0.2.44 52144 192.0.2.1 22", "USER": "oncall", "LOGNAME": "x"}, "console:oncall@192.0.2.44"},
		{"ssh, logname only", map[string]string{"SSH_CONNECTION": "2001:db8::7 52144 2001:db8::1 22", "LOGNAME": "bob"}, "console:bob@2001:db8::7"},
		{"ssh, no login name", map[string]string{"SSH_CONNECTION": "192.0.2.44 52144 192.0.2.1 22"}, "console:alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sessionActor(func(k string) string { return tc.env[k] }, "console:alice"); got != tc.want {
				t.Errorf("sessionActor(%v) = %q, want %q", tc.env, got, tc.want)
			}
		})
	}
}
