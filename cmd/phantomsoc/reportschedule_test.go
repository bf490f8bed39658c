package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/internal/smtptest"
	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/store"
)

func TestReportsConfigErrors(t *testing.T) {
	const receivers = `routing: {route: {receiver: soc-mail}}
receivers:
  - name: soc-mail
    email: {host: 127.0.0.1, tls: none, from: a@example.org, to: [b@example.org]}
  - name: hook
    webhook: {url: "https://hooks.example.org/x"}
`
	cases := []struct {
		name, reports string
		want          []string
	}{
		{"unknown receiver", "reports:\n  - {name: w, kind: summary, every: 24h, since: 7d, format: html, receiver: ops}\n",
			[]string{`phantomsoc.yaml:8:77: reports[0].receiver: unknown receiver "ops"`}},
		{"not an email receiver", "reports:\n  - {name: w, kind: summary, every: 24h, since: 7d, format: html, receiver: hook}\n",
			[]string{`phantomsoc.yaml:8:77: reports[0].receiver: receiver "hook" is not an email receiver`}},
		{"bad fields", `reports:
  - name: w
    kind: incident
    at: "8 o'clock"
    since: 7 days
    format: md
    receiver: soc-mail
`, []string{
			`phantomsoc.yaml:9:11: reports[0].kind: "incident": want summary`,
			`phantomsoc.yaml:10:9: reports[0].at: "8 o'clock": want HH:MM`,
			`phantomsoc.yaml:11:12: reports[0].since: "7 days": want a duration`,
			`phantomsoc.yaml:12:13: reports[0].format: format "md": want one of html`,
		}},
		{"every and at", "reports:\n  - name: w\n    kind: summary\n    every: 1d\n    at: \"08:00\"\n    since: 7d\n    format: csv\n    receiver: soc-mail\n",
			[]string{"phantomsoc.yaml:10:12: reports[0].every: give every or at, not both"}},
		{"no schedule, twice", "reports:\n  - {name: w, kind: summary, since: 7d, format: csv, receiver: soc-mail}\n  - {name: w, kind: summary, every: 30s, since: 7d, format: csv, receiver: soc-mail}\n",
			[]string{"reports[0].every: give every (24h, 7d) or at (HH:MM)", `phantomsoc.yaml:9:12: reports[1].name: "w" is used twice`,
				`reports[1].every: "30s": want a duration of at least a minute`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "phantomsoc.yaml")
			if err := os.WriteFile(p, []byte(receivers+tc.reports), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(p)
			if err == nil {
				t.Fatalf("loadConfig(%q) = nil, want an error", tc.reports)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig(%q) = %v, want it to contain %q", tc.reports, err, w)
				}
			}
		})
	}
}

