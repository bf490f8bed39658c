package ingest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/phantomsoc/phantomsoc/engine"
)

// inPlaceFake is fakeParser with ParseTo, which the batcher prefers.
type inPlaceFake struct{ fakeParser }

func (p inPlaceFake) ParseTo(ev *engine.Event, line string, lineno int64) (bool, error) {
	e, ok, err := p.Parse(line, lineno)
	if ok {
		*ev = e
	} else {
		// Leave the slot dirty as a careless parser might; the batcher
		// must clear it.
		ev.Raw = line
	}
	if err != nil {
		*ev = engine.Event{}
	}
	return ok, err
}

func TestBatcherInPlaceMatchesParse(t *testing.T) {
	lines := []string{
		"2026-11-16T00:00:00Z 192.0.2.1 fail",
		"no address here",
		"2026-11-16T00:00:01Z 192.0.2.2 bad",
		"2026-11-16T00:00:02Z 2001:db8::1",
		"",
		"192.0.2.3",
		"trailing noise",
	}
	run := func(p LineParser, max int) []engine.Batch {
		bt := newBatcher("test", max)
		var out []engine.Batch
		for i, l := range lines {
			bt.add(p, l, int64(i+1), false, DefaultMaxLine)
			if bt.full() {
				out = append(out, bt.take())
			}
		}
		return append(out, bt.take())
	}
	for _, max := range []int{1, 2, 8} {
		want, got := run(fakeParser{}, max), run(inPlaceFake{}, max)
		opts := cmp.Options{cmp.Comparer(func(a, b engine.Batch) bool {
			// A batch of noise may hold an empty event slice: the slot
			// was taken before the line turned out not to be an event.
			return cmp.Equal(a.Events, b.Events, cmpopts.EquateEmpty(), cmp.Comparer(func(x, y engine.Event) bool { return x == y })) &&
				cmp.Equal(a.Rejects, b.Rejects, cmpopts.EquateEmpty()) && a.Lines == b.Lines
		})}
		if !cmp.Equal(got, want, opts) {
			t.Errorf("max %d: in-place batches differ from Parse's:\ngot  %+v\nwant %+v", max, got, want)
		}
		for _, b := range got {
			evs := b.Events[len(b.Events):cap(b.Events)]
			for i := range evs {
				if evs[i] != (engine.Event{}) {
					t.Errorf("max %d: slot %d past the events holds %+v, want zero", max, len(b.Events)+i, evs[i])
				}
			}
		}
	}
}
