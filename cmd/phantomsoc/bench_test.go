package main

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine/parse"
)

// BenchmarkReplay200k is the whole replay (parse → detect → assess →
// decide → store, temp database) of a 200,000-line synthetic auth log.
func BenchmarkReplay200k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	if _, err := writeSynth(path, 1, 200000); err != nil {
		b.Fatal(err)
	}
	g := &globals{output: outputJSON}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := replay(b.Context(), io.Discard, nil, g, &inputOptions{format: "auto"}, []string{path}, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(200000*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkPipelineLine is one live line's path from arrival to decision,
// in process: parse, dedup, enrich, detect, assess, decide (no store).
func BenchmarkPipelineLine(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	data, err := writeSynth(path, 1, 200000)
	if err != nil {
		b.Fatal(err)
	}
	lines := splitLines(data)
	cfg, err := loadConfig("")
	if err != nil {
		b.Fatal(err)
	}
	st, err := buildStages(&cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p, err := parse.New(parse.Options{Format: parse.FormatSSHD, Ref: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev, ok, _ := p.Parse(lines[i%len(lines)], int64(i))
		if ok {
			st.pipeline.Process(&ev, nil)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
