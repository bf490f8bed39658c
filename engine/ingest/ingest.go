// Package ingest holds the sources that feed the engine: files followed like
// `tail -F` with persisted offsets, any io.Reader (stdin), a syslog receiver
// (UDP and TCP) and a time-ordered merge of several sources for replay.
//
// Every source implements engine.Source: it never closes out, returns when
// ctx ends and waits for every goroutine it started.
package ingest

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// LineParser turns one line into an event. recognized=false: not an event
// (counted, not rejected). err != nil: reject with that reason.
type LineParser interface {
	Parse(line string, lineno int64) (ev engine.Event, recognized bool, err error)
}

// inPlaceParser is a LineParser that can also parse into an event it is
// given (parse.Parser does): the batcher has it fill the batch's next slot,
// which saves copying every event twice.
type inPlaceParser interface {
	// ParseTo is Parse into *ev, which is zero; on error it leaves *ev
	// zero.
	ParseTo(ev *engine.Event, line string, lineno int64) (recognized bool, err error)
}

// NewParser makes a parser for one input stream (parsers keep per-stream
// state such as sshd's pid-to-address memory).
type NewParser func(origin string) (LineParser, error)

// Defaults applied when an option is zero.
const (
	// DefaultBatchMax is the most events in one batch.
	DefaultBatchMax = 512
	// DefaultMaxLine is the longest line kept whole; the rest is skipped.
	DefaultMaxLine = 1 << 20
	// DefaultPoll is how often a followed file is checked.
	DefaultPoll = 250 * time.Millisecond
	// DefaultMaxMessage is the longest syslog message accepted.
	DefaultMaxMessage = 64 << 10
)

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// cutRaw keeps at most engine.RejectRawMax bytes of a rejected input.
func cutRaw(s string) string {
	if len(s) > engine.RejectRawMax {
		return s[:engine.RejectRawMax]
	}
	return s
}

func cutReason(maxLine int) string {
	return fmt.Sprintf("line longer than %d bytes cut", maxLine)
}

