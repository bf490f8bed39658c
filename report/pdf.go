package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// PDF layout, in millimetres on landscape A4.
const (
	pdfMargin   = 12.0
	pdfLine     = 4.2 // table line height
	pdfMaxLines = 6   // a table cell wraps to at most this many lines
)

// pdfDoc lays out a report with fpdf's core Helvetica: no font files,
// text in cp1252.
type pdfDoc struct {
	f  *fpdf.Fpdf
	tr func(string) string
}

// outside1252 maps what the reports print that cp1252 lacks.
var outside1252 = strings.NewReplacer("→", "->", "≥", ">=", "≤", "<=", "✓", "v")

func newPDF(title string, generated time.Time) *pdfDoc {
	f := fpdf.New("L", "mm", "A4", "")
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfMargin+4)
	f.SetCreationDate(generated)
	f.SetModificationDate(generated)
	f.SetCatalogSort(true)
	d := &pdfDoc{f: f}
	tr := f.UnicodeTranslatorFromDescriptor("")
	d.tr = func(s string) string { return tr(outside1252.Replace(s)) }
	f.SetTitle(title, true)
	f.SetCreator("phantomsoc", true)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-pdfMargin)
		f.SetFont("Helvetica", "", 7)
		f.SetTextColor(110, 110, 110)
		f.CellFormat(0, 4, d.tr(fmt.Sprintf("%s - generated %s - page %d/{nb}", title, fmtTime(generated), f.PageNo())), "", 0, "C", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	f.AddPage()
	return d
}

func (d *pdfDoc) title(s, meta string) {
	d.f.SetFont("Helvetica", "B", 16)
	d.f.MultiCell(0, 8, d.tr(s), "", "L", false)
	d.f.SetFont("Helvetica", "", 9)
	d.f.SetTextColor(90, 90, 90)
	d.f.MultiCell(0, 5, d.tr(meta), "", "L", false)
	d.f.SetTextColor(0, 0, 0)
	d.f.Ln(2)
}

func (d *pdfDoc) heading(s string) {
	// Keep a heading with at least a few lines of what follows it.
	_, h := d.f.GetPageSize()
	if d.f.GetY() > h-pdfMargin-30 {
		d.f.AddPage()
	}
	d.f.Ln(2)
	d.f.SetFont("Helvetica", "B", 12)
	d.f.CellFormat(0, 7, d.tr(s), "B", 1, "L", false, 0, "")
	d.f.Ln(1.5)
}

func (d *pdfDoc) para(s string) {
	d.f.SetFont("Helvetica", "", 9)
	d.f.MultiCell(0, 4.6, d.tr(s), "", "L", false)
	d.f.Ln(1.5)
}

// table draws rows under a header repeated on every page; weights share
// the page width between the columns.
func (d *pdfDoc) table(header []string, weights []float64, rows [][]string) {
	if len(rows) == 0 {
		d.para("None.")
		return
	}
	pw, ph := d.f.GetPageSize()
	total := 0.0
	for _, w := range weights {
		total += w
	}
	widths := make([]float64, len(weights))
	for i, w := range weights {
		widths[i] = (pw - 2*pdfMargin) * w / total
	}
	drawHeader := func() {
		d.f.SetFont("Helvetica", "B", 7.5)
		d.f.SetFillColor(243, 244, 246)
		for i, h := range header {
			d.f.CellFormat(widths[i], 5.5, d.tr(h), "1", 0, "L", true, 0, "")
		}
		d.f.Ln(-1)
		d.f.SetFont("Helvetica", "", 7.5)
	}
	drawHeader()
	bottom := ph - pdfMargin - 4
	for _, r := range rows {
		cells := make([][]string, len(r))
		lines := 1
		for i, c := range r {
			cells[i] = d.wrap(d.tr(c), widths[i]-2)
			lines = max(lines, len(cells[i]))
		}
		h := float64(lines) * pdfLine
		if d.f.GetY()+h > bottom {
			d.f.AddPage()
			drawHeader()
		}
		x, y := d.f.GetX(), d.f.GetY()
		for i := range cells {
			d.f.Rect(x, y, widths[i], h, "D")
			for j, l := range cells[i] {
				d.f.SetXY(x+1, y+float64(j)*pdfLine)
				d.f.CellFormat(widths[i]-2, pdfLine, l, "", 0, "L", false, 0, "")
			}
			x += widths[i]
		}
		d.f.SetXY(pdfMargin, y+h)
	}
	d.f.Ln(2)
}

