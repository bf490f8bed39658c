package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// FileOptions configures a File source.
type FileOptions struct {
	Path   string
	Parser NewParser
	// Start is the checkpoint persisted by the store; nil reads from the
	// beginning (or the end, with FromEnd).
	Start *engine.Checkpoint
	// Follow keeps reading as the file grows and is rotated; false reads to
	// EOF, consumes a final unterminated line and returns nil.
	Follow bool
	// FromEnd starts at the end of the file when there is no checkpoint,
	// like tail. Line numbers then count from where reading started.
	FromEnd bool
	// Poll is how often a followed file is checked for growth and rotation
	// (default 250ms).
	Poll time.Duration
	// MaxLine bounds one line (default 1 MiB); the rest of a longer line is
	// skipped and the cut is rejected.
	MaxLine  int
	BatchMax int
	Logger   *slog.Logger
}

// File follows one log file like `tail -F`, emitting a checkpoint with every
// batch so that a restart neither re-reads nor skips a line.
type File struct {
	o   FileOptions
	log *slog.Logger
}

// NewFile validates o and applies its defaults.
func NewFile(o FileOptions) (*File, error) {
	if o.Path == "" {
		return nil, errors.New("file source: empty path")
	}
	if o.Parser == nil {
		return nil, fmt.Errorf("file source %s: no parser", o.Path)
	}
	o.Poll = orDefault(o.Poll, DefaultPoll)
	o.MaxLine = orDefault(o.MaxLine, DefaultMaxLine)
	o.BatchMax = orDefault(o.BatchMax, DefaultBatchMax)
	return &File{o: o, log: orDiscard(o.Logger).With("component", "ingest", "source", "file", "path", o.Path)}, nil
}

// Name returns "file:" and the path.
func (f *File) Name() string { return "file:" + f.o.Path }