// send hands b to the engine unless ctx ends first.
func send(ctx context.Context, out chan<- engine.Batch, b engine.Batch) error {
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batcher accumulates the outcome of parsing lines into one engine.Batch.
// Event slices the engine released come back through free and are reused.
type batcher struct {
	origin string
	max    int
	b      engine.Batch
	free   chan []engine.Event
}

func newBatcher(origin string, max int) batcher {
	return batcher{origin: origin, max: max, free: make(chan []engine.Event, 4)}
}

// add parses one line (cut says it was longer than maxLine and was cut) and
// records the event or reject.
func (bt *batcher) add(p LineParser, raw string, lineno int64, cut bool, maxLine int) {
	if bt.b.Lines == 0 && len(bt.b.Rejects) == 0 {
		bt.b.Arrived = time.Now()
	}
	bt.b.Lines++
	if cut {
		bt.reject(lineno, cutReason(maxLine), raw)
	}
	if ip, ok := p.(inPlaceParser); ok {
		bt.addInPlace(ip, raw, lineno)
		return
	}
	ev, ok, err := p.Parse(raw, lineno)
	switch {
	case err != nil:
		bt.reject(lineno, err.Error(), raw)
	case ok:
		bt.events()
		bt.b.Events = append(bt.b.Events, ev)
		bt.finish(&bt.b.Events[len(bt.b.Events)-1], raw, lineno)
	}
}

// addInPlace is add's parse into the batch's next slot, which is zero:
// slots past the length never held an event, or were cleared by Release or
// below.
func (bt *batcher) addInPlace(p inPlaceParser, raw string, lineno int64) {
	evs := bt.events()
	if len(evs) == cap(evs) {
		evs = append(evs, engine.Event{})[:len(evs)]
	}
	ev := &evs[:len(evs)+1][len(evs)]
	ok, err := p.ParseTo(ev, raw, lineno)
	switch {
	case err != nil:
		bt.reject(lineno, err.Error(), raw)
	case ok:
		bt.b.Events = evs[:len(evs)+1]
		bt.finish(ev, raw, lineno)
	default:
		*ev = engine.Event{} // let the line go; keep the slot zero
	}
}

// events returns the batch's events, taking a released slice or making one
// when the batch has none yet.
func (bt *batcher) events() []engine.Event {
	if bt.b.Events == nil {
		select {
		case evs := <-bt.free:
			bt.b.Events = evs
		default:
			// One allocation per batch instead of log2(max) growth
			// copies of a large struct.
			bt.b.Events = make([]engine.Event, 0, bt.max)
		}
	}
	return bt.b.Events
}

// finish fills what the parser left to the source.
func (bt *batcher) finish(ev *engine.Event, raw string, lineno int64) {
	if ev.Origin == "" {
		ev.Origin = bt.origin
	}
	if ev.Line == 0 {
		ev.Line = lineno
	}
	if ev.Raw == "" {
		ev.Raw = raw
	}
	ev.Ident = engine.Identity(ev)
}

func (bt *batcher) reject(lineno int64, reason, raw string) {
	bt.b.Rejects = append(bt.b.Rejects, engine.Reject{Origin: bt.origin, Line: lineno, Reason: reason, Raw: cutRaw(raw)})
}

// full reports that the batch should go now: max events, or many lines that
// were not events (so that checkpoints advance through noise too).
func (bt *batcher) full() bool {
	return len(bt.b.Events) >= bt.max || bt.b.Lines >= 8*bt.max
}

func (bt *batcher) empty() bool { return bt.b.Lines == 0 && len(bt.b.Rejects) == 0 }

// take returns the batch built so far and starts a new one.
func (bt *batcher) take() engine.Batch {
	b := bt.b
	bt.b = engine.Batch{}
	if evs := b.Events; cap(evs) > 0 {
		free := bt.free
		b.Release = func() {
			clear(evs) // let the lines' strings go
			select {
			case free <- evs[:0]:
			default:
			}
		}
	}
	return b
}

// lineReader assembles newline-terminated lines from a bufio.Reader without
// ever holding more than max bytes of one line: the rest of a longer line is
// skipped. A partial line at EOF is kept, so a file that grows later
// completes it.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
	// n counts the bytes of the current line consumed from br, including
	// skipped ones.
	n   int64
	cut bool
}

// next returns the next line without its LF (or CRLF), the bytes it spanned
// in the input and whether it was cut. The line is valid until the next call.
// On EOF or another read error it returns the error and keeps the partial
// line.
func (lr *lineReader) next() (line []byte, size int64, cut bool, err error) {
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.n += int64(len(chunk))
		if err == nil {
			body := chunk[:len(chunk)-1]
			if len(lr.buf) == 0 && !lr.cut && len(body) <= lr.max {
				line = body // whole line in one chunk: no copy
			} else {
				lr.add(body)
				line = lr.buf
			}
			cut = lr.cut
			if !cut && len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			size = lr.n
			lr.buf, lr.n, lr.cut = lr.buf[:0], 0, false
			return line, size, cut, nil
		}
		lr.add(chunk)
		if err != bufio.ErrBufferFull {
			return nil, 0, false, err
		}
	}
}

func (lr *lineReader) add(p []byte) {
	if room := lr.max - len(lr.buf); len(p) > room {
		p = p[:room]
		lr.cut = true
	}
	lr.buf = append(lr.buf, p...)
}

// partial reports the unterminated line held after EOF and forgets it; ok is
// false when there is none.
func (lr *lineReader) partial() (line []byte, size int64, cut, ok bool) {
	if lr.n == 0 {
		return nil, 0, false, false
	}
	line, size, cut = lr.buf, lr.n, lr.cut
	if !cut && len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	lr.buf, lr.n, lr.cut = lr.buf[:0], 0, false
	return line, size, cut, true
}

// pending is how many bytes the held partial line spans.
func (lr *lineReader) pending() int64 { return lr.n }

// reset drops any partial line and reads from r next.
func (lr *lineReader) reset(r *bufio.Reader) {
	lr.br = r
	lr.buf, lr.n, lr.cut = lr.buf[:0], 0, false
}
