package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

const (
	outputTable = "table"
	outputJSON  = "json"
)

func validateOutput(o string) error {
	switch o {
	case outputTable, outputJSON:
		return nil
	}
	return fmt.Errorf("--output %q: want table or json", o)
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}
