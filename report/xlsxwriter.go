package report

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// workbook is a minimal SpreadsheetML (XLSX) writer: sheets of strings and
// numbers, a bold header row that stays in view, column widths, document
// properties and one column chart. It exists because linking excelize for
// this cost every phantomsoc command (a replay, a status) 3 ms and 1.3 MB
// of allocations at start-up and about 7 MB of resident memory; the tests
// still read the result back with excelize.
type workbook struct {
	title   string
	created time.Time
	sheets  []*worksheet
}

type worksheet struct {
	name   string
	widths []float64
	rows   [][]any
	chart  *columnChart
}

// columnChart plots one column of a sheet against its first column.
type columnChart struct {
	title      string
	series     string // header cell of the values, e.g. "$B$1"
	categories string // e.g. "$A$2:$A$8"
	values     string // e.g. "$B$2:$B$8"
	// anchorCol and row place its top-left corner (0-based).
	anchorCol, row int
}

func (b *workbook) add(name string, widths []float64, rows [][]any) *worksheet {
	s := &worksheet{name: name, widths: widths, rows: rows}
	b.sheets = append(b.sheets, s)
	return s
}

// write zips the workbook's parts to w.
func (b *workbook) write(w io.Writer) error {
	zw := zip.NewWriter(w)
	charts := 0
	for _, s := range b.sheets {
		if s.chart != nil {
			charts++
		}
	}
	parts := []struct {
		name string
		body string
	}{
		{"[Content_Types].xml", b.contentTypes()},
		{"_rels/.rels", xmlHeader + `<Relationships xmlns="` + nsPkgRels + `">` +
			`<Relationship Id="rId1" Type="` + nsOfficeRels + `/officeDocument" Target="xl/workbook.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
			`</Relationships>`},
		{"docProps/core.xml", b.core()},
		{"xl/workbook.xml", b.workbookXML()},
		{"xl/_rels/workbook.xml.rels", b.workbookRels()},
		{"xl/styles.xml", stylesXML},
	}
	chart := 0
	for i, s := range b.sheets {
		n := i + 1
		drawing := 0
		if s.chart != nil {
			chart++
			drawing = chart
			parts = append(parts,
				struct{ name, body string }{fmt.Sprintf("xl/worksheets/_rels/sheet%d.xml.rels", n), xmlHeader + `<Relationships xmlns="` + nsPkgRels + `">` +
					fmt.Sprintf(`<Relationship Id="rId1" Type="%s/drawing" Target="../drawings/drawing%d.xml"/>`, nsOfficeRels, chart) + `</Relationships>`},
				struct{ name, body string }{fmt.Sprintf("xl/drawings/drawing%d.xml", chart), s.chart.drawingXML()},
				struct{ name, body string }{fmt.Sprintf("xl/drawings/_rels/drawing%d.xml.rels", chart), xmlHeader + `<Relationships xmlns="` + nsPkgRels + `">` +
					fmt.Sprintf(`<Relationship Id="rId1" Type="%s/chart" Target="../charts/chart%d.xml"/>`, nsOfficeRels, chart) + `</Relationships>`},
				struct{ name, body string }{fmt.Sprintf("xl/charts/chart%d.xml", chart), s.chart.chartXML(s.name)},
			)
		}
		parts = append(parts, struct{ name, body string }{fmt.Sprintf("xl/worksheets/sheet%d.xml", n), s.xml(drawing)})
	}
	for _, p := range parts {
		// A fixed modification time keeps the same report byte-identical.
		f, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: b.created})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, p.body); err != nil {
			return err
		}
	}
	return zw.Close()
}

const (
	xmlHeader    = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsPkgRels    = "http://schemas.openxmlformats.org/package/2006/relationships"
	nsOfficeRels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsMain       = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsChart      = "http://schemas.openxmlformats.org/drawingml/2006/chart"
	nsDrawing    = "http://schemas.openxmlformats.org/drawingml/2006/main"
	nsSSDrawing  = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
)

// stylesXML has two cell formats: 0 plain, 1 the bold, shaded header.
const stylesXML = xmlHeader + `<styleSheet xmlns="` + nsMain + `">` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>` +
	`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>` +
	`<fill><patternFill patternType="solid"><fgColor rgb="FFF3F4F6"/><bgColor indexed="64"/></patternFill></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`

func (b *workbook) contentTypes() string {
	var s strings.Builder
	s.WriteString(xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
		`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>`)
	chart := 0
	for i, sh := range b.sheets {
		fmt.Fprintf(&s, `<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, i+1)
		if sh.chart != nil {
			chart++
			fmt.Fprintf(&s, `<Override PartName="/xl/drawings/drawing%d.xml" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>`, chart)
			fmt.Fprintf(&s, `<Override PartName="/xl/charts/chart%d.xml" ContentType="application/vnd.openxmlformats-officedocument.drawingml.chart+xml"/>`, chart)
		}
	}
	s.WriteString(`</Types>`)
	return s.String()
}

func (b *workbook) core() string {
	ts := b.created.UTC().Format(time.RFC3339)
	return xmlHeader + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
		`xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<dc:title>` + esc(b.title) + `</dc:title><dc:creator>phantomsoc</dc:creator>` +
		`<dcterms:created xsi:type="dcterms:W3CDTF">` + ts + `</dcterms:created>` +
		`<dcterms:modified xsi:type="dcterms:W3CDTF">` + ts + `</dcterms:modified></cp:coreProperties>`
}

func (b *workbook) workbookXML() string {
	var s strings.Builder
	s.WriteString(xmlHeader + `<workbook xmlns="` + nsMain + `" xmlns:r="` + nsOfficeRels + `"><sheets>`)
	for i, sh := range b.sheets {
		fmt.Fprintf(&s, `<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, esc(sh.name), i+1, i+1)
	}
	s.WriteString(`</sheets></workbook>`)
	return s.String()
}

func (b *workbook) workbookRels() string {
	var s strings.Builder
	s.WriteString(xmlHeader + `<Relationships xmlns="` + nsPkgRels + `">`)
	for i := range b.sheets {
		fmt.Fprintf(&s, `<Relationship Id="rId%d" Type="%s/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, nsOfficeRels, i+1)
	}
	fmt.Fprintf(&s, `<Relationship Id="rId%d" Type="%s/styles" Target="styles.xml"/>`, len(b.sheets)+1, nsOfficeRels)
	s.WriteString(`</Relationships>`)
	return s.String()
}

// xml is the sheet's part; drawing > 0 links its chart's drawing.
func (s *worksheet) xml(drawing int) string {
	var b strings.Builder
	b.WriteString(xmlHeader + `<worksheet xmlns="` + nsMain + `" xmlns:r="` + nsOfficeRels + `">`)
	if len(s.rows) > 1 {
		b.WriteString(`<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>`)
	}
	if len(s.widths) > 0 {
		b.WriteString(`<cols>`)
		for i, w := range s.widths {
			fmt.Fprintf(&b, `<col min="%d" max="%d" width="%s" customWidth="1"/>`, i+1, i+1, strconv.FormatFloat(w, 'f', -1, 64))
		}
		b.WriteString(`</cols>`)
	}
	b.WriteString(`<sheetData>`)
	for r, row := range s.rows {
		fmt.Fprintf(&b, `<row r="%d">`, r+1)
		for c, v := range row {
			ref := cellName(c, r)
			style := ""
			if r == 0 {
				style = ` s="1"`
			}
			switch x := v.(type) {
			case int:
				fmt.Fprintf(&b, `<c r="%s"%s><v>%d</v></c>`, ref, style, x)
			case int64:
				fmt.Fprintf(&b, `<c r="%s"%s><v>%d</v></c>`, ref, style, x)
			case uint64:
				fmt.Fprintf(&b, `<c r="%s"%s><v>%d</v></c>`, ref, style, x)
			case float64:
				fmt.Fprintf(&b, `<c r="%s"%s><v>%s</v></c>`, ref, style, strconv.FormatFloat(x, 'f', -1, 64))
			case string:
				if x == "" {
					continue
				}
				fmt.Fprintf(&b, `<c r="%s"%s t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, ref, style, esc(x))
			default:
				fmt.Fprintf(&b, `<c r="%s"%s t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, ref, style, esc(fmt.Sprint(x)))
			}
		}
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData>`)
	if drawing > 0 {
		b.WriteString(`<drawing r:id="rId1"/>`)
	}
	b.WriteString(`</worksheet>`)
	return b.String()
}

func (c *columnChart) drawingXML() string {
	return xmlHeader + `<xdr:wsDr xmlns:xdr="` + nsSSDrawing + `" xmlns:a="` + nsDrawing + `">` +
		`<xdr:twoCellAnchor>` +
		fmt.Sprintf(`<xdr:from><xdr:col>%d</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>%d</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>`, c.anchorCol, c.row) +
		fmt.Sprintf(`<xdr:to><xdr:col>%d</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>%d</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>`, c.anchorCol+8, c.row+16) +
		`<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="Chart 1"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>` +
		`<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>` +
		`<a:graphic><a:graphicData uri="` + nsChart + `"><c:chart xmlns:c="` + nsChart + `" xmlns:r="` + nsOfficeRels + `" r:id="rId1"/></a:graphicData></a:graphic>` +
		`</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>`
}

func (c *columnChart) chartXML(sheet string) string {
	ref := func(r string) string { return esc("'" + strings.ReplaceAll(sheet, "'", "''") + "'!" + r) }
	return xmlHeader + `<c:chartSpace xmlns:c="` + nsChart + `" xmlns:a="` + nsDrawing + `" xmlns:r="` + nsOfficeRels + `">` +
		`<c:chart><c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>` + esc(c.title) + `</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>` +
		`<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>` +
		`<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>` +
		`<c:ser><c:idx val="0"/><c:order val="0"/><c:tx><c:strRef><c:f>` + ref(c.series) + `</c:f></c:strRef></c:tx>` +
		`<c:cat><c:strRef><c:f>` + ref(c.categories) + `</c:f></c:strRef></c:cat>` +
		`<c:val><c:numRef><c:f>` + ref(c.values) + `</c:f></c:numRef></c:val></c:ser>` +
		`<c:axId val="1"/><c:axId val="2"/></c:barChart>` +
		`<c:catAx><c:axId val="1"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/><c:crossAx val="2"/></c:catAx>` +
		`<c:valAx><c:axId val="2"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/><c:crossAx val="1"/></c:valAx>` +
		`</c:plotArea><c:plotVisOnly val="1"/></c:chart></c:chartSpace>`
}

// cellName is the A1-style name of the cell at column c, row r (0-based).
func cellName(c, r int) string {
	col := ""
	for c++; c > 0; c = (c - 1) / 26 {
		col = string(rune('A'+(c-1)%26)) + col
	}
	return col + strconv.Itoa(r+1)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