// wrap splits s into lines that fit w, at most pdfMaxLines, the last cut
// with "..." when it did not fit.
func (d *pdfDoc) wrap(s string, w float64) []string {
	if s == "" || d.f.GetStringWidth(s) <= w {
		return []string{s}
	}
	lines := d.f.SplitText(s, w)
	if len(lines) > pdfMaxLines {
		lines = lines[:pdfMaxLines]
		last := lines[pdfMaxLines-1]
		for last != "" && d.f.GetStringWidth(last+"...") > w {
			last = last[:len(last)-1]
		}
		lines[pdfMaxLines-1] = last + "..."
	}
	return lines
}

func (d *pdfDoc) output(w io.Writer) error {
	if err := d.f.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

func incidentPDF(w io.Writer, pm *PostMortem) error {
	d := newPDF("Post-mortem "+pm.ID, pm.Generated)
	meta := fmt.Sprintf("State %s, severity %s (risk %.1f), owner %s, tags %s", pm.State, dash(pm.Severity), pm.Risk, dash(pm.Owner), dash(strings.Join(pm.Tags, ", ")))
	if pm.CloseReason != "" {
		meta += ". Closed because: " + pm.CloseReason
	}
	d.title(fmt.Sprintf("Post-mortem %s: %s", pm.ID, pm.Title), meta)
	d.heading("Summary")
	d.para(pm.Summary)
	var rows [][]string
	for i, ms := range pm.Milestones {
		rows = append(rows, []string{ms.Name, fmtTime(ms.At), "", ""})
		if i < len(pm.Metrics) {
			rows[i][2], rows[i][3] = pm.Metrics[i].Name, pm.Metrics[i].Text()
		}
	}
	d.table([]string{"Milestone", "Time (UTC)", "Metric", "Value"}, []float64{2, 3, 2, 2}, rows)

	im := &pm.Impact
	d.heading("Impact")
	d.table([]string{"What", "Value"}, []float64{1, 5}, [][]string{
		{"Sources", dash(strings.Join(im.Sources, ", "))}, {"Assets", dash(strings.Join(im.Assets, ", "))},
		{"Users", dash(strings.Join(im.Users, ", "))}, {"Gateways", dash(strings.Join(im.Gateways, ", "))},
		{"Critical assets", dash(strings.Join(im.Critical, "; "))},
		{"Addresses covered by actions", strconv.FormatUint(im.Addresses, 10)}, {"Events", strconv.Itoa(im.Events)},
	})

	d.heading("Recommendations")
	rows = nil
	for _, r := range pm.Recommendations {
		rows = append(rows, []string{r.Priority, r.Text, r.Because, r.Rule})
	}
	d.table([]string{"Priority", "Recommendation", "Because", "Rule"}, []float64{1, 6, 5, 1.6}, rows)

	d.heading("Alerts")
	d.table(alertHeader(), []float64{2, 2.6, 3, 2.4, 1.5, 1.5, 1, 0.8, 0.8, 5}, cellsOf(pm.Alerts, alertCells))

	d.heading("Actions and approvals")
	d.table(actionHeader(), []float64{2, 2.6, 1.3, 2.2, 1.1, 1.2, 1.6, 1.1, 2.8, 1.4, 2.8}, cellsOf(pm.Actions, actionCells))

	d.heading("Evidence")
	d.table(evidenceHeader(), []float64{7.5, 1.4, 2.4, 2.4, 1.8, 1, 0.8}, cellsOf(pm.Evidence, evidenceCells))

	d.heading("Timeline")
	d.table(timelineHeader(), []float64{2.4, 1.3, 2.6, 1.8, 3.4, 8}, cellsOf(pm.Timeline, timelineCells))
	return d.output(w)
}

func summaryPDF(w io.Writer, s *Summary) error {
	d := newPDF("phantomsoc summary", s.Generated)
	d.title("Security summary", s.Period())
	d.heading("Executive view")
	var rows [][]string
	for _, c := range s.Counts {
		rows = append(rows, []string{c.Name, strconv.Itoa(c.Value)})
	}
	d.table([]string{"Count", "Value"}, []float64{3, 1}, rows)
	rows = nil
	for _, t := range s.Times {
		mean, median := "-", "-"
		if t.N > 0 {
			mean, median = fmtDuration(time.Duration(t.MeanSeconds*float64(time.Second))), fmtDuration(time.Duration(t.MedianSeconds*float64(time.Second)))
		}
		rows = append(rows, []string{t.Name, strconv.Itoa(t.N), mean, median})
	}
	d.table([]string{"Response time", "Incidents", "Mean", "Median"}, []float64{3, 1, 1, 1}, rows)
	rows = nil
	for _, x := range s.Days {
		rows = append(rows, []string{x.Date, strconv.Itoa(x.Alerts), strconv.Itoa(x.Events), strconv.Itoa(x.Decisions), strconv.Itoa(x.Incidents)})
	}
	d.table([]string{"Day", "Alerts", "Events", "Decisions", "Incidents"}, []float64{2, 1, 1, 1, 1}, rows)
	for _, t := range []struct {
		name string
		rows []Top
	}{{"Top sources", s.TopSources}, {"Top targets", s.TopTargets}, {"Top accounts", s.TopUsers}} {
		rows = nil
		for _, r := range t.rows {
			rows = append(rows, []string{r.Name, strconv.Itoa(r.Alerts), strconv.Itoa(r.Events), fmt.Sprintf("%.1f", r.MaxRisk)})
		}
		d.heading(t.name)
		d.table([]string{"Name", "Alerts", "Events", "Max risk"}, []float64{4, 1, 1, 1}, rows)
	}

	d.heading("Technical view: scenarios")
	rows = nil
	for _, r := range s.Scenarios {
		rows = append(rows, []string{r.Scenario, strconv.Itoa(r.Alerts), strconv.Itoa(r.Events), strconv.Itoa(r.Sources), strconv.Itoa(r.Decisions),
			fmt.Sprintf("%.1f", r.MeanRisk), fmt.Sprintf("%.1f", r.MaxRisk)})
	}
	d.table([]string{"Scenario", "Alerts", "Events", "Sources", "Decisions", "Mean risk", "Max risk"}, []float64{4, 1, 1, 1, 1, 1, 1}, rows)
	d.heading("Actions")
	rows = nil
	for _, r := range s.Actions {
		rows = append(rows, []string{r.Action, strconv.Itoa(r.Total), strconv.Itoa(r.Auto), strconv.Itoa(r.Active), strconv.Itoa(r.Pending),
			strconv.Itoa(r.Expired), strconv.Itoa(r.RolledBack), strconv.Itoa(r.Refused)})
	}
	d.table([]string{"Action", "Total", "By policy", "Active", "Pending", "Expired", "Rolled back", "Refused"}, []float64{2, 1, 1, 1, 1, 1, 1, 1}, rows)
	d.heading("Incidents")
	rows = nil
	for _, r := range s.Incidents {
		rows = append(rows, []string{r.ID, fmtTime(r.Opened), r.State, r.Severity, fmt.Sprintf("%.1f", r.Risk), strconv.Itoa(r.Alerts),
			strconv.Itoa(r.Decisions), Metric{Seconds: r.TTD}.Text(), Metric{Seconds: r.TTR}.Text(), r.Title})
	}
	d.table([]string{"Incident", "Opened", "State", "Severity", "Risk", "Alerts", "Decisions", "TTD", "TTR", "Title"},
		[]float64{1.6, 2.4, 1.4, 1.1, 0.7, 0.8, 1, 0.9, 0.9, 6}, rows)
	d.heading("Notifications")
	rows = nil
	for _, r := range s.Receivers {
		rows = append(rows, []string{r.Receiver, strconv.Itoa(r.Total), strconv.Itoa(r.Sent), strconv.Itoa(r.Failed), strconv.Itoa(r.Pending)})
	}
	d.table([]string{"Receiver", "Total", "Sent", "Failed", "Pending"}, []float64{3, 1, 1, 1, 1}, rows)
	d.heading("Audit records")
	rows = nil
	for _, c := range s.Audit {
		rows = append(rows, []string{c.Name, strconv.Itoa(c.Value)})
	}
	d.table([]string{"Action", "Records"}, []float64{3, 1}, rows)
	return d.output(w)
}