// Run reads the file from its start position. Without Follow it returns nil
// at EOF; with Follow it returns nil when ctx ends. Run may be called again
// (with a new Start) after it returned.
func (f *File) Run(ctx context.Context, out chan<- engine.Batch) error {
	p, err := f.o.Parser(f.o.Path)
	if err != nil {
		return fmt.Errorf("file source %s: new parser: %w", f.o.Path, err)
	}
	t := &tail{
		File: f,
		p:    p,
		br:   bufio.NewReaderSize(nil, 64<<10),
		bt:   newBatcher(f.o.Path, f.o.BatchMax),
	}
	t.lr.max = f.o.MaxLine
	defer t.closeFD()
	err = t.run(ctx, out)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// tail is the state of one Run: the open file and the consumed position in it.
type tail struct {
	*File
	p   LineParser
	fd  *os.File // nil while waiting for the path to (re)appear
	ino uint64
	br  *bufio.Reader
	lr  lineReader
	bt  batcher
	// off is the byte offset just after the last consumed line, line its
	// number: together they are the checkpoint.
	off  int64
	line int64
}

func (t *tail) run(ctx context.Context, out chan<- engine.Batch) error {
	if err := t.start(ctx, out); err != nil {
		return err
	}
	if !t.o.Follow {
		if t.fd == nil {
			return nil
		}
		return t.drain(ctx, out, true)
	}
	timer := time.NewTimer(t.o.Poll)
	defer timer.Stop()
	for {
		if t.fd != nil {
			if err := t.drain(ctx, out, false); err != nil {
				return err
			}
		}
		timer.Reset(t.o.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := t.check(ctx, out); err != nil {
			return err
		}
	}
}

// start opens the file and positions it according to the checkpoint,
// finishing a file that was rotated away while we were down.
func (t *tail) start(ctx context.Context, out chan<- engine.Batch) error {
	fd, err := os.Open(t.o.Path)
	if err != nil && (!t.o.Follow || !errors.Is(err, fs.ErrNotExist)) {
		return fmt.Errorf("open %s: %w", t.o.Path, err)
	}
	var ino uint64
	var size int64
	if fd != nil {
		st, err := fd.Stat()
		if err != nil {
			fd.Close()
			return fmt.Errorf("stat %s: %w", t.o.Path, err)
		}
		ino, size = inode(st), st.Size()
	}
	cp := t.o.Start
	switch {
	case fd != nil && cp != nil && cp.Inode == ino:
		if size < cp.Offset {
			t.log.Info("file shrank below checkpoint, reading from the start", "offset", cp.Offset, "size", size)
			return t.use(fd, ino, 0, 0)
		}
		return t.use(fd, ino, cp.Offset, cp.Line)
	case cp != nil:
		if err := t.finishRotated(ctx, out, cp); err != nil {
			if fd != nil {
				fd.Close()
			}
			return err
		}
		if fd == nil {
			return nil
		}
		return t.use(fd, ino, 0, 0)
	case fd != nil && t.o.FromEnd:
		off, err := lastLineEnd(fd, size)
		if err != nil {
			fd.Close()
			return fmt.Errorf("find end of %s: %w", t.o.Path, err)
		}
		return t.use(fd, ino, off, 0)
	case fd != nil:
		return t.use(fd, ino, 0, 0)
	}
	return nil
}

// finishRotated reads the rest of the file the checkpoint points into when
// the path now names another file: it looks for the checkpoint's inode in the
// same directory (auth.log.1) and reads it from the checkpoint to its end.
func (t *tail) finishRotated(ctx context.Context, out chan<- engine.Batch, cp *engine.Checkpoint) error {
	old, name := findInode(filepath.Dir(t.o.Path), cp.Inode)
	if old == nil {
		t.log.Warn("checkpointed file not found, reading the current file from the start", "inode", cp.Inode)
		return nil
	}
	st, err := old.Stat()
	if err != nil || st.Size() < cp.Offset {
		old.Close()
		t.log.Warn("rotated file shrank below checkpoint, skipping it", "rotated", name)
		return nil
	}
	t.log.Info("finishing file rotated while stopped", "rotated", name, "offset", cp.Offset)
	if err := t.use(old, cp.Inode, cp.Offset, cp.Line); err != nil {
		return err
	}
	err = t.drain(ctx, out, true)
	t.closeFD()
	return err
}

// check looks for rotation: a new file at the path (rename and recreate) is
// switched to once the old one is drained; a file shrunk below what we read
// (copytruncate) is read again from the start.
func (t *tail) check(ctx context.Context, out chan<- engine.Batch) error {
	if t.fd == nil {
		return t.reopen()
	}
	st, err := os.Stat(t.o.Path)
	if err != nil {
		// Between rename and create, or gone for good: keep reading the old
		// file, late writes to it still count.
		return nil
	}
	if inode(st) != t.ino {
		if err := t.drain(ctx, out, true); err != nil {
			return err
		}
		t.log.Info("file rotated, switching to the new file", "old_inode", t.ino, "inode", inode(st))
		t.closeFD()
		return t.reopen()
	}
	fst, err := t.fd.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", t.o.Path, err)
	}
	if read := t.off + t.lr.pending(); fst.Size() < read {
		t.log.Info("file truncated, reading from the start", "offset", read, "size", fst.Size())
		return t.use(t.fd, t.ino, 0, 0)
	}
	return nil
}

// reopen opens the path from its start; a missing file is waited for.
func (t *tail) reopen() error {
	fd, err := os.Open(t.o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", t.o.Path, err)
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return fmt.Errorf("stat %s: %w", t.o.Path, err)
	}
	return t.use(fd, inode(st), 0, 0)
}

// use makes fd the file being read, from off with line numbers after line.
func (t *tail) use(fd *os.File, ino uint64, off, line int64) error {
	if _, err := fd.Seek(off, io.SeekStart); err != nil {
		fd.Close()
		return fmt.Errorf("seek %s to %d: %w", t.o.Path, off, err)
	}
	if t.fd != nil && t.fd != fd {
		t.fd.Close()
	}
	t.fd, t.ino, t.off, t.line = fd, ino, off, line
	t.br.Reset(fd)
	t.lr.reset(t.br)
	return nil
}

func (t *tail) closeFD() {
	if t.fd != nil {
		t.fd.Close()
		t.fd = nil
	}
}

// drain reads and emits every complete line up to EOF; final also consumes
// an unterminated last line (the file will not grow any more).
func (t *tail) drain(ctx context.Context, out chan<- engine.Batch, final bool) error {
	for {
		line, size, cut, err := t.lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("read %s: %w", t.o.Path, err)
			}
			if final {
				if line, size, cut, ok := t.lr.partial(); ok {
					t.consume(line, size, cut)
				}
			}
			break
		}
		t.consume(line, size, cut)
		if t.bt.full() {
			if err := t.flush(ctx, out); err != nil {
				return err
			}
		}
	}
	if t.bt.empty() {
		return nil
	}
	return t.flush(ctx, out)
}

func (t *tail) consume(line []byte, size int64, cut bool) {
	t.off += size
	t.line++
	t.bt.add(t.p, string(line), t.line, cut, t.o.MaxLine)
}

func (t *tail) flush(ctx context.Context, out chan<- engine.Batch) error {
	b := t.bt.take()
	b.Checkpoint = &engine.Checkpoint{Origin: t.o.Path, Inode: t.ino, Offset: t.off, Line: t.line}
	return send(ctx, out, b)
}

// findInode opens the regular file in dir with inode ino.
func findInode(dir string, ino uint64) (*os.File, string) {
	if ino == 0 {
		return nil, ""
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, ""
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || inode(fi) != ino {
			continue
		}
		name := filepath.Join(dir, e.Name())
		fd, err := os.Open(name)
		if err != nil {
			return nil, ""
		}
		// The name may have moved on between ReadDir and Open.
		if st, err := fd.Stat(); err != nil || inode(st) != ino {
			fd.Close()
			return nil, ""
		}
		return fd, name
	}
	return nil, ""
}

// lastLineEnd returns the offset just after the last newline near the end of
// the file, so that starting from the end never begins mid-line.
func lastLineEnd(fd *os.File, size int64) (int64, error) {
	const window = 64 << 10
	from := max(size-window, 0)
	buf := make([]byte, size-from)
	if _, err := fd.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	for i := len(buf) - 1; i >= 0; i-- {
		if buf[i] == '\n' {
			return from + int64(i) + 1, nil
		}
	}
	if from == 0 {
		return 0, nil
	}
	return size, nil
}
