package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

const testPoll = 5 * time.Millisecond

func newTestFile(t *testing.T, o FileOptions) *File {
	t.Helper()
	if o.Parser == nil {
		o.Parser = newFake
	}
	if o.Poll == 0 {
		o.Poll = testPoll
	}
	f, err := NewFile(o)
	if err != nil {
		t.Fatalf("NewFile(%+v) = %v", o, err)
	}
	return f
}

func TestFileReadToEOF(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		batchMax    int
		want        []string
		wantRejects []string
		wantLines   int
	}{
		{name: "empty", input: ""},
		{
			name:      "lines and noise",
			input:     "fail 198.51.100.1\nsession opened\nfail 198.51.100.2\n",
			want:      []string{"fail 198.51.100.1", "fail 198.51.100.2"},
			wantLines: 3,
		},
		{
			name:      "final line without newline",
			input:     "fail 198.51.100.1\nfail 198.51.100.2",
			want:      []string{"fail 198.51.100.1", "fail 198.51.100.2"},
			wantLines: 2,
		},
		{
			name:      "crlf",
			input:     "fail 198.51.100.1\r\nfail 2001:db8::1\r\n",
			want:      []string{"fail 198.51.100.1", "fail 2001:db8::1"},
			wantLines: 2,
		},
		{
			name:      "nul and invalid utf-8 as-is",
			input:     "fail 198.51.100.1 \x00\xff\xfe\n\n",
			want:      []string{"fail 198.51.100.1 \x00\xff\xfe"},
			wantLines: 2,
		},
		{
			name:        "parser reject",
			input:       "bad 198.51.100.1\nfail 198.51.100.2\n",
			want:        []string{"fail 198.51.100.2"},
			wantRejects: []string{"bad line"},
			wantLines:   2,
		},
		{
			name:      "small batches",
			input:     joinLines(failLines(1, 10)),
			batchMax:  3,
			want:      failLines(1, 10),
			wantLines: 10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "auth.log")
			writeFile(t, path, tc.input)
			bs := readAll(t, newTestFile(t, FileOptions{Path: path, BatchMax: tc.batchMax}))
			if got := raws(bs); !slices.Equal(got, tc.want) {
				t.Errorf("events = %q, want %q", got, tc.want)
			}
			var reasons []string
			for _, r := range rejects(bs) {
				reasons = append(reasons, r.Reason)
			}
			if !slices.Equal(reasons, tc.wantRejects) {
				t.Errorf("rejects = %q, want %q", reasons, tc.wantRejects)
			}
			lines := 0
			for _, b := range bs {
				lines += b.Lines
				if max := tc.batchMax; max > 0 && len(b.Events) > max {
					t.Errorf("batch of %d events, want at most %d", len(b.Events), max)
				}
				if b.Arrived.IsZero() {
					t.Errorf("batch without Arrived")
				}
			}
			if lines != tc.wantLines {
				t.Errorf("lines = %d, want %d", lines, tc.wantLines)
			}
			if tc.wantLines == 0 {
				return
			}
			cp := lastCheckpoint(bs)
			if cp == nil || cp.Offset != int64(len(tc.input)) || cp.Line != int64(tc.wantLines) || cp.Origin != path {
				t.Errorf("last checkpoint = %+v, want offset %d line %d", cp, len(tc.input), tc.wantLines)
			}
		})
	}
}

func TestFileEventLineNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	writeFile(t, path, "noise\nfail 198.51.100.1\nnoise\nfail 198.51.100.2\n")
	evs := events(readAll(t, newTestFile(t, FileOptions{Path: path})))
	if len(evs) != 2 || evs[0].Line != 2 || evs[1].Line != 4 || evs[0].Origin != path {
		t.Errorf("events = %+v, want lines 2 and 4 from %s", evs, path)
	}
	for i := range evs {
		if ev := &evs[i]; ev.Ident == 0 || ev.Ident != engine.Identity(ev) {
			t.Errorf("event %d: Ident = %x, want its fingerprint %x", i, ev.Ident, engine.Identity(ev))
		}
	}
}

