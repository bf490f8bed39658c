package store

import (
	"fmt"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

// BenchmarkCommit measures a realistic commit: 500 indicators over ~50
// sources, 3 alerts, 2 decisions, 1 checkpoint and a reject, into a store
// that grows as it runs. "durable" is the live configuration (fsync per
// commit); "nosync" is the replay-to-temp-file mode and shows the CPU cost.
func BenchmarkCommit(b *testing.B) {
	b.Run("durable", func(b *testing.B) { benchCommit(b, Options{}) })
	b.Run("nosync", func(b *testing.B) { benchCommit(b, Options{NoSync: true}) })
}

func benchCommit(b *testing.B, o Options) {
	db := openAt(b, testPath(b), o)
	c := sampleCommit(0, 500)
	ctx := b.Context()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		seq := uint64(n) * 5
		for i := range c.Alerts {
			c.Alerts[i].ID = fmt.Sprintf("al-%08d", seq+uint64(i))
		}
		for i := range c.Decisions {
			c.Decisions[i].ID = fmt.Sprintf("dc-%08d", seq+3+uint64(i))
		}
		c.Seq = seq + 4
		if err := db.Commit(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkVerifyAudit verifies a 10,000-record chain.
func BenchmarkVerifyAudit(b *testing.B) {
	// NoSync: the setup is a throwaway file, and fsync would dominate it.
	db := openAt(b, testPath(b), Options{NoSync: true})
	for i := range 100 {
		c := &engine.Commit{}
		base := sampleCommit(i, 0).Alerts[0]
		for j := range 100 {
			a := base
			a.ID = fmt.Sprintf("al-%08d", i*100+j+1)
			c.Alerts = append(c.Alerts, a)
		}
		if err := db.Commit(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := db.VerifyAudit()
		if err != nil || !rep.OK || rep.Records != 10_000 {
			b.Fatalf("VerifyAudit = %+v, %v", rep, err)
		}
	}
	b.ReportMetric(10_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
