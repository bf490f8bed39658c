package report

import (
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
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

// xlsxBook writes sheets of a workbook, remembering the first error.
type xlsxBook struct {
	f    *excelize.File
	bold int
	err  error
}

// sheet writes a sheet of rows, the first being a bold header that stays
// in view; widths are in characters.
func (b *xlsxBook) sheet(name string, widths []float64, rows [][]any) {
	if b.err != nil {
		return
	}
	if _, err := b.f.NewSheet(name); err != nil {
		b.err = err
		return
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := b.f.SetSheetRow(name, cell, &r); err != nil {
			b.err = fmt.Errorf("sheet %s row %d: %w", name, i+1, err)
			return
		}
	}
	for i, w := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := b.f.SetColWidth(name, col, col, w); err != nil {
			b.err = err
			return
		}
	}
	if len(rows) > 0 && len(rows[0]) > 0 {
		last, _ := excelize.CoordinatesToCellName(len(rows[0]), 1)
		if err := b.f.SetCellStyle(name, "A1", last, b.bold); err != nil {
			b.err = err
			return
		}
		b.err = b.f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	}
}

// summaryXLSX writes s as a workbook: the executive view first, then a
// sheet per technical table.
func summaryXLSX(w io.Writer, s *Summary) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F3F4F6"}}})
	if err != nil {
		return err
	}
	b := &xlsxBook{f: f, bold: bold}
	ts := s.Generated.Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{Title: "phantomsoc summary", Creator: "phantomsoc", Created: ts, Modified: ts}); err != nil {
		return err
	}

	exec := [][]any{{"Item", "Value"}, {"Period", s.Period()}, {"Generated", fmtTime(s.Generated)}}
	for _, c := range s.Counts {
		exec = append(exec, []any{c.Name, c.Value})
	}
	exec = append(exec, []any{}, []any{"Response time", "Incidents", "Mean (s)", "Median (s)"})
	for _, t := range s.Times {
		exec = append(exec, []any{t.Name, t.N, t.MeanSeconds, t.MedianSeconds})
	}
	b.sheet(sheetExecutive, []float64{30, 44, 12, 12}, exec)

	trend := [][]any{{"Day", "Alerts", "Events", "Decisions", "Incidents"}}
	for _, d := range s.Days {
		trend = append(trend, []any{d.Date, d.Alerts, d.Events, d.Decisions, d.Incidents})
	}
	b.sheet(sheetTrend, []float64{12, 10, 10, 10, 10}, trend)

	top := [][]any{{"Kind", "Name", "Alerts", "Events", "Max risk"}}
	for _, t := range []struct {
		kind string
		rows []Top
	}{{"source", s.TopSources}, {"target", s.TopTargets}, {"user", s.TopUsers}} {
		for _, r := range t.rows {
			top = append(top, []any{t.kind, r.Name, r.Alerts, r.Events, r.MaxRisk})
		}
	}
	b.sheet(sheetTop, []float64{8, 34, 10, 10, 10}, top)

	sc := [][]any{{"Scenario", "Alerts", "Events", "Sources", "Decisions", "Mean risk", "Max risk"}}
	for _, r := range s.Scenarios {
		sc = append(sc, []any{r.Scenario, r.Alerts, r.Events, r.Sources, r.Decisions, round2(r.MeanRisk), r.MaxRisk})
	}
	b.sheet(sheetScenarios, []float64{30, 10, 10, 10, 10, 10, 10}, sc)

	ac := [][]any{{"Action", "Total", "By policy", "Active", "Pending", "Expired", "Rolled back", "Refused"}}
	for _, r := range s.Actions {
		ac = append(ac, []any{r.Action, r.Total, r.Auto, r.Active, r.Pending, r.Expired, r.RolledBack, r.Refused})
	}
	b.sheet(sheetActions, []float64{16, 8, 10, 8, 8, 8, 12, 8}, ac)

	in := [][]any{{"Incident", "Opened", "State", "Severity", "Risk", "Alerts", "Decisions", "TTD (s)", "TTR (s)", "Title"}}
	for _, r := range s.Incidents {
		in = append(in, []any{r.ID, fmtTime(r.Opened), r.State, r.Severity, r.Risk, r.Alerts, r.Decisions, optCell(r.TTD), optCell(r.TTR), r.Title})
	}
	b.sheet(sheetIncidents, []float64{14, 22, 13, 10, 7, 8, 10, 9, 9, 60}, in)

	rc := [][]any{{"Receiver", "Total", "Sent", "Failed", "Pending"}}
	for _, r := range s.Receivers {
		rc = append(rc, []any{r.Receiver, r.Total, r.Sent, r.Failed, r.Pending})
	}
	b.sheet(sheetReceivers, []float64{20, 8, 8, 8, 8}, rc)

	au := [][]any{{"Audit action", "Records"}}
	for _, c := range s.Audit {
		au = append(au, []any{c.Name, c.Value})
	}
	b.sheet(sheetAudit, []float64{34, 10}, au)
	if b.err != nil {
		return fmt.Errorf("summary workbook: %w", b.err)
	}
	if len(s.Days) > 0 {
		last := len(s.Days) + 1
		if err := f.AddChart(sheetTrend, "G2", &excelize.Chart{
			Type:   excelize.Col,
			Series: []excelize.ChartSeries{{Name: sheetTrend + "!$B$1", Categories: fmt.Sprintf("%s!$A$2:$A$%d", sheetTrend, last), Values: fmt.Sprintf("%s!$B$2:$B$%d", sheetTrend, last)}},
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Alerts per day"}}},
			Legend: excelize.ChartLegend{Position: "none"},
		}); err != nil {
			return fmt.Errorf("summary workbook chart: %w", err)
		}
	}
	if err := f.DeleteSheet("Sheet1"); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	_, err = f.WriteTo(w)
	return err
}

// optCell is a number of seconds, or an empty cell.
func optCell(s *float64) any {
	if s == nil {
		return ""
	}
	return *s
}
