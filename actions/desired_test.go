package actions

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// BenchmarkDesired100k is the database side of a full reconcile: the
// flattened element set of 100,000 live blocks, and its comparison with the
// same set read back.
func BenchmarkDesired100k(b *testing.B) {
	e, err := New(Options{}, nil, nopJournal{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var st State
	for i := range 100_000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		d := &engine.Decision{ID: fmt.Sprintf("dm-%08d", i), Action: engine.ActionBlock, Target: p, TTL: time.Hour, Expires: now.Add(time.Hour), State: engine.StateActive}
		e.put(d)
		st.Elements = append(st.Elements, Element{Set: "block4", Prefix: p, Expires: time.Hour})
	}
	b.Run("flatten", func(b *testing.B) {
		for range b.N {
			if n := len(e.desired("gw", nil)); n != 100_000 {
				b.Fatalf("%d elements", n)
			}
		}
	})
	want := e.desired("gw", nil)
	b.Run("compare", func(b *testing.B) {
		for range b.N {
			have := fromState(&st, now)
			n := 0
			for k, w := range want {
				if h, ok := have[k]; !ok || drifted(h.expires, w.expires) {
					n++
				}
			}
			if n != 0 {
				b.Fatalf("%d drifted", n)
			}
		}
	})
}
