package report

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed templates/*.html.tmpl
var templateFS embed.FS

// grid is a plain table for the "grid" template.
type grid struct {
	Header []string
	Rows   [][]string
}

// parseTemplates parses the HTML templates. It runs per report: a parse
// costs well under a millisecond, and no template set outlives its call.
func parseTemplates() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"fmtTime": fmtTime,
		"dash":    dash,
		"join":    strings.Join,
		"secs": func(n int, s float64) string {
			if n == 0 {
				return "-"
			}
			return fmtDuration(time.Duration(s * float64(time.Second)))
		},
		"optSecs":        func(s *float64) string { return Metric{Seconds: s}.Text() },
		"grid":           func(h []string, rows [][]string) grid { return grid{h, rows} },
		"actionHeader":   actionHeader,
		"actionRows":     func(as []Action) [][]string { return cellsOf(as, actionCells) },
		"evidenceHeader": evidenceHeader,
		"evidenceRows":   func(es []EvidenceRow) [][]string { return cellsOf(es, evidenceCells) },
	}).ParseFS(templateFS, "templates/*.html.tmpl")
}

// renderHTML executes template name on data into w.
func renderHTML(w io.Writer, name string, data any) error {
	t, err := parseTemplates()
	if err != nil {
		return fmt.Errorf("parse report templates: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := t.ExecuteTemplate(bw, name, data); err != nil {
		return fmt.Errorf("render %s report: %w", name, err)
	}
	return bw.Flush()
}

// summaryPage is what the summary template shows.
type summaryPage struct {
	Summary *Summary
	Chart   *chart
}

func newSummaryPage(s *Summary) summaryPage {
	return summaryPage{Summary: s, Chart: newChart(s.Days)}
}

// chart is a bar chart of alerts per day, drawn as inline SVG.
type chart struct {
	Width, Height, Left, Base int
	Max                       int
	Bars                      []bar
}

type bar struct {
	X, Y, W, H int
	Label      string
	Value      int
	// Tick labels the bar's day below the axis; empty for most bars.
	Tick string
}

// newChart lays out one bar per day; nil without days.
func newChart(days []Day) *chart {
	if len(days) == 0 {
		return nil
	}
	c := &chart{Width: 720, Height: 180, Left: 28, Base: 165}
	for _, d := range days {
		c.Max = max(c.Max, d.Alerts)
	}
	slot := (c.Width - c.Left) / len(days)
	every := max(1, len(days)/8)
	for i, d := range days {
		h := 0
		if c.Max > 0 {
			h = d.Alerts * (c.Base - 10) / c.Max
		}
		b := bar{X: c.Left + i*slot + slot/8, Y: c.Base - h, W: max(1, slot*3/4), H: h, Label: d.Date, Value: d.Alerts}
		if i%every == 0 {
			b.Tick = d.Date[5:]
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}
