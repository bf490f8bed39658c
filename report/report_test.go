package report

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/xuri/excelize/v2"
)

func renderIncident(t *testing.T, in *Incident, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteIncident(&b, NewPostMortem(in), format); err != nil {
		t.Fatalf("WriteIncident(%s): %v", format, err)
	}
	return b.Bytes()
}

func renderSummary(t *testing.T, a *Activity, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSummary(&b, NewSummary(a), format); err != nil {
		t.Fatalf("WriteSummary(%s): %v", format, err)
	}
	return b.Bytes()
}

// pdfDump is a PDF read back: its pages and the text it draws.
func pdfDump(t *testing.T, b []byte) (string, *parsedPDF) {
	t.Helper()
	p, err := parsePDF(b)
	if err != nil {
		t.Fatalf("parse PDF: %v", err)
	}
	return fmt.Sprintf("pages: %d\n%s\n", p.Pages, strings.Join(p.Text, "\n")), p
}

// TestIncidentFormats goldens every post-mortem format; the PDF as the
// text it draws, after its structure checks out.
func TestIncidentFormats(t *testing.T) {
	for _, format := range IncidentFormats() {
		t.Run(format, func(t *testing.T) {
			got := renderIncident(t, fixtureIncident(), format)
			if again := renderIncident(t, fixtureIncident(), format); !bytes.Equal(got, again) {
				t.Fatalf("two renderings differ: the %s output is not deterministic", format)
			}
			switch format {
			case FormatPDF:
				dump, _ := pdfDump(t, got)
				golden.RequireEqual(t, dump)
			case FormatJSON:
				var pm PostMortem
				if err := json.Unmarshal(got, &pm); err != nil {
					t.Fatalf("json: %v", err)
				}
				golden.RequireEqual(t, got)
			default:
				golden.RequireEqual(t, got)
			}
		})
	}
}

// TestSummaryFormats goldens every summary format; the XLSX as its cells
// read back with excelize, the PDF as the text it draws.
func TestSummaryFormats(t *testing.T) {
	for _, format := range SummaryFormats() {
		t.Run(format, func(t *testing.T) {
			got := renderSummary(t, fixtureActivity(), format)
			switch format {
			case FormatXLSX:
				golden.RequireEqual(t, xlsxDump(t, got))
			case FormatPDF:
				dump, _ := pdfDump(t, got)
				golden.RequireEqual(t, dump)
			case FormatCSV:
				rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
				if err != nil {
					t.Fatalf("csv: %v", err)
				}
				for i, r := range rows {
					if len(r) != 4 {
						t.Fatalf("csv row %d = %q, want 4 fields", i+1, r)
					}
				}
				golden.RequireEqual(t, got)
			default:
				if again := renderSummary(t, fixtureActivity(), format); !bytes.Equal(got, again) {
					t.Fatalf("two renderings differ: the %s output is not deterministic", format)
				}
				golden.RequireEqual(t, got)
			}
		})
	}
}

// xlsxDump reads every cell of every sheet back, and checks the trend
// chart is there.
func xlsxDump(t *testing.T, b []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open xlsx: %v", err)
	}
	defer f.Close()
	var out strings.Builder
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatalf("sheet %s: %v", sheet, err)
		}
		fmt.Fprintf(&out, "== %s\n", sheet)
		for _, r := range rows {
			fmt.Fprintf(&out, "%s\n", strings.Join(r, " | "))
		}
	}
	if v, err := f.GetCellValue(sheetTrend, "B2"); err != nil || v != "2" {
		t.Errorf("Trend!B2 = %q, %v; want 2 alerts on the first day", v, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	charts := 0
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			charts++
		}
	}
	if charts != 1 {
		t.Errorf("workbook has %d charts, want the trend chart", charts)
	}
	return out.String()
}

// TestIncidentPDFContent checks what a reader of the PDF must find: the
// evidence hashes, the approver and every recommendation rule's text
// start.
func TestIncidentPDFContent(t *testing.T) {
	in := fixtureIncident()
	_, p := pdfDump(t, renderIncident(t, in, FormatPDF))
	text := strings.Join(p.Text, "\n")
	want := []string{"Post-mortem in-00000001: Suspected SSH compromise of web1 from 198.51.100.7", "Recommendations", "Evidence", "Timeline",
		in.Evidence[0].ID, in.Evidence[1].ID, "cli:alice", "policy", "password-auth", "slow-approval", "repeat-offender"}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
}

// TestEmptyReports renders reports with nothing in them: every section
// says so instead of failing.
func TestEmptyReports(t *testing.T) {
	empty := &Incident{Incident: fixtureIncident().Incident, Generated: t0}
	empty.Incident.Alerts, empty.Incident.Decisions = nil, nil
	for _, format := range IncidentFormats() {
		if len(renderIncident(t, empty, format)) == 0 {
			t.Errorf("empty incident as %s: no output", format)
		}
	}
	for _, format := range SummaryFormats() {
		if len(renderSummary(t, &Activity{Until: t0, Generated: t0}, format)) == 0 {
			t.Errorf("empty summary as %s: no output", format)
		}
	}
}

func TestBadFormat(t *testing.T) {
	pm := NewPostMortem(fixtureIncident())
	if err := WriteIncident(&bytes.Buffer{}, pm, "xlsx"); err == nil || !strings.Contains(err.Error(), "md, html, json, pdf") {
		t.Errorf("WriteIncident(xlsx) = %v, want the formats listed", err)
	}
	if err := WriteSummary(&bytes.Buffer{}, NewSummary(fixtureActivity()), "md"); err == nil {
		t.Errorf("WriteSummary(md) = nil, want an error")
	}
}
