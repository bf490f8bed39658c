package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/report"
	"github.com/phantomsoc/phantomsoc/store"
)

const (
	// reportsState names the schedules' state in the store: per schedule,
	// the last due time handled.
	reportsState = "reports"
	// auditReportSent records a mailed report, signed actorScheduler.
	auditReportSent = "report.sent"
	actorScheduler  = "scheduler"
	// reportRetry is how long a report whose send failed for a temporary
	// reason waits before the next attempt.
	reportRetry = 5 * time.Minute
	// reportPoll caps a wait: timers follow the monotonic clock, schedules
	// the wall clock, which a suspend or an NTP step moves.
	reportPoll = time.Minute
)

// reportContentTypes are the media types of the summary formats.
var reportContentTypes = map[string]string{
	report.FormatHTML: "text/html; charset=utf-8",
	report.FormatCSV:  "text/csv; charset=utf-8",
	report.FormatJSON: "application/json",
	report.FormatPDF:  "application/pdf",
	report.FormatXLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// ReportSchedule is a report the daemon mails on a schedule.
type ReportSchedule struct {
	// Name keys the schedule's state and names the attachment.
	Name string `yaml:"name"`
	// Kind is the report: summary.
	Kind string `yaml:"kind"`
	// Every sends at each multiple of it counted from 00:00 UTC (24h,
	// 7d); At sends daily at HH:MM in the config's timezone. One of the
	// two.
	Every string `yaml:"every"`
	At    string `yaml:"at"`
	// Since is the period covered, back from the due time (7d, 24h).
	Since string `yaml:"since"`
	// Format is html, pdf, csv, xlsx or json.
	Format string `yaml:"format"`
	// Receiver is an email receiver of the receivers section.
	Receiver string `yaml:"receiver"`
}

// reportTimes is a schedule's parsed times.
type reportTimes struct {
	every, since time.Duration
	hour, minute int
	hasAt        bool
}

func (r *ReportSchedule) times() (reportTimes, []error) {
	var t reportTimes
	var errs []error
	dur := func(field, s string) time.Duration {
		d, err := time.ParseDuration(parseDays(s))
		if err != nil || d < time.Minute {
			errs = append(errs, fmt.Errorf("%s: %q: want a duration of at least a minute (24h, 7d)", field, s))
		}
		return d
	}
	switch {
	case r.Every != "" && r.At != "":
		errs = append(errs, errors.New("every: give every or at, not both"))
	case r.Every != "":
		t.every = dur("every", r.Every)
	case r.At != "":
		at, err := time.Parse("15:04", r.At)
		if err != nil {
			errs = append(errs, fmt.Errorf("at: %q: want HH:MM", r.At))
		}
		t.hour, t.minute, t.hasAt = at.Hour(), at.Minute(), true
	default:
		errs = append(errs, errors.New("every: give every (24h, 7d) or at (HH:MM)"))
	}
	t.since = dur("since", r.Since)
	return t, errs
}

// validateReports checks the schedules against the receivers; errors
// start with the field path.
func validateReports(rs []ReportSchedule, receivers []ReceiverConfig) error {
	var errs []error
	seen := map[string]bool{}
	for i := range rs {
		r := &rs[i]
		f := fmt.Sprintf("reports[%d]", i)
		if err := uniqueName(f, r.Name, seen); err != nil {
			errs = append(errs, err)
		}
		if r.Kind != "summary" {
			errs = append(errs, fmt.Errorf("%s.kind: %q: want summary", f, r.Kind))
		}
		_, terrs := r.times()
		for _, e := range terrs {
			errs = append(errs, fmt.Errorf("%s.%w", f, e))
		}
		if err := report.CheckFormat(r.Format, report.SummaryFormats()); err != nil {
			errs = append(errs, fmt.Errorf("%s.format: %w", f, err))
		}
		if _, err := emailReceiver(receivers, r.Receiver); err != nil {
			errs = append(errs, fmt.Errorf("%s.receiver: %w", f, err))
		}
	}
	return errors.Join(errs...)
}

// emailReceiver returns the receiver called name, which must mail.
func emailReceiver(receivers []ReceiverConfig, name string) (*ReceiverConfig, error) {
	for i := range receivers {
		if receivers[i].Name != name {
			continue
		}
		if receivers[i].Email == nil {
			return nil, fmt.Errorf("receiver %q is not an email receiver", name)
		}
		return &receivers[i], nil
	}
	return nil, fmt.Errorf("unknown receiver %q", name)
}

// reportRun is a schedule's saved state.
type reportRun struct {
	// Due is the last due time handled: the one last sent, or the time
	// the schedule was first seen, so the first report is the first due
	// time after it.
	Due time.Time `json:"due"`
	// Sent is when it was sent; zero for the first sighting.
	Sent time.Time `json:"sent,omitzero"`
}

// mailed is a report that went out.
type mailed struct {
	from, until time.Time
	name        string
	bytes       int
	res         notifiers.Result
}

func (m *mailed) detail(c *ReportSchedule) map[string]any {
	return map[string]any{"receiver": c.Receiver, "kind": c.Kind, "format": c.Format, "attachment": m.name, "bytes": m.bytes,
		"since": m.from, "until": m.until, "message_id": m.res.Remote}
}

// mailReport builds j's report for the period ending at until and mails
// it; key makes its Message-ID, so a retry of the same report is
// recognised by the receiving side.
func mailReport(ctx context.Context, db *store.DB, loc *time.Location, j *reportJob, until, now time.Time, key string) (mailed, error) {
	c := &j.cfg
	m := mailed{from: until.Add(-j.t.since), until: until}
	var buf bytes.Buffer
	if err := summaryReport(&buf, io.Discard, localReports{db: db}, m.from, until, reportFlags{format: c.Format}, now); err != nil {
		return m, fmt.Errorf("build report %s: %w", c.Name, err)
	}
	const stamp = "2006-01-02 15:04 MST"
	period := m.from.In(loc).Format(stamp) + " to " + until.In(loc).Format(stamp)
	m.name = fmt.Sprintf("phantomsoc-%s-%s.%s", c.Name, until.In(loc).Format("2006-01-02T1504"), c.Format)
	m.bytes = buf.Len()
	d := &notifiers.Document{
		Key:         "report-" + c.Name + "-" + key,
		Subject:     fmt.Sprintf("phantomsoc %s report %s: %s", c.Kind, c.Name, period),
		Text:        fmt.Sprintf("The phantomsoc %s report %q for %s is attached: %s (%s, %d bytes).", c.Kind, c.Name, period, m.name, c.Format, buf.Len()),
		Name:        m.name,
		ContentType: reportContentTypes[c.Format],
		Data:        buf.Bytes(),
	}
	var err error
	m.res, err = j.mail.SendDocument(ctx, d)
	return m, err
}

// reportJob is one schedule at run time.
type reportJob struct {
	cfg   ReportSchedule
	t     reportTimes
	mail  *notifiers.Email
	last  time.Time // reportRun.Due
	retry time.Time // after a failed send, not before
}

// reportScheduler mails the configured reports when they are due. It
// reads the database it runs beside and keeps its state there.
type reportScheduler struct {
	db   *store.DB
	loc  *time.Location
	jobs []*reportJob
	now  func() time.Time
	log  *slog.Logger
}

// newReportScheduler builds the mailers and loads the state; a schedule
// seen for the first time is saved as seen now.
func newReportScheduler(ctx context.Context, cfg *Config, db *store.DB, now func() time.Time, logger *slog.Logger) (*reportScheduler, error) {
	s := &reportScheduler{db: db, loc: cfg.location(), now: now, log: logger.With("component", "reports")}
	byName := map[string]*reportJob{}
	for _, rc := range cfg.Reports {
		rcv, err := emailReceiver(cfg.Receivers, rc.Receiver)
		if err != nil { // Validate already refused it
			return nil, fmt.Errorf("report %s: %w", rc.Name, err)
		}
		mail, err := notifiers.NewEmail(*rcv.Email, notifiers.Options{Receiver: rcv.Name, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", rc.Name, err)
		}
		t, _ := rc.times()
		j := &reportJob{cfg: rc, t: t, mail: mail}
		s.jobs = append(s.jobs, j)
		byName[rc.Name] = j
	}
	if _, err := db.LoadState(reportsState, func(key string, decode func(v any) error) error {
		var r reportRun
		if err := decode(&r); err != nil {
			return err
		}
		if j := byName[key]; j != nil {
			j.last = r.Due
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load report schedules: %w", err)
	}
	var first []store.StateRecord
	for _, j := range s.jobs {
		if j.last.IsZero() {
			j.last = now()
			first = append(first, store.StateRecord{Key: j.cfg.Name, Value: reportRun{Due: j.last}})
		}
	}
	if len(first) > 0 {
		if err := db.SaveState(ctx, store.StateUpdate{Name: reportsState, Records: first}); err != nil {
			return nil, fmt.Errorf("save report schedules: %w", err)
		}
	}
	return s, nil
}

// scheduleReports mails the configured reports until ctx ends; a
// scheduler that cannot start is logged, not fatal: detection goes on.
func scheduleReports(ctx context.Context, cfg *Config, db *store.DB, logger *slog.Logger) {
	s, err := newReportScheduler(ctx, cfg, db, time.Now, logger)
	if err != nil && ctx.Err() == nil {
		logger.Error("report schedules not started", "component", "reports", "err", err)
	}
	if err != nil {
		return
	}
	s.Run(ctx)
}

// Run sends what is due, then waits for the next due time, until ctx
// ends.
func (s *reportScheduler) Run(ctx context.Context) {
	s.log.Info("report schedules started", "reports", len(s.jobs))
	for {
		wait := min(s.runDue(ctx).Sub(s.now()), reportPoll)
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// slot returns the latest due time at or before t.
func (j *reportJob) slot(t time.Time, loc *time.Location) time.Time {
	if !j.t.hasAt {
		return t.Truncate(j.t.every) // from the zero time: 00:00 UTC
	}
	l := t.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), j.t.hour, j.t.minute, 0, 0, loc)
	if d.After(t) {
		d = time.Date(l.Year(), l.Month(), l.Day()-1, j.t.hour, j.t.minute, 0, 0, loc)
	}
	return d
}

// next returns the first due time after t.
func (j *reportJob) next(t time.Time, loc *time.Location) time.Time {
	d := j.slot(t, loc)
	if !j.t.hasAt {
		return d.Add(j.t.every)
	}
	l := d.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, j.t.hour, j.t.minute, 0, 0, loc)
}

// runDue sends every report due and not yet sent (only the latest, when
// the daemon was down for several) and returns when to look again.
func (s *reportScheduler) runDue(ctx context.Context) time.Time {
	now := s.now()
	var wake time.Time
	for _, j := range s.jobs {
		if due := j.slot(now, s.loc); due.After(j.last) && !now.Before(j.retry) {
			s.sendDue(ctx, j, due, now)
		}
		w := j.next(now, s.loc)
		if j.retry.After(now) && j.retry.Before(w) {
			w = j.retry
		}
		if wake.IsZero() || w.Before(wake) {
			wake = w
		}
	}
	return wake
}

// sendDue sends j's report due at due; on failure it sets when to try
// again: soon for a temporary failure, at the next due time for a
// permanent one.
func (s *reportScheduler) sendDue(ctx context.Context, j *reportJob, due, now time.Time) {
	res, err := s.send(ctx, j, due, now)
	if err == nil {
		j.last, j.retry = due, time.Time{}
		return
	}
	if ctx.Err() != nil {
		return
	}
	j.retry = now.Add(reportRetry)
	if res.Permanent {
		j.retry = j.next(now, s.loc)
	}
	s.log.Error("report not sent", "report", j.cfg.Name, "due", due, "retry", j.retry, "err", err)
}

// send builds j's report for the period ending at due, mails it, and
// saves the due time with the audit record.
func (s *reportScheduler) send(ctx context.Context, j *reportJob, due, now time.Time) (notifiers.Result, error) {
	c := &j.cfg
	m, err := mailReport(ctx, s.db, s.loc, j, due, now, due.UTC().Format("20060102T150405Z"))
	if err != nil {
		return m.res, err
	}
	s.log.Info("report sent", "report", c.Name, "receiver", c.Receiver, "due", due, "bytes", m.bytes, "message_id", m.res.Remote)
	detail := m.detail(c)
	err = s.db.SaveState(ctx, store.StateUpdate{Name: reportsState, Records: []store.StateRecord{{Key: c.Name, Value: reportRun{Due: due, Sent: now}}}},
		store.AuditRecord{Time: now, Actor: actorScheduler, Action: auditReportSent, Subject: c.Name, Detail: mustJSON(detail)})
	if err != nil {
		// Mailed but not recorded: the next attempt mails it again, with
		// the same Message-ID.
		return m.res, fmt.Errorf("record report %s: %w", c.Name, err)
	}
	return m.res, nil
}
