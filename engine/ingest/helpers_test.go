package ingest

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// fakeParser recognises any line holding an address; an optional RFC 3339
// first field is the event time, and a "bad" field makes the line a reject.
type fakeParser struct{}

func (fakeParser) Parse(line string, lineno int64) (engine.Event, bool, error) {
	f := strings.Fields(line)
	var ev engine.Event
	if len(f) > 0 {
		if t, err := time.Parse(time.RFC3339, f[0]); err == nil {
			ev.Time, f = t, f[1:]
		}
	}
	for _, w := range f {
		if w == "bad" {
			return engine.Event{}, false, errors.New("bad line")
		}
	}
	for _, w := range f {
		if a, err := netip.ParseAddr(w); err == nil {
			ev.Type, ev.Indicator, ev.Source = engine.TypeSSHAuthFailure, true, a
			return ev, true, nil
		}
	}
	return engine.Event{}, false, nil
}

func newFake(string) (LineParser, error) { return fakeParser{}, nil }

// waitLimit bounds every wait for a condition; it is a deadline, never a
// delay.
const waitLimit = 20 * time.Second

// readAll runs a source that ends by itself and returns its batches.
func readAll(t *testing.T, src engine.Source) []engine.Batch {
	t.Helper()
	out := make(chan engine.Batch)
	errc := make(chan error, 1)
	go func() { errc <- src.Run(t.Context(), out) }()
	var bs []engine.Batch
	for {
		select {
		case b := <-out:
			bs = append(bs, b)
		case err := <-errc:
			if err != nil {
				t.Fatalf("%s: Run = %v", src.Name(), err)
			}
			return bs
		}
	}
}

// running is a source running in the background.
type running struct {
	t       *testing.T
	out     chan engine.Batch
	errc    chan error
	cancel  context.CancelFunc
	batches []engine.Batch
	stopped bool
}

func start(t *testing.T, src engine.Source) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{t: t, out: make(chan engine.Batch), errc: make(chan error, 1), cancel: cancel}
	go func() { r.errc <- src.Run(ctx, r.out) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// waitFor receives batches until cond holds for all received so far.
func (r *running) waitFor(what string, cond func([]engine.Batch) bool) {
	r.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for !cond(r.batches) {
		select {
		case b := <-r.out:
			r.batches = append(r.batches, b)
		case err := <-r.errc:
			r.stopped = true
			r.t.Fatalf("source returned early (%v) waiting for %s; got %q", err, what, raws(r.batches))
		case <-deadline.C:
			r.t.Fatalf("timed out waiting for %s; got %q", what, raws(r.batches))
		}
	}
}

func (r *running) waitEvents(n int) {
	r.t.Helper()
	r.waitFor(strconv.Itoa(n)+" events", func(bs []engine.Batch) bool { return len(events(bs)) >= n })
}

// stop cancels the source and returns what Run returned.
func (r *running) stop() error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	r.cancel()
	for {
		select {
		case b := <-r.out:
			r.batches = append(r.batches, b)
		case err := <-r.errc:
			return err
		}
	}
}

func events(bs []engine.Batch) []engine.Event {
	var evs []engine.Event
	for _, b := range bs {
		evs = append(evs, b.Events...)
	}
	return evs
}

func raws(bs []engine.Batch) []string {
	var rs []string
	for _, ev := range events(bs) {
		rs = append(rs, ev.Raw)
	}
	return rs
}

func rejects(bs []engine.Batch) []engine.Reject {
	var rs []engine.Reject
	for _, b := range bs {
		rs = append(rs, b.Rejects...)
	}
	return rs
}

func lastCheckpoint(bs []engine.Batch) *engine.Checkpoint {
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].Checkpoint != nil {
			return bs[i].Checkpoint
		}
	}
	return nil
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// failLines returns "fail 198.51.100.N" for N in [from, to].
func failLines(from, to int) []string {
	var ls []string
	for i := from; i <= to; i++ {
		ls = append(ls, "fail 198.51.100."+strconv.Itoa(i))
	}
	return ls
}

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}