// reportSchedules is a config with two schedules mailed through the
// test's SMTP server on port: an HTML summary daily at 08:00 Paris time
// and a CSV one every 24h (at 00:00 UTC).
func reportSchedules(t *testing.T, port int, caFile string) Config {
	t.Helper()
	base, err := defaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := decodeConfig([]byte(reportSchedulesYAML(t, port, caFile)), "phantomsoc.yaml", base)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// reportSchedulesYAML is reportSchedules as a config file's text.
func reportSchedulesYAML(t *testing.T, port int, caFile string) string {
	t.Setenv("TEST_REPORT_SMTP_PASS", smtptest.Pass)
	return fmt.Sprintf(`timezone: Europe/Paris
routing: {route: {receiver: soc-mail}}
receivers:
  - name: soc-mail
    email:
      host: 127.0.0.1
      port: %d
      ca_file: %s
      auth: plain
      username: %s
      password_env: TEST_REPORT_SMTP_PASS
      from: phantomsoc <alerts@example.org>
      to: [soc@example.org]
reports:
  - {name: daily, kind: summary, at: "08:00", since: 7d, format: html, receiver: soc-mail}
  - {name: nightly, kind: summary, every: 1d, since: 7d, format: csv, receiver: soc-mail}
`, port, caFile, smtptest.User)
}

// TestReportSchedule mails the summaries of a replayed log when due, by a
// fake clock, to a real SMTP server, and restarts the scheduler over the
// same database.
func TestReportSchedule(t *testing.T) {
	cert, caFile := smtptest.SelfSigned(t)
	box, port := smtptest.Start(t, cert, false)
	cfg := reportSchedules(t, port, caFile)

	dbPath := filepath.Join(t.TempDir(), "r.db")
	mustRun(t, "", "--db", dbPath, "replay", "--year", "2026", reportLog(t))
	mustRun(t, "", "--db", dbPath, "incidents", "backfill")
	db, err := openStore(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var clock time.Time
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// start is a daemon (re)starting at s: a new scheduler over db.
	start := func(s string) *reportScheduler {
		t.Helper()
		clock = at(s)
		rs, err := newReportScheduler(t.Context(), &cfg, db, func() time.Time { return clock }, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("newReportScheduler: %v", err)
		}
		return rs
	}
	// tick runs what is due at s and checks how many mails the server
	// holds then and when the scheduler looks again.
	tick := func(rs *reportScheduler, s string, mails int, wake string) {
		t.Helper()
		clock = at(s)
		if got := rs.runDue(t.Context()); !got.Equal(at(wake)) {
			t.Errorf("at %s: next due %s, want %s", s, got.UTC().Format(time.RFC3339), wake)
		}
		if n := len(box.All()); n != mails {
			t.Fatalf("at %s: server holds %d mails, want %d", s, n, mails)
		}
	}

	// First seen after this morning's 08:00: nothing until the next due time.
	rs := start("2026-03-02T12:00:00Z")
	tick(rs, "2026-03-02T12:00:00Z", 0, "2026-03-03T00:00:00Z")
	tick(rs, "2026-03-03T00:00:00Z", 1, "2026-03-03T07:00:00Z")
	tick(rs, "2026-03-03T07:00:00Z", 2, "2026-03-04T00:00:00Z")

	got := box.All()
	checkReportMail(t, got[0].Data, "phantomsoc-nightly-2026-03-03T0100.csv", "text/csv", "counts,,alerts,")
	checkReportMail(t, got[1].Data, "phantomsoc-daily-2026-03-03T0800.html", "text/html", "198.51.100.7")

	recs, err := db.AuditList(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, r := range recs {
		if r.Action == auditReportSent {
			if r.Actor != actorScheduler {
				t.Errorf("audit %s by %q, want %q", r.Action, r.Actor, actorScheduler)
			}
			var d struct {
				Until     time.Time `json:"until"`
				MessageID string    `json:"message_id"`
			}
			if err := json.Unmarshal(r.Detail, &d); err != nil || d.MessageID == "" {
				t.Errorf("audit detail %s: %v", r.Detail, err)
			}
			sent = append(sent, r.Subject+"@"+d.Until.UTC().Format(time.RFC3339))
		}
	}
	if want := "nightly@2026-03-03T00:00:00Z daily@2026-03-03T07:00:00Z"; strings.Join(sent, " ") != want {
		t.Errorf("audited sends = %v, want %s", sent, want)
	}

	// A restart does not resend what was sent, nor send early.
	rs = start("2026-03-03T07:30:00Z")
	tick(rs, "2026-03-03T07:30:00Z", 2, "2026-03-04T00:00:00Z")
	tick(rs, "2026-03-03T23:59:59Z", 2, "2026-03-04T00:00:00Z")
	tick(rs, "2026-03-04T00:00:00Z", 3, "2026-03-04T07:00:00Z")

	// Down for a day and a half: the latest of each missed report goes
	// out at start, once.
	rs = start("2026-03-05T09:00:00Z")
	tick(rs, "2026-03-05T09:00:00Z", 5, "2026-03-06T00:00:00Z")
	got = box.All()
	checkReportMail(t, got[3].Data, "phantomsoc-daily-2026-03-05T0800.html", "text/html", "198.51.100.7")
	checkReportMail(t, got[4].Data, "phantomsoc-nightly-2026-03-05T0100.csv", "text/csv", "counts,,alerts,")
	rs = start("2026-03-05T09:01:00Z")
	tick(rs, "2026-03-05T09:01:00Z", 5, "2026-03-06T00:00:00Z")
}

// checkReportMail parses a mailed report: a text body and the attachment
// name of type ct containing want.
func checkReportMail(t *testing.T, data []byte, name, ct, want string) {
	t.Helper()
	h, ps := smtptest.Parts(t, data)
	if len(ps) != 2 {
		t.Fatalf("mail %s has %d parts, want a text body and the attachment", h.Get("Subject"), len(ps))
	}
	if ps[0].ContentType != "text/plain" || !strings.Contains(string(ps[0].Data), name) {
		t.Errorf("body = %s %q, want text naming %s", ps[0].ContentType, ps[0].Data, name)
	}
	a := ps[1]
	if a.Filename != name || a.ContentType != ct || !strings.Contains(string(a.Data), want) {
		t.Errorf("attachment = %q %s (%d bytes), want %q %s containing %q", a.Filename, a.ContentType, len(a.Data), name, ct, want)
	}
}

// TestReportScheduleRetry keeps a report whose send failed due, and tries
// again a little later, not at once.
func TestReportScheduleRetry(t *testing.T) {
	cert, caFile := smtptest.SelfSigned(t)
	box, port := smtptest.Start(t, cert, false)
	cfg := reportSchedules(t, port, caFile)
	cfg.Reports = cfg.Reports[1:]
	db, err := openStore(filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	rs, err := newReportScheduler(t.Context(), &cfg, db, func() time.Time { return clock }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	good := rs.jobs[0].mail
	rs.jobs[0].mail = reportSchedulesDown(t, cfg)
	clock = clock.Add(12 * time.Hour) // 2026-03-03 00:00 UTC: due
	if got, want := rs.runDue(t.Context()), clock.Add(reportRetry); !got.Equal(want) {
		t.Errorf("after a failed send, next = %v, want %v", got, want)
	}
	rs.jobs[0].mail = good
	clock = clock.Add(reportRetry - time.Second)
	rs.runDue(t.Context())
	if n := len(box.All()); n != 0 {
		t.Fatalf("retried after %v: %d mails", reportRetry-time.Second, n)
	}
	clock = clock.Add(time.Second)
	rs.runDue(t.Context())
	if n := len(box.All()); n != 1 {
		t.Fatalf("at the retry: %d mails, want 1", n)
	}
}

// reportSchedulesDown is cfg's mailer pointed at a closed port.
func reportSchedulesDown(t *testing.T, cfg Config) *notifiers.Email {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ec := *cfg.Receivers[0].Email
	ec.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	e, err := notifiers.NewEmail(ec, notifiers.Options{Receiver: "soc-mail"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestReportScheduleStops returns from Run when its context ends.
func TestReportScheduleStops(t *testing.T) {
	cfg := reportSchedules(t, 1, "")
	db, err := openStore(filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := newReportScheduler(t.Context(), &cfg, db, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		rs.Run(ctx)
		close(done)
	}()
	cancel()
	<-done
}

// TestReportSend mails a configured report by hand, from the command line
// and through the process that owns the database: the same mail as a
// scheduled one, audited as the person's, and the schedule untouched.
func TestReportSend(t *testing.T) {
	cert, caFile := smtptest.SelfSigned(t)
	box, port := smtptest.Start(t, cert, false)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "phantomsoc.yaml")
	if err := os.WriteFile(cfgPath, []byte(reportSchedulesYAML(t, port, caFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "r.db")
	mustRun(t, "", "--db", dbPath, "replay", "--year", "2026", reportLog(t))
	mustRun(t, "", "--db", dbPath, "incidents", "backfill")
	args := func(a ...string) []string { return append([]string{"--db", dbPath, "--config", cfgPath}, a...) }

	var sent reportSent
	if err := json.Unmarshal([]byte(mustRun(t, "", args("report", "send", "nightly", "--until", "2026-03-03T00:00:00Z", "-o", "json")...)), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Report != "nightly" || sent.Receiver != "soc-mail" || sent.Attachment != "phantomsoc-nightly-2026-03-03T0100.csv" || sent.MessageID == "" || sent.Audit == 0 ||
		!sent.Since.Equal(sent.Until.Add(-7*24*time.Hour)) {
		t.Errorf("report send = %+v", sent)
	}
	if got := box.All(); len(got) != 1 {
		t.Fatalf("server holds %d mails, want 1", len(got))
	} else {
		checkReportMail(t, got[0].Data, sent.Attachment, "text/csv", "counts,,alerts,")
	}
	if _, err := run(t, "", args("report", "send", "weekly")...); err == nil || !strings.Contains(err.Error(), "[daily nightly]") {
		t.Errorf("send of an unknown report = %v, want the configured names", err)
	}

	db, err := openStore(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := reportSchedules(t, port, caFile)
	serveOwner(t, dbPath, func(srv *control.Server) { serveReports(srv, db, &cfg, slog.New(slog.DiscardHandler)) })
	out := mustRun(t, "", "--db", dbPath, "report", "send", "daily")
	if !strings.Contains(out, "sent report daily to soc-mail") {
		t.Errorf("send through the owner = %q", out)
	}
	if got := box.All(); len(got) != 2 || !strings.Contains(string(got[1].Data), "text/html") {
		t.Fatalf("server holds %d mails, want the HTML daily as the second", len(got))
	}
	recs, err := db.AuditList(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, r := range recs {
		if r.Action == auditReportSent {
			var d struct {
				OnDemand bool `json:"on_demand"`
			}
			if err := json.Unmarshal(r.Detail, &d); err != nil || !d.OnDemand {
				t.Errorf("audit detail %s: %v; want on_demand", r.Detail, err)
			}
			by = append(by, r.Subject+" by "+r.Actor)
		}
	}
	if want := "nightly by " + actor() + ", daily by " + actor(); strings.Join(by, ", ") != want {
		t.Errorf("audited sends = %v, want %s", by, want)
	}
	n, err := db.LoadState(reportsState, func(string, func(any) error) error { return nil })
	if err != nil || n != 0 {
		t.Errorf("schedule state after sends by hand: %d records, %v; want none", n, err)
	}
}
