package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/report"
	"github.com/phantomsoc/phantomsoc/store"
)

// reportLog is a brute force on web1 from 198.51.100.7 that ends in a
// password login (a suspected compromise), and an invalid-user run on
// db1 from 203.0.113.9 the next day: documentation addresses only.
func reportLog(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, "Mar  1 10:00:%02d web1 sshd[%d]: Failed password for root from 198.51.100.7 port %d ssh2\n", i, 100+i, 40000+i)
	}
	fmt.Fprintf(&b, "Mar  1 10:00:09 web1 sshd[199]: Accepted password for root from 198.51.100.7 port 40999 ssh2\n")
	for i := range 12 {
		fmt.Fprintf(&b, "Mar  2 08:15:%02d db1 sshd[%d]: Failed password for invalid user admin from 203.0.113.9 port %d ssh2\n", i, 200+i, 41000+i)
	}
	return writeTempLog(t, b.String())
}

// TestReportCLI replays a log into a database, merges its alerts into
// incidents, and produces every report in every format, to stdout and to
// files.
func TestReportCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	mustRun(t, "", "--db", db, "replay", "--year", "2026", reportLog(t))
	mustRun(t, "", "--db", db, "incidents", "backfill")

	var pm report.PostMortem
	if err := json.Unmarshal([]byte(mustRun(t, "", "--db", db, "report", "incident", "in-00000001", "--format", "json")), &pm); err != nil {
		t.Fatalf("report incident --format json: %v", err)
	}
	if pm.ID != "in-00000001" || len(pm.Alerts) == 0 || len(pm.Actions) == 0 || len(pm.Timeline) == 0 {
		t.Fatalf("post-mortem = %+v, want alerts, actions and a timeline", pm)
	}
	var rules []string
	for _, r := range pm.Recommendations {
		rules = append(rules, r.Rule)
	}
	for _, want := range []string{"password-auth", "compromise-review", "no-evidence"} {
		if !strings.Contains(strings.Join(rules, " "), want) {
			t.Errorf("recommendations %v lack %s", rules, want)
		}
	}
	if pm.Actions[0].ApprovedBy != "policy" || pm.Actions[0].Target != "198.51.100.7" {
		t.Errorf("first action = %+v, want a policy block of 198.51.100.7", pm.Actions[0])
	}
	if pm.Timeline[0].Kind != "event" || !strings.Contains(pm.Timeline[0].Ref, "auth.log:1") {
		t.Errorf("timeline starts %+v, want the first log line", pm.Timeline[0])
	}

	md := mustRun(t, "", "--db", db, "report", "incident", "in-00000001")
	for _, want := range []string{"# Post-mortem in-00000001", "## Recommendations", "## Timeline", "PasswordAuthentication no"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, "", "--db", db, "report", "incident", "in-00000001", "--format", "html", "-o", out("in.html"))
	mustRun(t, "", "--db", db, "report", "incident", "in-00000001", "--format", "pdf", "-o", out("in.pdf"))
	if h := read(t, out("in.html")); !strings.HasPrefix(h, "<!DOCTYPE html>") || strings.Contains(h, "src=\"http") || strings.Contains(h, "href=\"http") {
		t.Errorf("incident HTML is not a self-contained page:\n%.300s", h)
	}
	checkPDF(t, read(t, out("in.pdf")))

	const period = "--since=2026-03-01T00:00:00Z"
	var s report.Summary
	if err := json.Unmarshal([]byte(mustRun(t, "", "--db", db, "report", "summary", period, "--until", "2026-03-08T00:00:00Z", "--format", "json")), &s); err != nil {
		t.Fatalf("report summary --format json: %v", err)
	}
	if len(s.Days) != 7 || s.Days[0].Alerts == 0 || s.Days[1].Alerts == 0 || len(s.TopSources) != 2 || len(s.Incidents) != 2 {
		t.Errorf("summary = days %+v, top sources %+v, incidents %+v; want a week, both sources, both incidents", s.Days, s.TopSources, s.Incidents)
	}
	rows, err := csv.NewReader(strings.NewReader(mustRun(t, "", "--db", db, "report", "summary", period, "--format", "csv"))).ReadAll()
	if err != nil || len(rows) < 10 || strings.Join(rows[0], ",") != "section,key,metric,value" {
		t.Errorf("summary csv = %d rows, %v", len(rows), err)
	}
	for _, format := range []string{"html", "xlsx", "pdf"} {
		mustRun(t, "", "--db", db, "report", "summary", period, "--format", format, "-o", out("sum."+format))
	}
	if h := read(t, out("sum.html")); !strings.Contains(h, "<svg class=\"trend\"") || !strings.Contains(h, "198.51.100.7") {
		t.Errorf("summary HTML lacks the trend chart or the top source")
	}
	checkPDF(t, read(t, out("sum.pdf")))
	f, err := excelize.OpenFile(out("sum.xlsx"))
	if err != nil {
		t.Fatalf("open summary xlsx: %v", err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Top", "B2"); v != "198.51.100.7" && v != "203.0.113.9" {
		t.Errorf("xlsx Top!B2 = %q, want a source", v)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "incident", "in-00000042"}, "not found"},
		{[]string{"report", "incident", "in-00000001", "--format", "xlsx"}, "md, html, json, pdf"},
		{[]string{"report", "summary", "--format", "md"}, "html, json, csv, xlsx, pdf"},
		{[]string{"report", "summary", "--since", "soon"}, "--since"},
		{[]string{"report", "summary", "--since", "1d", "--until", "2d"}, "not after"},
	} {
		if _, err := run(t, "", append([]string{"--db", db}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("phantomsoc %s = %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkPDF checks the envelope; the report package parses PDFs fully.
func checkPDF(t *testing.T, s string) {
	t.Helper()
	if !strings.HasPrefix(s, "%PDF-1.") || !strings.Contains(s, "startxref") || !bytes.HasSuffix(bytes.TrimSpace([]byte(s)), []byte("%%EOF")) {
		t.Errorf("not a PDF: %.40q", s)
	}
}

// TestReportThroughOwner: while a process owns the database, reports are
// read through its control socket and come out as they do from the file.
func TestReportThroughOwner(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "o.db")
	mustRun(t, "", "--db", dbPath, "replay", "--year", "2026", reportLog(t))
	mustRun(t, "", "--db", dbPath, "incidents", "backfill")
	decode := func(out string) report.PostMortem {
		t.Helper()
		var pm report.PostMortem
		if err := json.Unmarshal([]byte(out), &pm); err != nil {
			t.Fatal(err)
		}
		pm.Generated = time.Time{}
		return pm
	}
	fromFile := decode(mustRun(t, "", "--db", dbPath, "report", "incident", "in-00000001", "--format", "json"))

	db, err := openStore(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	serveOwner(t, dbPath, func(srv *control.Server) { serveReports(srv, db, &Config{}, nil) })

	if got := decode(mustRun(t, "", "--db", dbPath, "report", "incident", "in-00000001", "--format", "json")); !reflect.DeepEqual(got, fromFile) {
		t.Errorf("post-mortem through the owner differs from the file's:\n%+v\n%+v", got, fromFile)
	}
	if _, err := run(t, "", "--db", dbPath, "report", "incident", "in-00000042"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing incident through the owner = %v, want not found", err)
	}
	if out := mustRun(t, "", "--db", dbPath, "report", "summary", "--since", "2026-03-01T00:00:00Z", "--format", "csv"); !strings.Contains(out, "counts,,alerts,") {
		t.Errorf("summary through the owner:\n%s", out)
	}
}

// serveOwner runs a control server for dbPath with the handlers handle
// registers, as the process owning the database would, until the test
// ends.
func serveOwner(t *testing.T, dbPath string, handle func(*control.Server)) {
	t.Helper()
	srv, err := control.NewServer(socketPath(dbPath), func() control.Status { return control.Status{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	handle(srv)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("control server: %v", err)
		}
	})
	<-srv.Ready()
}
