package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestWorkbookReadsBack writes awkward values — markup, a quote in a sheet
// name, columns past Z, numbers of each kind — and reads them back with
// excelize, an implementation that is not ours.
func TestWorkbookReadsBack(t *testing.T) {
	b := &workbook{title: "t <&>", created: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	row := []any{"a<b>&\"c\"", 7, int64(-3), uint64(1 << 40), 0.25, ""}
	for len(row) < 30 {
		row = append(row, len(row))
	}
	b.add("O'Brien & co", []float64{20}, [][]any{{"head"}, row})
	var buf bytes.Buffer
	if err := b.write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "O'Brien & co" {
		t.Fatalf("sheets = %q", got)
	}
	for cell, want := range map[string]string{"A1": "head", "A2": "a<b>&\"c\"", "B2": "7", "C2": "-3", "D2": "1099511627776",
		"E2": "0.25", "F2": "", "AD2": "29"} {
		if got, err := f.GetCellValue("O'Brien & co", cell); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", cell, got, err, want)
		}
	}
	if got := cellName(27, 0); got != "AB1" {
		t.Errorf("cellName(27, 0) = %s, want AB1", got)
	}
}
