package actions_test

import (
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

// dropsOf is decision id's drops on gw1.
func dropsOf(t *testing.T, r *rig, id string) actions.Drops {
	t.Helper()
	ds, err := r.enf.Drops(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Decision == id && d.Gateway == "gw1" {
			return d
		}
	}
	t.Fatalf("Drops() = %+v, nothing for %q on gw1", ds, id)
	return actions.Drops{}
}

// TestDropsCountPerDecision blocks an attacker in a real kernel, lets it
// knock, and reads the packets its decision's set element dropped; a wider
// block merged over it makes both counts shared.
func TestDropsCountPerDecision(t *testing.T) {
	r := newRig(t, actions.Options{})
	ctx := t.Context()
	res, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Decision.ID
	if d := dropsOf(t, r, id); d.Packets != 0 || d.Missing || d.Shared {
		t.Errorf("before any traffic: %+v, want 0 packets, applied, not shared", d)
	}
	const knocks = 3
	for range knocks {
		if r.reachable(t, nstest.Attacker2) {
			t.Fatal("the blocked attacker got through")
		}
	}
	// The other attacker is not blocked: its traffic is nobody's drops.
	if !r.reachable(t, nstest.Attacker) {
		t.Fatal("the other attacker is blocked too")
	}
	d := dropsOf(t, r, id)
	if d.Packets < knocks || d.Bytes < knocks*40 || d.Shared || d.Missing {
		t.Errorf("after %d refused connections: %+v, want at least %d packets of %d bytes, not shared", knocks, d, knocks, knocks*40)
	}
	if total := dropsOf(t, r, ""); total.Packets != d.Packets || total.Bytes != d.Bytes {
		t.Errorf("gateway total %+v, want the one decision's %d packets", total, d.Packets)
	}

	wide, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: "192.0.2.8/30", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{id, wide.Decision.ID} {
		if d := dropsOf(t, r, id); !d.Shared || d.Missing {
			t.Errorf("%s under a merged /30: %+v, want shared", id, d)
		}
	}
	// The shared element counts once in the gateway's total.
	if total, one := dropsOf(t, r, ""), dropsOf(t, r, id); total.Packets != one.Packets {
		t.Errorf("gateway total %d packets, want the shared element's %d once", total.Packets, one.Packets)
	}
}
