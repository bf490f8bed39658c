package report

import (
	"fmt"
	"io"
)

// Sheet names of the summary workbook, in order.
const (
	sheetExecutive = "Executive"
	sheetTrend     = "Trend"
	sheetTop       = "Top"
	sheetScenarios = "Scenarios"
	sheetActions   = "Actions"
	sheetIncidents = "Incidents"
	sheetReceivers = "Notifications"
	sheetAudit     = "Audit"
)

// summaryXLSX writes s as a workbook: the executive view first, then a
// sheet per technical table.
func summaryXLSX(w io.Writer, s *Summary) error {
	b := &workbook{title: "phantomsoc summary", created: s.Generated}

	exec := [][]any{{"Item", "Value"}, {"Period", s.Period()}, {"Generated", fmtTime(s.Generated)}}
	for _, c := range s.Counts {
		exec = append(exec, []any{c.Name, c.Value})
	}
	exec = append(exec, []any{}, []any{"Response time", "Incidents", "Mean (s)", "Median (s)"})
	for _, t := range s.Times {
		exec = append(exec, []any{t.Name, t.N, t.MeanSeconds, t.MedianSeconds})
	}
	b.add(sheetExecutive, []float64{30, 44, 12, 12}, exec)

	trend := [][]any{{"Day", "Alerts", "Events", "Decisions", "Incidents"}}
	for _, d := range s.Days {
		trend = append(trend, []any{d.Date, d.Alerts, d.Events, d.Decisions, d.Incidents})
	}
	tr := b.add(sheetTrend, []float64{12, 10, 10, 10, 10}, trend)

	top := [][]any{{"Kind", "Name", "Alerts", "Events", "Max risk"}}
	for _, t := range []struct {
		kind string
		rows []Top
	}{{"source", s.TopSources}, {"target", s.TopTargets}, {"user", s.TopUsers}} {
		for _, r := range t.rows {
			top = append(top, []any{t.kind, r.Name, r.Alerts, r.Events, r.MaxRisk})
		}
	}
	b.add(sheetTop, []float64{8, 34, 10, 10, 10}, top)

	sc := [][]any{{"Scenario", "Alerts", "Events", "Sources", "Decisions", "Mean risk", "Max risk"}}
	for _, r := range s.Scenarios {
		sc = append(sc, []any{r.Scenario, r.Alerts, r.Events, r.Sources, r.Decisions, round2(r.MeanRisk), r.MaxRisk})
	}
	b.add(sheetScenarios, []float64{30, 10, 10, 10, 10, 10, 10}, sc)

	ac := [][]any{{"Action", "Total", "By policy", "Active", "Pending", "Expired", "Rolled back", "Refused"}}
	for _, r := range s.Actions {
		ac = append(ac, []any{r.Action, r.Total, r.Auto, r.Active, r.Pending, r.Expired, r.RolledBack, r.Refused})
	}
	b.add(sheetActions, []float64{16, 8, 10, 8, 8, 8, 12, 8}, ac)

	in := [][]any{{"Incident", "Opened", "State", "Severity", "Risk", "Alerts", "Decisions", "TTD (s)", "TTR (s)", "Title"}}
	for _, r := range s.Incidents {
		in = append(in, []any{r.ID, fmtTime(r.Opened), r.State, r.Severity, r.Risk, r.Alerts, r.Decisions, optCell(r.TTD), optCell(r.TTR), r.Title})
	}
	b.add(sheetIncidents, []float64{14, 22, 13, 10, 7, 8, 10, 9, 9, 60}, in)

	rc := [][]any{{"Receiver", "Total", "Sent", "Failed", "Pending"}}
	for _, r := range s.Receivers {
		rc = append(rc, []any{r.Receiver, r.Total, r.Sent, r.Failed, r.Pending})
	}
	b.add(sheetReceivers, []float64{20, 8, 8, 8, 8}, rc)

	au := [][]any{{"Audit action", "Records"}}
	for _, c := range s.Audit {
		au = append(au, []any{c.Name, c.Value})
	}
	b.add(sheetAudit, []float64{34, 10}, au)
	if len(s.Days) > 0 {
		last := len(s.Days) + 1
		tr.chart = &columnChart{title: "Alerts per day", series: "$B$1", categories: fmt.Sprintf("$A$2:$A$%d", last),
			values: fmt.Sprintf("$B$2:$B$%d", last), anchorCol: 6, row: 1}
	}
	if err := b.write(w); err != nil {
		return fmt.Errorf("summary workbook: %w", err)
	}
	return nil
}

// optCell is a number of seconds, or an empty cell.
func optCell(s *float64) any {
	if s == nil {
		return ""
	}
	return *s
}
