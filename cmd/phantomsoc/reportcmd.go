package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/engine/parse"
	"github.com/phantomsoc/phantomsoc/report"
	"github.com/phantomsoc/phantomsoc/store"
)

// priorLimit caps the earlier decisions read per incident source.
const priorLimit = 50

func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Post-mortems of incidents and summaries of a period: Markdown, HTML, JSON, CSV, XLSX, PDF",
		Long: `report renders what the database holds for people who were not at the console:
a post-mortem of one incident, or a summary of a period. HTML is one
self-contained printable file; PDF and XLSX are written by pure-Go code.
Binary formats are never written to a terminal: give -o FILE.`,
	}
	cmd.AddCommand(newReportIncidentCmd(g), newReportSummaryCmd(g), newReportSendCmd(g))
	return cmd
}

// reportFlags are the flags every report takes; output shadows the global
// --output/-o, which means a table or JSON everywhere else.
type reportFlags struct {
	format string
	out    string
}

func (f *reportFlags) add(cmd *cobra.Command, def string, formats []string) {
	cmd.Flags().StringVar(&f.format, "format", def, "report format: "+strings.Join(formats, ", "))
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the report to this file (default stdout)")
}

func newReportIncidentCmd(g *globals) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "incident ID",
		Short: "Post-mortem of an incident: summary, impact, timeline, actions and approvers, evidence with hashes, metrics, recommendations",
		Long: `The recommendations are rules over what happened: password authentication on a
host that saw a suspected compromise, an action that waited for approval, a
source that came back after its block expired, no evidence collected, an
incident never contained or acknowledged late, and more. Each names the facts
that triggered it.`,
		Example: "  phantomsoc report incident in-00000003\n  phantomsoc report incident in-00000003 --format html -o in-3.html\n  phantomsoc report incident in-00000003 --format pdf -o in-3.pdf",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := report.CheckFormat(f.format, report.IncidentFormats()); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			ctx := cmd.Context()
			return withReports(ctx, g, func(src reportSource) error {
				return incidentReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), src, args[0], f, time.Now())
			})
		},
	}
	f.add(cmd, report.FormatMarkdown, report.IncidentFormats())
	return cmd
}

