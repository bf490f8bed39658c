// Package report renders post-mortems of incidents and summaries of a
// period as Markdown, HTML, JSON, CSV, XLSX and PDF.
//
// It never reads the store. cmd/phantomsoc fills an input model — an
// Incident (the incident and everything it links to) or an Activity
// (what happened in a period) — from the store; NewPostMortem and
// NewSummary turn it into a document, deterministically (no clock, no map
// order), and the Write functions render that document. The JSON format is
// the document itself, so every other format shows only what JSON holds.
package report
