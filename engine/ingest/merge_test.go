package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "gw1.log")
	b := filepath.Join(dir, "gw2.log")
	writeFile(t, a, joinLines([]string{
		"2024-01-05T10:00:01Z fail 198.51.100.1",
		"2024-01-05T10:00:03Z fail 198.51.100.3",
		"fail 198.51.100.4", // no time: sorts with the line before
		"noise",
		"2024-01-05T10:00:05Z fail 198.51.100.6",
		"2024-01-05T10:00:09Z bad 198.51.100.9",
		"2024-01-05T10:00:10Z fail 198.51.100.10",
	}))
	writeFile(t, b, joinLines([]string{
		"2024-01-05T10:00:02Z fail 203.0.113.2",
		"2024-01-05T10:00:03Z fail 203.0.113.3", // tie: after gw1's
		"2024-01-05T10:00:04Z fail 203.0.113.5",
		"2024-01-05T10:00:07Z fail 203.0.113.7",
	}))
	want := []string{
		"2024-01-05T10:00:01Z fail 198.51.100.1",
		"2024-01-05T10:00:02Z fail 203.0.113.2",
		"2024-01-05T10:00:03Z fail 198.51.100.3",
		"fail 198.51.100.4",
		"2024-01-05T10:00:03Z fail 203.0.113.3",
		"2024-01-05T10:00:04Z fail 203.0.113.5",
		"2024-01-05T10:00:05Z fail 198.51.100.6",
		"2024-01-05T10:00:07Z fail 203.0.113.7",
		"2024-01-05T10:00:10Z fail 198.51.100.10",
	}
	for _, batchMax := range []int{1, 2, 512} {
		for run := range 5 {
			m := NewMerge("replay", newTestFile(t, FileOptions{Path: a, BatchMax: batchMax}), newTestFile(t, FileOptions{Path: b, BatchMax: batchMax}))
			bs := readAll(t, m)
			if got := raws(bs); !slices.Equal(got, want) {
				t.Fatalf("batchMax %d run %d: merged = %q, want %q", batchMax, run, got, want)
			}
			if got := reasons(bs); !slices.Equal(got, []string{"bad line"}) {
				t.Errorf("rejects = %q, want the one bad line", got)
			}
			if n := totalLines(bs); n != 11 {
				t.Errorf("lines = %d, want 11", n)
			}
			final := map[string]engine.Checkpoint{}
			for _, b := range bs {
				if b.Checkpoint != nil {
					final[b.Checkpoint.Origin] = *b.Checkpoint
				}
			}
			for _, path := range []string{a, b} {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if cp := final[path]; cp.Offset != st.Size() {
					t.Errorf("last checkpoint of %s = %+v, want offset %d", path, cp, st.Size())
				}
			}
		}
	}
}

func TestMergeSingleIsPassthrough(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	writeFile(t, path, joinLines(failLines(1, 4)))
	bs := readAll(t, NewMerge("one", newTestFile(t, FileOptions{Path: path})))
	if got := raws(bs); !slices.Equal(got, failLines(1, 4)) {
		t.Errorf("events = %q", got)
	}
}

type failingSource struct{}

func (failingSource) Name() string { return "failing" }

func (failingSource) Run(context.Context, chan<- engine.Batch) error {
	return errors.New("disk on fire")
}

func TestMergeSourceError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	writeFile(t, path, joinLines(failLines(1, 4)))
	m := NewMerge("replay", newTestFile(t, FileOptions{Path: path, BatchMax: 1}), failingSource{})
	out := make(chan engine.Batch)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(t.Context(), out) }()
	for {
		select {
		case <-out:
			continue
		case err := <-errc:
			if err == nil {
				t.Errorf("Run = nil, want the sub-source's error")
			}
		}
		break
	}
}
