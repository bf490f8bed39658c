package sshgw

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
)

// TestLargeBatch sends 10,000 elements in one Apply and reads them back.
func TestLargeBatch(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()
	if err := g.Rebuild(ctx, nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	b := actions.Batch{Add: benchElements(10_000)}
	start := time.Now()
	if err := g.Apply(ctx, b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	t.Logf("Apply of %d elements over SSH: %s", len(b.Add), time.Since(start))
	st, err := g.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(st.Elements) != len(b.Add) {
		t.Fatalf("List: %d elements, want %d", len(st.Elements), len(b.Add))
	}
	// One transaction: a batch whose last element nft refuses (it
	// overlaps one already there) leaves none of the others behind.
	bad := actions.Batch{Add: append(benchElementsFrom(20_000, 1000), actions.Element{Set: "block4", Prefix: netip.MustParsePrefix("198.18.0.0/24"), Timeout: time.Hour})}
	if err := g.Apply(ctx, bad); err == nil || !strings.Contains(err.Error(), "gateway edge1: apply: nft -f -: exit status 1") {
		t.Fatalf("Apply of an overlapping batch = %v, want nft's refusal", err)
	} else {
		t.Logf("refused: %v", err)
	}
	st, err = g.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(st.Elements) != len(b.Add) {
		t.Fatalf("List after a refused batch: %d elements, want %d", len(st.Elements), len(b.Add))
	}
}

// benchElements are n distinct single addresses from the benchmarking range
// 198.18.0.0/15.
func benchElements(n int) []actions.Element { return benchElementsFrom(0, n) }

func benchElementsFrom(from, n int) []actions.Element {
	out := make([]actions.Element, n)
	for i := range out {
		k := from + i
		a := netip.AddrFrom4([4]byte{198, 18 + byte(k>>16&1), byte(k >> 8), byte(k)})
		out[i] = actions.Element{Set: "block4", Prefix: netip.PrefixFrom(a, 32), Timeout: time.Hour}
	}
	return out
}

func BenchmarkApply10k(b *testing.B) {
	tp := newTopology(b)
	s := startSSHD(b, tp)
	cfg := testConfig(tp, s)
	g := runGateway(b, cfg)
	ctx := b.Context()
	if err := g.Rebuild(ctx, nil); err != nil {
		b.Fatalf("Rebuild: %v", err)
	}
	batch := actions.Batch{Add: benchElements(10_000)}
	b.ReportAllocs()
	for b.Loop() {
		// Re-adding refreshes the timeouts: every round is the full
		// 10,000-element transaction.
		if err := g.Apply(ctx, batch); err != nil {
			b.Fatalf("Apply: %v", err)
		}
	}
	b.ReportMetric(float64(len(batch.Add)*b.N)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkSession is the fixed cost of one command on the persistent
// connection (a session opened, nft --version run), which every Apply pays
// on top of nft's own work.
func BenchmarkSession(b *testing.B) {
	tp := newTopology(b)
	s := startSSHD(b, tp)
	g := runGateway(b, testConfig(tp, s))
	client, _, err := g.current()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := runCmd(b.Context(), client, cmdVersion, nil, 4096); err != nil {
			b.Fatalf("nft --version: %v", err)
		}
	}
}
