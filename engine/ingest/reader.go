package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// MaxLine bounds one line (default 1 MiB).
	MaxLine  int
	BatchMax int
}

// Reader reads lines from any io.Reader until EOF: stdin for
// `phantomsoc ingest -`, or a file read once. It emits no checkpoints.
type Reader struct {
	name string
	r    io.Reader
	p    LineParser
	o    ReaderOptions
}

// NewReader returns a source reading r; name is the origin of its events.
func NewReader(name string, r io.Reader, p LineParser, opts ReaderOptions) *Reader {
	opts.MaxLine = orDefault(opts.MaxLine, DefaultMaxLine)
	opts.BatchMax = orDefault(opts.BatchMax, DefaultBatchMax)
	return &Reader{name: name, r: r, p: p, o: opts}
}

// Name returns the name given to NewReader.
func (r *Reader) Name() string { return r.name }

// deadliner is a reader whose blocked Read can be interrupted (net.Conn,
// pipes opened non-blocking).
type deadliner interface {
	SetReadDeadline(t time.Time) error
}

// Run reads to EOF, consuming a final unterminated line. When ctx ends it
// returns nil; a Read that is already blocked is interrupted only if r has
// SetReadDeadline, otherwise Run returns once that Read does.
func (r *Reader) Run(ctx context.Context, out chan<- engine.Batch) error {
	if d, ok := r.r.(deadliner); ok {
		done := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(done)
			_ = d.SetReadDeadline(time.Unix(1, 0))
		})
		defer func() {
			if !stop() {
				<-done
			}
		}()
	}
	err := r.run(ctx, out)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (r *Reader) run(ctx context.Context, out chan<- engine.Batch) error {
	br := bufio.NewReaderSize(r.r, 64<<10)
	lr := lineReader{br: br, max: r.o.MaxLine}
	bt := newBatcher(r.name, r.o.BatchMax)
	// A regular file never pauses; anything else (a pipe, a terminal) may
	// block on the next read, so what was read is sent first.
	pauses := true
	if f, ok := r.r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			pauses = false
		}
	}
	var lineno int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if pauses && br.Buffered() == 0 && !bt.empty() {
			if err := send(ctx, out, bt.take()); err != nil {
				return err
			}
		}
		line, _, cut, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("read %s: %w", r.name, err)
			}
			if line, _, cut, ok := lr.partial(); ok {
				lineno++
				bt.add(r.p, string(line), lineno, cut, r.o.MaxLine)
			}
			if bt.empty() {
				return nil
			}
			return send(ctx, out, bt.take())
		}
		lineno++
		bt.add(r.p, string(line), lineno, cut, r.o.MaxLine)
		if bt.full() {
			if err := send(ctx, out, bt.take()); err != nil {
				return err
			}
		}
	}
}
