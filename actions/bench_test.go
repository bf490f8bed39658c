package actions_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
	"github.com/phantomsoc/phantomsoc/store"
)

// nthAddr is the n-th address of 10.0.0.0/8 (private, never routed by the
// test namespaces: it only fills sets).
func nthAddr(n int) netip.Prefix {
	a := netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
	return netip.PrefixFrom(a, 32)
}

// applyTap signals each successful Apply: the kernel has acknowledged the
// batch, so its elements are in the set.
type applyTap struct {
	actions.Backend
	done chan struct{}
}

func (a applyTap) Apply(ctx context.Context, b actions.Batch) error {
	err := a.Backend.Apply(ctx, b)
	if err == nil {
		a.done <- struct{}{}
	}
	return err
}

// BenchmarkAutoDecisionToKernel measures, per automatic decision, the time
// from the engine handing it over (Committed) to the kernel acknowledging
// its element; it reports the p50 and p99 of those latencies. The audit
// record of the apply is written after that, off this path.
func BenchmarkAutoDecisionToKernel(b *testing.B) {
	tp := nstest.New(b)
	db := openDB(b)
	be := openBackend(b, tp.Gateway)
	tap := applyTap{Backend: be, done: make(chan struct{}, 1)}
	enf, err := actions.New(actions.Options{MaxPerMinute: 1 << 30, ReconcileEvery: time.Hour}, []actions.Gateway{{Name: "gw", Backend: tap}}, db)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- enf.Run(ctx) }()
	defer func() { cancel(); <-done }()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		now := time.Now()
		d := engine.Decision{ID: fmt.Sprintf("de-%08d", i+1), Time: now, Action: engine.ActionBlock, Target: nthAddr(i),
			TTL: time.Hour, Expires: now.Add(time.Hour), Auto: true, State: engine.StateActive}
		start := time.Now()
		enf.Committed(&engine.Commit{Decisions: []engine.Decision{d}})
		<-tap.done
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkReconcile100k measures a full reconcile of 100,000 active
// decisions: after a flush, after a change elsewhere in the ruleset, and
// with nothing changed. BenchmarkReadBack100k is the alternative the first
// two avoid: reading the table back and comparing.
func BenchmarkReconcile100k(b *testing.B) {
	const n = 100_000
	tp := nstest.New(b)
	db := storeWithBlocks(b, n)
	be := openBackend(b, tp.Gateway)
	enf, err := actions.New(actions.Options{}, []actions.Gateway{{Name: "gw", Backend: be}}, db)
	if err != nil {
		b.Fatal(err)
	}
	if err := enf.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	enf.Reconcile(b.Context())
	b.Run("after-flush", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if out, err := tp.Exec(tp.Gateway, "nft", "flush", "ruleset"); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			b.StartTimer()
			enf.Reconcile(b.Context())
		}
		b.StopTimer()
		st, err := be.List(b.Context())
		if err != nil || len(st.Elements) != n {
			b.Fatalf("after reconcile: %d elements, %v; want %d", len(st.Elements), err, n)
		}
	})
	// An unrelated change elsewhere in the ruleset bumps the generation:
	// phantomsoc cannot tell its table is untouched, and at this size it
	// rewrites the table rather than read it back.
	b.Run("generation-changed", func(b *testing.B) {
		for i := range b.N {
			b.StopTimer()
			if out, err := tp.Exec(tp.Gateway, "nft", "add", "table", "ip", fmt.Sprintf("other%d", i)); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			b.StartTimer()
			enf.Reconcile(b.Context())
		}
	})
	// Nothing changed since phantomsoc's last write: the generation says so.
	b.Run("intact-unchanged", func(b *testing.B) {
		for range b.N {
			enf.Reconcile(b.Context())
		}
	})
}

// BenchmarkReadBack100k is a reconcile that reads 100,000 elements back and
// compares them, as it does below ReadBackLimit.
func BenchmarkReadBack100k(b *testing.B) {
	const n = 100_000
	tp := nstest.New(b)
	db := storeWithBlocks(b, n)
	be := openBackend(b, tp.Gateway)
	enf, err := actions.New(actions.Options{ReadBackLimit: 1 << 30}, []actions.Gateway{{Name: "gw", Backend: be}}, db)
	if err != nil {
		b.Fatal(err)
	}
	if err := enf.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	enf.Reconcile(b.Context())
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if out, err := tp.Exec(tp.Gateway, "nft", "add", "table", "ip", fmt.Sprintf("other%d", i)); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		b.StartTimer()
		enf.Reconcile(b.Context())
	}
}

// storeWithBlocks is a database holding n active one-hour blocks of
// 10.0.0.0/8 hosts, closed when b ends.
func storeWithBlocks(b *testing.B, n int) *store.DB {
	b.Helper()
	db := openDB(b)
	now := time.Now()
	for i := 0; i < n; i += 10_000 {
		var ch engine.Change
		for j := i; j < min(n, i+10_000); j++ {
			ch.Decisions = append(ch.Decisions, engine.Decision{ID: fmt.Sprintf("dm-%08d", j+1), Time: now, Action: engine.ActionBlock,
				Target: nthAddr(j), TTL: time.Hour, Expires: now.Add(time.Hour), State: engine.StateActive})
		}
		if err := db.Record(b.Context(), &ch); err != nil {
			b.Fatal(err)
		}
	}
	return db
}
