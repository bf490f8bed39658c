package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// BenchmarkAlertToRequest measures, per alert, the time from the engine
// handing it over (Committed) to the receiver's HTTP request arriving, with
// group_wait 0: routing; one transaction (fsync) holding the notification,
// its first attempt and the router records the alert changed; then the
// send. Alerts stay active, so the router's state grows with b.N. It
// reports p50 and p99.
func BenchmarkAlertToRequest(b *testing.B) {
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		got <- struct{}{}
	}))
	defer srv.Close()
	dir := b.TempDir()
	cfgPath := notifyConfig(b, dir, filepath.Join(dir, "unused.log"), srv.URL)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "b.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n, err := buildNotifying(b.Context(), &cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- n.run(ctx) }()
	defer func() { cancel(); <-done }()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		a := engine.Alert{ID: fmt.Sprintf("al-%08d", i+1), Time: time.Now(), Scenario: "ssh-bruteforce", Severity: 6, Risk: 7,
			Source: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
		a.Key = a.Source.String()
		start := time.Now()
		n.Committed(&engine.Commit{Alerts: []engine.Alert{a}})
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatalf("alert %d never reached the receiver", i)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