func TestFileLoghubSample(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "public", "loghub", "OpenSSH_2k.log")
	st, err := os.Stat(path)
	if err != nil {
		t.Skipf("sample not present: %v", err)
	}
	bs := readAll(t, newTestFile(t, FileOptions{Path: path}))
	lines := 0
	for _, b := range bs {
		lines += b.Lines
	}
	cp := lastCheckpoint(bs)
	if lines != 2000 || cp == nil || cp.Offset != st.Size() || cp.Line != 2000 {
		t.Errorf("read %d lines, checkpoint %+v; want 2000 lines up to offset %d", lines, cp, st.Size())
	}
}

func TestFileFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	writeFile(t, path, joinLines(failLines(1, 3)))
	if got := raws(readAll(t, newTestFile(t, FileOptions{Path: path, FromEnd: true}))); len(got) != 0 {
		t.Errorf("FromEnd read %q, want nothing", got)
	}
}

func TestFileMissing(t *testing.T) {
	f := newTestFile(t, FileOptions{Path: filepath.Join(t.TempDir(), "nope.log")})
	if err := f.Run(t.Context(), make(chan engine.Batch)); err == nil {
		t.Errorf("Run on a missing file without Follow = nil, want an error")
	}
}

// TestFileResume simulates a crash after each batch: a new File started from
// that batch's checkpoint must read exactly the remaining lines.
func TestFileResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	input := failLines(1, 20)
	// Noise lines between events make offsets and line numbers differ.
	var content []string
	for _, l := range input {
		content = append(content, l, "noise")
	}
	writeFile(t, path, joinLines(content))
	first := readAll(t, newTestFile(t, FileOptions{Path: path, BatchMax: 3}))
	if len(first) < 3 {
		t.Fatalf("got %d batches, want several", len(first))
	}
	for k := range first {
		cp := first[k].Checkpoint
		if cp == nil {
			t.Fatalf("batch %d has no checkpoint", k)
		}
		start := *cp
		rest := readAll(t, newTestFile(t, FileOptions{Path: path, BatchMax: 3, Start: &start}))
		got := append(raws(first[:k+1]), raws(rest)...)
		if !slices.Equal(got, input) {
			t.Errorf("crash after batch %d (checkpoint %+v): union = %q, want %q", k, start, got, input)
		}
		for i, ev := range events(append(slices.Clone(first[:k+1]), rest...)) {
			if want := int64(2*i + 1); ev.Line != want {
				t.Errorf("crash after batch %d: event %d line = %d, want %d", k, i, ev.Line, want)
			}
		}
	}
}

func TestFileResumeTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	writeFile(t, path, joinLines(failLines(1, 2)))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	start := &engine.Checkpoint{Origin: path, Inode: inode(st), Offset: 1000, Line: 40}
	got := raws(readAll(t, newTestFile(t, FileOptions{Path: path, Start: start})))
	if want := failLines(1, 2); !slices.Equal(got, want) {
		t.Errorf("after truncation read %q, want %q", got, want)
	}
}

func TestFileRotatedWhileDown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	writeFile(t, path, joinLines(failLines(1, 5)))
	first := readAll(t, newTestFile(t, FileOptions{Path: path, BatchMax: 3}))
	cp := first[0].Checkpoint
	if cp == nil || cp.Line != 3 {
		t.Fatalf("first checkpoint = %+v, want line 3", cp)
	}
	// Down: more lines arrive, then the file is rotated and a new one made.
	appendFile(t, path, joinLines(failLines(6, 7)))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, joinLines(failLines(8, 9)))

	rest := readAll(t, newTestFile(t, FileOptions{Path: path, Start: cp}))
	if got, want := raws(rest), failLines(4, 9); !slices.Equal(got, want) {
		t.Errorf("after restart read %q, want %q", got, want)
	}
	last := lastCheckpoint(rest)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if last == nil || last.Inode != inode(st) || last.Offset != st.Size() || last.Line != 2 {
		t.Errorf("last checkpoint = %+v, want the new file's inode %d at offset %d line 2", last, inode(st), st.Size())
	}
}

func TestFileLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	long := "fail 198.51.100.7 " + strings.Repeat("x", DefaultMaxLine+1-len("fail 198.51.100.7 "))
	input := long + "\nfail 198.51.100.8\n"
	writeFile(t, path, input)
	bs := readAll(t, newTestFile(t, FileOptions{Path: path}))
	evs := events(bs)
	if len(evs) != 2 || evs[0].Raw != long[:DefaultMaxLine] || evs[1].Raw != "fail 198.51.100.8" || evs[1].Line != 2 {
		t.Fatalf("got %d events (first %d bytes), want the cut line (%d bytes) and line 2", len(evs), len(evs[0].Raw), DefaultMaxLine)
	}
	rs := rejects(bs)
	if len(rs) != 1 || rs[0].Reason != "line longer than 1048576 bytes cut" || rs[0].Line != 1 || len(rs[0].Raw) != engine.RejectRawMax {
		t.Errorf("rejects = %d %+v, want one cut reject for line 1", len(rs), rs)
	}
	if cp := lastCheckpoint(bs); cp == nil || cp.Offset != int64(len(input)) || cp.Line != 2 {
		t.Errorf("checkpoint = %+v, want offset %d line 2", cp, len(input))
	}
}

func TestFileFollowPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	writeFile(t, path, "fail 198.51.100.1\nfail 198.51")
	r := start(t, newTestFile(t, FileOptions{Path: path, Follow: true}))
	r.waitEvents(1)
	if cp := lastCheckpoint(r.batches); cp == nil || cp.Offset != int64(len("fail 198.51.100.1\n")) || cp.Line != 1 {
		t.Errorf("checkpoint = %+v, want it before the partial line", cp)
	}
	appendFile(t, path, ".100.2\n")
	r.waitEvents(2)
	evs := events(r.batches)
	if len(evs) != 2 || evs[1].Raw != "fail 198.51.100.2" || evs[1].Line != 2 {
		t.Errorf("events = %q, want the completed line as line 2", raws(r.batches))
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

func TestFileFollowMissingThenCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	r := start(t, newTestFile(t, FileOptions{Path: path, Follow: true}))
	writeFile(t, path, joinLines(failLines(1, 2)))
	r.waitEvents(2)
	if got := raws(r.batches); !slices.Equal(got, failLines(1, 2)) {
		t.Errorf("events = %q", got)
	}
}

func TestFileFollowRenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	writeFile(t, path, joinLines(failLines(1, 5)))
	r := start(t, newTestFile(t, FileOptions{Path: path, Follow: true, BatchMax: 4}))
	r.waitEvents(5)

	// The writer keeps its descriptor across the rename, as syslog daemons
	// do until they are told to reopen.
	w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(joinLines(failLines(6, 8))); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(joinLines(failLines(9, 10))); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, joinLines(failLines(11, 13)))
	r.waitEvents(13)
	appendFile(t, path, joinLines(failLines(14, 15)))
	r.waitEvents(15)

	if got, want := raws(r.batches), failLines(1, 15); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if cp := lastCheckpoint(r.batches); cp == nil || cp.Inode != inode(st) || cp.Offset != st.Size() || cp.Line != 5 {
		t.Errorf("last checkpoint = %+v, want inode %d offset %d line 5", cp, inode(st), st.Size())
	}
}

func TestFileFollowCopyTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	// Long lines before, short after: the truncated file stays smaller than
	// what was read, which is what makes copytruncate detectable.
	var before []string
	for _, l := range failLines(1, 5) {
		before = append(before, l+" "+strings.Repeat("p", 40))
	}
	writeFile(t, path, joinLines(before))
	r := start(t, newTestFile(t, FileOptions{Path: path, Follow: true}))
	r.waitEvents(5)

	writeFile(t, path+".1", joinLines(before))
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, joinLines(failLines(6, 8)))
	r.waitEvents(8)
	want := append(slices.Clone(before), failLines(6, 8)...)
	if got := raws(r.batches); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if evs := events(r.batches); evs[5].Line != 1 {
		t.Errorf("first line after truncation numbered %d, want 1", evs[5].Line)
	}
}