func newReportSummaryCmd(g *globals) *cobra.Command {
	var f reportFlags
	var since, until string
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Summary of a period: executive view (counts, daily trend, top sources and targets, MTTD/MTTR) and technical view (scenarios, actions, incidents, notifications, audit)",
		Example: `  phantomsoc report summary --since 7d -o week.html
  phantomsoc report summary --since 720h --format xlsx -o month.xlsx
  phantomsoc report summary --since 2026-03-01T00:00:00Z --until 2026-04-01T00:00:00Z --format csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := report.CheckFormat(f.format, report.SummaryFormats()); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			now := time.Now()
			from, err := parseSince(parseDays(since), now)
			if err != nil {
				return err
			}
			to := now
			if until != "" {
				if to, err = parseSince(parseDays(until), now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			if !from.IsZero() && !to.After(from) {
				return fmt.Errorf("--until %s is not after --since %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
			}
			ctx := cmd.Context()
			return withReports(ctx, g, func(src reportSource) error {
				return summaryReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), src, from, to, f, now)
			})
		},
	}
	f.add(cmd, report.FormatHTML, report.SummaryFormats())
	cmd.Flags().StringVar(&since, "since", "7d", "start of the period: a duration back from now (7d, 24h) or an RFC 3339 time; empty for everything")
	cmd.Flags().StringVar(&until, "until", "", "end of the period, as --since (default now)")
	return cmd
}

// parseDays turns a whole number of days ("7d") into hours, which
// time.ParseDuration knows.
func parseDays(s string) string {
	var n int
	if rest, ok := strings.CutSuffix(s, "d"); ok {
		if _, err := fmt.Sscanf(rest, "%d", &n); err == nil && fmt.Sprint(n) == rest {
			return fmt.Sprintf("%dh", n*24)
		}
	}
	return s
}

func incidentReport(stdout, stderr io.Writer, src reportSource, id string, f reportFlags, now time.Time) error {
	in, err := src.IncidentReport(id, now)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, control.ErrNotFound) {
		return fmt.Errorf("incident %s: not found", id)
	}
	if err != nil {
		return err
	}
	pm := report.NewPostMortem(&in)
	return writeReport(stdout, stderr, f, func(w io.Writer) error { return report.WriteIncident(w, pm, f.format) })
}

func summaryReport(stdout, stderr io.Writer, src reportSource, since, until time.Time, f reportFlags, now time.Time) error {
	a, err := src.Activity(since, until, now)
	if err != nil {
		return err
	}
	s := report.NewSummary(&a)
	return writeReport(stdout, stderr, f, func(w io.Writer) error { return report.WriteSummary(w, s, f.format) })
}

// writeReport writes to stdout, or to f.out through a temporary file
// renamed into place, so a failed report never leaves half a file.
func writeReport(stdout, stderr io.Writer, f reportFlags, write func(w io.Writer) error) error {
	if f.out == "" || f.out == "-" {
		if report.Binary(f.format) && stdout == os.Stdout && isTerminal(os.Stdout) {
			return fmt.Errorf("--format %s is binary: write it to a file with -o FILE, or pipe it", f.format)
		}
		return write(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.out), "."+filepath.Base(f.out)+".*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", f.out, err)
	}
	st, err := tmp.Stat()
	if err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.out)
	}
	if err != nil {
		return fmt.Errorf("write report %s: %w", f.out, err)
	}
	fmt.Fprintf(stderr, "wrote %s (%s, %d bytes)\n", f.out, f.format, st.Size())
	return nil
}

// reportSource reads what reports are made of: from the database file, or
// from the process that owns it.
type reportSource interface {
	IncidentReport(id string, now time.Time) (report.Incident, error)
	Activity(since, until, now time.Time) (report.Activity, error)
}

// withReports runs fn against the process that owns the database when one
// answers, else against the file opened read-only: the same choice the
// incidents commands make.
func withReports(ctx context.Context, g *globals, fn func(reportSource) error) error {
	return withIncidents(ctx, g, false, func(o incidentOps) error {
		switch o := o.(type) {
		case localIncidents:
			return fn(localReports{db: o.db})
		case remoteIncidents:
			return fn(remoteReports{r: o.r})
		}
		return fmt.Errorf("reports: cannot read through %T", o)
	})
}

// localReports reads a database this process holds.
type localReports struct{ db *store.DB }

func (l localReports) IncidentReport(id string, now time.Time) (report.Incident, error) {
	db := l.db
	inc, err := db.Incident(id)
	if err != nil {
		return report.Incident{}, err
	}
	tl, err := timelineOf(db, &inc)
	if err != nil {
		return report.Incident{}, err
	}
	in := report.Incident{Timeline: tl, Generated: now}
	if in.Alerts, err = stored(inc.Alerts, db.Alert); err != nil {
		return in, err
	}
	if in.Decisions, err = stored(inc.Decisions, db.Decision); err != nil {
		return in, err
	}
	restoreMethods(in.Alerts)
	if in.Evidence, err = db.Evidence(store.EvidenceQuery{Incident: inc.ID}); err != nil {
		return in, err
	}
	if in.Prior, err = priorDecisions(db, &inc); err != nil {
		return in, err
	}
	m := incident.MetricsOf(&inc, tl)
	in.Metrics = report.Metrics{TTD: m.TTD, TTA: m.TTA, TTC: m.TTC, TTR: m.TTR}
	inc.Contained = incident.ContainedAt(&inc, tl)
	in.Incident = inc
	return in, nil
}

// stored gets each of ids, skipping those retention pruned.
func stored[T any](ids []string, get func(id string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		v, err := get(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// restoreMethods parses the authentication method of evidence events
// back from their raw lines: the store keeps the line, not the field (see
// store.storedAlert), and the password-auth recommendation needs it.
func restoreMethods(alerts []engine.Alert) {
	p, err := parse.New(parse.Options{})
	if err != nil {
		return // the zero options always validate
	}
	for i := range alerts {
		for j := range alerts[i].Evidence {
			ev := &alerts[i].Evidence[j]
			if ev.Method != "" || ev.Raw == "" {
				continue
			}
			if pe, ok, err := p.Parse(ev.Raw, ev.Line); ok && err == nil {
				ev.Method = pe.Method
			}
		}
	}
}

// priorDecisions returns the decisions made before inc was detected
// against one of its sources, oldest first: at most priorLimit per
// source, read in one pass over the earlier decisions.
func priorDecisions(db *store.DB, inc *engine.Incident) ([]engine.Decision, error) {
	var srcs []netip.Prefix
	for _, s := range inc.Sources {
		if p, err := parseTarget(s); err == nil {
			srcs = append(srcs, p) // a source that is not an address has no decisions
		}
	}
	if len(srcs) == 0 || inc.Detected.IsZero() {
		return nil, nil
	}
	ds, err := db.Decisions(store.DecisionQuery{Until: inc.Detected})
	if err != nil {
		return nil, err
	}
	var out []engine.Decision
	per := make([]int, len(srcs))
	for _, d := range ds { // newest first: keep the latest per source
		for i, p := range srcs {
			if per[i] < priorLimit && d.Target.IsValid() && d.Target.Overlaps(p) {
				per[i]++
				out = append(out, d)
				break
			}
		}
	}
	slices.Reverse(out)
	return out, nil
}

func (l localReports) Activity(since, until, now time.Time) (report.Activity, error) {
	db := l.db
	a := report.Activity{Since: since, Until: until, Generated: now, Audit: map[string]int{}}
	in := func(t time.Time) bool { return !t.Before(since) && t.Before(until) }
	var err error
	if a.Alerts, err = db.Alerts(store.AlertQuery{Since: since, Until: until, Oldest: true}); err != nil {
		return a, err
	}
	if a.Decisions, err = db.Decisions(store.DecisionQuery{Since: since, Until: until, Oldest: true}); err != nil {
		return a, err
	}
	incs, err := db.Incidents(store.IncidentQuery{Oldest: true})
	if err != nil {
		return a, err
	}
	var ms []incident.Metrics
	for i := range incs {
		inc := &incs[i]
		if inc.MergedInto != "" || !in(inc.Opened) {
			continue // a merged incident lives on in the one that absorbed it
		}
		m := incident.MetricsOf(inc, nil)
		ms = append(ms, m)
		a.Incidents = append(a.Incidents, report.IncidentMetrics{Incident: *inc, Metrics: report.Metrics{TTD: m.TTD, TTA: m.TTA, TTC: m.TTC, TTR: m.TTR}})
	}
	s := incident.Summarize(ms)
	stat := func(st incident.Stat) report.Stat { return report.Stat{N: st.N, Mean: st.Mean, Median: st.Median} }
	a.Response = report.Response{TTD: stat(s.TTD), TTA: stat(s.TTA), TTC: stat(s.TTC), TTR: stat(s.TTR)}
	notes, err := db.Notifications()
	if err != nil {
		return a, err
	}
	for _, n := range notes {
		if in(n.Created) {
			a.Notifications = append(a.Notifications, report.Notification{Receiver: n.Receiver, State: n.State, Created: n.Created})
		}
	}
	recs, err := db.AuditList(0, 0)
	if err != nil {
		return a, err
	}
	for _, r := range recs {
		if in(r.Time) {
			a.Audit[r.Action]++
		}
	}
	return a, nil
}

// reportCall is the arguments of the report-incident and report-activity
// calls.
type reportCall struct {
	ID    string    `json:"id,omitempty"`
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	Now   time.Time `json:"now"`
}

// serveReports exposes report input on the control socket, so reports
// work while this process owns the database.
func serveReports(srv *control.Server, db *store.DB, cfg *Config, logger *slog.Logger) {
	l := localReports{db: db}
	srv.Handle("report-send", func(args []byte) (any, error) {
		var c reportSendCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		// A call carries no context: the mail's own timeouts bound it.
		return sendReportNow(context.Background(), cfg, db, c, time.Now(), logger)
	})
	srv.Handle("report-incident", func(args []byte) (any, error) {
		var c reportCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		in, err := l.IncidentReport(c.ID, c.Now)
		if errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("%w: %v", control.ErrNotFound, err)
		}
		return in, err
	})
	srv.Handle("report-activity", func(args []byte) (any, error) {
		var c reportCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return l.Activity(c.Since, c.Until, c.Now)
	})
}

// remoteReports reads through the owning process's control socket.
type remoteReports struct{ r remote }

func (r remoteReports) IncidentReport(id string, now time.Time) (out report.Incident, err error) {
	return out, r.r.call("report-incident", reportCall{ID: id, Now: now}, &out)
}

func (r remoteReports) Activity(since, until, now time.Time) (out report.Activity, err error) {
	return out, r.r.call("report-activity", reportCall{Since: since, Until: until, Now: now}, &out)
}
