package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Merge replays several sources as one stream ordered by event time: a k-way
// merge over each source's head batch. Each sub-source must end by itself
// (files without Follow); a followed source would stall the merge.
type Merge struct {
	name     string
	srcs     []engine.Source
	batchMax int
}

// NewMerge returns a source merging srcs by event time. Events without a time
// sort at the time of their source's previous event; ties go to the source
// listed first, so the output order is deterministic.
func NewMerge(name string, srcs ...engine.Source) *Merge {
	return &Merge{name: name, srcs: srcs, batchMax: DefaultBatchMax}
}

// Name returns the name given to NewMerge.
func (m *Merge) Name() string { return m.name }

// head is a sub-source's batch being merged.
type head struct {
	in   <-chan engine.Batch
	b    engine.Batch
	i    int
	last time.Time
	has  bool // b holds a batch with events left
	done bool
}

// key is the time an event sorts at.
func (h *head) key() time.Time {
	if t := h.b.Events[h.i].Time; !t.IsZero() {
		return t
	}
	return h.last
}

// Run runs every sub-source and emits their events merged until all have
// returned. Checkpoints and rejects pass through: a sub-batch's checkpoint
// goes out with the batch holding its last event. If a sub-source fails, the
// others are stopped and Run returns the error.
func (m *Merge) Run(ctx context.Context, out chan<- engine.Batch) error {
	switch len(m.srcs) {
	case 0:
		return nil
	case 1:
		return m.srcs[0].Run(ctx, out)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(m.srcs))
	heads := make([]head, len(m.srcs))
	for i, src := range m.srcs {
		ch := make(chan engine.Batch, 1)
		heads[i].in = ch
		wg.Go(func() {
			defer close(ch)
			if err := src.Run(ctx, ch); err != nil {
				errs[i] = fmt.Errorf("%s: %w", src.Name(), err)
				cancel()
			}
		})
	}
	mr := merger{heads: heads, max: m.batchMax, out: out}
	mr.run(ctx)
	cancel()
	wg.Wait()
	return errors.Join(errs...)
}

type merger struct {
	heads []head
	max   int
	out   chan<- engine.Batch
	b     engine.Batch
}

// take adds the arrival time of a sub-batch that contributes to the output.
func (mr *merger) take(arrived time.Time) {
	if mr.b.Arrived.IsZero() || arrived.Before(mr.b.Arrived) {
		mr.b.Arrived = arrived
	}
}

func (mr *merger) run(ctx context.Context) {
	for {
		for i := range mr.heads {
			if !mr.fill(ctx, i) {
				return
			}
		}
		best := -1
		var bestKey time.Time
		for i := range mr.heads {
			h := &mr.heads[i]
			if !h.has {
				continue
			}
			if k := h.key(); best < 0 || k.Before(bestKey) {
				best, bestKey = i, k
			}
		}
		if best < 0 {
			mr.flush(ctx)
			return
		}
		h := &mr.heads[best]
		mr.b.Events = append(mr.b.Events, h.b.Events[h.i])
		mr.take(h.b.Arrived)
		h.last = bestKey
		h.i++
		if h.i == len(h.b.Events) {
			h.has = false
			if !mr.finish(ctx, h) {
				return
			}
		}
		if len(mr.b.Events) >= mr.max && !mr.flush(ctx) {
			return
		}
	}
}

// fill makes sure source i has events at hand (or is done), receiving its
// next batch; what was merged so far is sent before waiting. It reports false
// when ctx ended.
func (mr *merger) fill(ctx context.Context, i int) bool {
	h := &mr.heads[i]
	for !h.has && !h.done {
		var b engine.Batch
		var ok bool
		select {
		case b, ok = <-h.in:
		default:
			if !mr.flush(ctx) {
				return false
			}
			select {
			case b, ok = <-h.in:
			case <-ctx.Done():
				return false
			}
		}
		if !ok {
			h.done = true
			return true
		}
		h.b, h.i = b, 0
		if len(b.Events) > 0 {
			h.has = true
		} else if !mr.finish(ctx, h) {
			return false
		}
	}
	return true
}

// finish accounts for a sub-batch whose events are all merged: its lines,
// rejects and checkpoint. A checkpoint is sent at once, so a batch never
// holds two.
func (mr *merger) finish(ctx context.Context, h *head) bool {
	mr.take(h.b.Arrived)
	mr.b.Lines += h.b.Lines
	mr.b.Rejects = append(mr.b.Rejects, h.b.Rejects...)
	cp := h.b.Checkpoint
	if h.b.Release != nil {
		h.b.Release() // its events were copied into the merged batch
	}
	h.b = engine.Batch{}
	if cp != nil {
		mr.b.Checkpoint = cp
		return mr.flush(ctx)
	}
	return true
}

func (mr *merger) flush(ctx context.Context) bool {
	if len(mr.b.Events) == 0 && mr.b.Lines == 0 && len(mr.b.Rejects) == 0 && mr.b.Checkpoint == nil {
		return true
	}
	b := mr.b
	mr.b = engine.Batch{}
	return send(ctx, mr.out, b) == nil
}
