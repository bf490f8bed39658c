package ingest

import (
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		maxLine     int
		want        []string
		wantRejects []string
		wantLines   int
	}{
		{name: "empty", input: ""},
		{
			name:      "lines",
			input:     "fail 198.51.100.1\nnoise\nfail 203.0.113.9\n",
			want:      []string{"fail 198.51.100.1", "fail 203.0.113.9"},
			wantLines: 3,
		},
		{
			name:      "no final newline",
			input:     "fail 198.51.100.1\nfail 203.0.113.9",
			want:      []string{"fail 198.51.100.1", "fail 203.0.113.9"},
			wantLines: 2,
		},
		{
			name:        "cut line",
			input:       "fail 198.51.100.1 " + strings.Repeat("y", 40) + "\nfail 203.0.113.9\n",
			maxLine:     20,
			want:        []string{"fail 198.51.100.1 yy", "fail 203.0.113.9"},
			wantRejects: []string{"line longer than 20 bytes cut"},
			wantLines:   2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := readAll(t, NewReader("stdin", strings.NewReader(tc.input), fakeParser{}, ReaderOptions{MaxLine: tc.maxLine}))
			if got := raws(bs); !slices.Equal(got, tc.want) {
				t.Errorf("events = %q, want %q", got, tc.want)
			}
			var reasons []string
			lines := 0
			for _, b := range bs {
				lines += b.Lines
				if b.Checkpoint != nil {
					t.Errorf("reader batch has checkpoint %+v", b.Checkpoint)
				}
				for _, r := range b.Rejects {
					reasons = append(reasons, r.Reason)
				}
			}
			if !slices.Equal(reasons, tc.wantRejects) || lines != tc.wantLines {
				t.Errorf("rejects %q lines %d, want %q %d", reasons, lines, tc.wantRejects, tc.wantLines)
			}
			for _, ev := range events(bs) {
				if ev.Origin != "stdin" {
					t.Errorf("event origin %q, want stdin", ev.Origin)
				}
			}
		})
	}
}

// TestReaderPause checks that lines are sent when the input pauses, not only
// at EOF or a full batch.
func TestReaderPause(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := start(t, NewReader("stdin", pr, fakeParser{}, ReaderOptions{}))
	if _, err := io.WriteString(pw, "fail 198.51.100.1\nfail 198.51.100.2\n"); err != nil {
		t.Fatal(err)
	}
	r.waitEvents(2)
	pw.Close()
	select {
	case err := <-r.errc:
		r.stopped = true
		if err != nil {
			t.Errorf("Run = %v at EOF, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return at EOF")
	}
}

// TestReaderCancelBlocked checks that a Read blocked on a reader with
// deadlines is interrupted when ctx ends.
func TestReaderCancelBlocked(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	r := start(t, NewReader("conn", c1, fakeParser{}, ReaderOptions{}))
	go func() { _, _ = io.WriteString(c2, "fail 198.51.100.1\n") }()
	r.waitEvents(1)
	done := make(chan error, 1)
	go func() { done <- r.stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after cancel")
	}
}
