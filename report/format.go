package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats, as --format names them.
const (
	FormatMarkdown = "md"
	FormatHTML     = "html"
	FormatJSON     = "json"
	FormatCSV      = "csv"
	FormatXLSX     = "xlsx"
	FormatPDF      = "pdf"
)

// IncidentFormats are the formats of a post-mortem.
func IncidentFormats() []string {
	return []string{FormatMarkdown, FormatHTML, FormatJSON, FormatPDF}
}

// SummaryFormats are the formats of a summary.
func SummaryFormats() []string {
	return []string{FormatHTML, FormatJSON, FormatCSV, FormatXLSX, FormatPDF}
}

// Binary reports whether a format is not text (and should not go to a
// terminal).
func Binary(format string) bool {
	return format == FormatXLSX || format == FormatPDF
}

func badFormat(format string, want []string) error {
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(want, ", "))
}

// WriteIncident renders pm in format.
func WriteIncident(w io.Writer, pm *PostMortem, format string) error {
	switch format {
	case FormatMarkdown:
		return incidentMarkdown(w, pm)
	case FormatHTML:
		return renderHTML(w, "incident", pm)
	case FormatJSON:
		return writeJSON(w, pm)
	case FormatPDF:
		return incidentPDF(w, pm)
	}
	return badFormat(format, IncidentFormats())
}

// WriteSummary renders s in format.
func WriteSummary(w io.Writer, s *Summary, format string) error {
	switch format {
	case FormatHTML:
		return renderHTML(w, "summary", newSummaryPage(s))
	case FormatJSON:
		return writeJSON(w, s)
	case FormatCSV:
		return summaryCSV(w, s)
	case FormatXLSX:
		return summaryXLSX(w, s)
	case FormatPDF:
		return summaryPDF(w, s)
	}
	return badFormat(format, SummaryFormats())
}

// CheckFormat returns an error when format is not one of formats.
func CheckFormat(format string, formats []string) error {
	if slices.Contains(formats, format) {
		return nil
	}
	return badFormat(format, formats)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
