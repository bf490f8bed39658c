package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

// countParser is the cheapest parser that still makes every line an event.
type countParser struct{}

func (countParser) Parse(line string, lineno int64) (engine.Event, bool, error) {
	return engine.Event{Type: engine.TypeSSHAuthFailure, Raw: line}, true, nil
}

func BenchmarkFileRead(b *testing.B) {
	const lines = 100_000
	path := filepath.Join(b.TempDir(), "auth.log")
	var sb strings.Builder
	for i := range lines {
		sb.WriteString("Jan  5 10:00:01 gw1 sshd[" + strconv.Itoa(i) + "]: Failed password for root from 198.51.100.7 port 52211 ssh2\n")
	}
	if err := writeBench(path, sb.String()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	iters := 0
	for b.Loop() {
		f, err := NewFile(FileOptions{Path: path, Parser: func(string) (LineParser, error) { return countParser{}, nil }})
		if err != nil {
			b.Fatal(err)
		}
		out := make(chan engine.Batch, 4)
		done := make(chan int)
		go func() {
			n := 0
			for bt := range out {
				n += bt.Lines
			}
			done <- n
		}()
		err = f.Run(context.Background(), out)
		close(out)
		if n := <-done; err != nil || n != lines {
			b.Fatalf("Run = %v after %d lines, want %d", err, n, lines)
		}
		iters++
	}
	b.ReportMetric(float64(iters*lines)/b.Elapsed().Seconds(), "lines/s")
}

func writeBench(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
