package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine/parse"
)

// BenchmarkReplay200k is the whole replay (parse → detect → assess →
// decide → store, temp database) of a 200,000-line synthetic auth log.
func BenchmarkReplay200k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	if _, err := writeSynth(path, 1, 200000, 1); err != nil {
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
	data, err := writeSynth(path, 1, 200000, 1)
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

// TestReplayReturningWeeks replays a week and the same week written three
// times: the repeated log has the same population, so every source decided
// against in one week is decided against again in the two after, its
// offense count going on (the escalating TTLs remember it).
func TestReplayReturningWeeks(t *testing.T) {
	decided := func(repeat int) map[string][]int {
		t.Helper()
		path := filepath.Join(t.TempDir(), "auth.log")
		if _, err := writeSynth(path, 1, 10000, repeat); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		g := &globals{output: outputJSON}
		if _, err := replay(t.Context(), &out, nil, g, &inputOptions{format: "auto"}, []string{path}, ""); err != nil {
			t.Fatal(err)
		}
		offenses := map[string][]int{}
		for line := range strings.Lines(out.String()) {
			var d struct {
				Kind, Source string
				Offense      int
			}
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if d.Kind == "decision" {
				offenses[d.Source] = append(offenses[d.Source], d.Offense)
			}
		}
		return offenses
	}
	once, thrice := decided(1), decided(3)
	if len(once) == 0 {
		t.Fatal("no decisions on one week")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(once)), slices.Sorted(maps.Keys(thrice))) {
		t.Errorf("sources decided against: %d in one week, %d in three; want the same", len(once), len(thrice))
	}
	for src, offs := range once {
		got := thrice[src]
		// A later week may need fewer decisions: longer TTLs outlast
		// some of its attempts.
		if len(got) == 0 || slices.Max(got) < slices.Max(offs)+2 {
			t.Errorf("%s: offenses %v in one week, %v in three; want two more weeks of them", src, offs, got)
		}
	}
}
