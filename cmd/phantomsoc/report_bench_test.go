package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/report"
	"github.com/phantomsoc/phantomsoc/store"
)

// BenchmarkReportIncidentHTML is `report incident --format html` on an
// incident of about 1,000 evidence events, from the database file: 125
// sources each fail 10 passwords on gw1 (8 of them are evidence) within the merge window, so
// their alerts join one incident. The setup replays the log and merges the
// alerts; each iteration reads the incident, its alerts, decisions,
// audit records, notifications and evidence, builds the post-mortem and
// renders it.
func BenchmarkReportIncidentHTML(b *testing.B) {
	dir := b.TempDir()
	var lines strings.Builder
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for s := range 125 {
		lines.WriteString(attackLines(start.Add(time.Duration(s)*15*time.Second), fmt.Sprintf("198.51.%d.%d", 100+s/250, 1+s%250), 10, 1000+10*s))
	}
	logPath, dbPath := filepath.Join(dir, "auth.log"), filepath.Join(dir, "b.db")
	if err := os.WriteFile(logPath, []byte(lines.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{{"--db", dbPath, "replay", "--year", "2026", logPath}, {"--db", dbPath, "incidents", "backfill"}} {
		cmd := newRootCmd(buildInfo{})
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		if err := cmd.ExecuteContext(b.Context()); err != nil {
			b.Fatalf("phantomsoc %s: %v", strings.Join(args, " "), err)
		}
	}
	db, err := openStore(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	src := localReports{db: db}
	now := start.Add(time.Hour)
	in, err := src.IncidentReport("in-00000001", now)
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	for _, e := range in.Timeline {
		if e.Kind == engine.TimelineEvent {
			events++
		}
	}
	if events < 900 {
		b.Fatalf("the incident's timeline has %d events, want about 1,000", events)
	}
	b.ReportAllocs()
	for b.Loop() {
		in, err := src.IncidentReport("in-00000001", now)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.WriteIncident(io.Discard, report.NewPostMortem(&in), report.FormatHTML); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(len(in.Alerts)), "alerts")
}
