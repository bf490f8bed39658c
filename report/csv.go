package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// summaryCSV writes s as one long table — section, key, metric, value —
// so a spreadsheet or a script can pivot any part of it without knowing
// the layout of the others.
func summaryCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	row := func(section, key, metric, value string) {
		_ = cw.Write([]string{section, key, metric, value}) // the error sticks; Error reports it
	}
	num := func(section, key, metric string, v int) { row(section, key, metric, strconv.Itoa(v)) }
	flt := func(section, key, metric string, v float64) {
		row(section, key, metric, strconv.FormatFloat(v, 'f', -1, 64))
	}
	row("section", "key", "metric", "value")
	row("period", "", "since", timeCSV(s.Since))
	row("period", "", "until", timeCSV(s.Until))
	row("period", "", "generated", timeCSV(s.Generated))
	for _, c := range s.Counts {
		num("counts", "", c.Name, c.Value)
	}
	for _, t := range s.Times {
		num("response", t.Name, "incidents", t.N)
		flt("response", t.Name, "mean_seconds", t.MeanSeconds)
		flt("response", t.Name, "median_seconds", t.MedianSeconds)
	}
	for _, d := range s.Days {
		num("day", d.Date, "alerts", d.Alerts)
		num("day", d.Date, "events", d.Events)
		num("day", d.Date, "decisions", d.Decisions)
		num("day", d.Date, "incidents", d.Incidents)
	}
	for _, top := range []struct {
		section string
		rows    []Top
	}{{"top_source", s.TopSources}, {"top_target", s.TopTargets}, {"top_user", s.TopUsers}} {
		for _, t := range top.rows {
			num(top.section, t.Name, "alerts", t.Alerts)
			num(top.section, t.Name, "events", t.Events)
			flt(top.section, t.Name, "max_risk", t.MaxRisk)
		}
	}
	for _, r := range s.Scenarios {
		num("scenario", r.Scenario, "alerts", r.Alerts)
		num("scenario", r.Scenario, "events", r.Events)
		num("scenario", r.Scenario, "sources", r.Sources)
		num("scenario", r.Scenario, "decisions", r.Decisions)
		flt("scenario", r.Scenario, "mean_risk", round2(r.MeanRisk))
		flt("scenario", r.Scenario, "max_risk", r.MaxRisk)
	}
	for _, r := range s.Actions {
		for _, c := range []Count{{"total", r.Total}, {"auto", r.Auto}, {"active", r.Active}, {"pending", r.Pending},
			{"expired", r.Expired}, {"rolled_back", r.RolledBack}, {"refused", r.Refused}} {
			num("action", r.Action, c.Name, c.Value)
		}
	}
	for _, r := range s.Incidents {
		row("incident", r.ID, "opened", timeCSV(r.Opened))
		row("incident", r.ID, "state", r.State)
		row("incident", r.ID, "severity", r.Severity)
		flt("incident", r.ID, "risk", r.Risk)
		num("incident", r.ID, "alerts", r.Alerts)
		num("incident", r.ID, "decisions", r.Decisions)
		if r.TTD != nil {
			flt("incident", r.ID, "ttd_seconds", *r.TTD)
		}
		if r.TTR != nil {
			flt("incident", r.ID, "ttr_seconds", *r.TTR)
		}
		row("incident", r.ID, "title", r.Title)
	}
	for _, r := range s.Receivers {
		num("receiver", r.Receiver, "total", r.Total)
		num("receiver", r.Receiver, "sent", r.Sent)
		num("receiver", r.Receiver, "failed", r.Failed)
		num("receiver", r.Receiver, "pending", r.Pending)
	}
	for _, c := range s.Audit {
		num("audit", c.Name, "records", c.Value)
	}
	cw.Flush()
	return cw.Error()
}

func timeCSV(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}
