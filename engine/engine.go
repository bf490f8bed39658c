package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure an Engine.
type Options struct {
	Sources  []Source
	Pipeline *Pipeline
	Store    Store
	// Sinks see every commit after it is durable, in order.
	Sinks []Sink
	// Queue is the capacity, in batches, of each channel between stages.
	Queue int
	// GroupCommit is the most commits merged into one store transaction
	// when the writer falls behind.
	GroupCommit int
	// CommitLines, when > 0, makes the writer wait for commits covering at
	// least this many input lines (or the end of input) before one
	// transaction, up to GroupCommit of them. For a replay: every
	// transaction rewrites the index pages of each source it touches, so
	// fewer, larger ones are cheaper, and no one waits for a decision. A
	// live engine leaves it 0 and commits whatever has arrived.
	CommitLines int
	Logger      *slog.Logger
	// NoIndicators leaves Commit.Indicators empty (Stats still count
	// them). Only the store's per-source index reads them, and a replay
	// into a temporary database, whose sources nobody can list, spent a
	// tenth of its time building and writing that index.
	NoIndicators bool
	// Tap, when set, sees every event that passed dedup, enriched, on the
	// process goroutine: it must copy what it keeps and never block (the
	// console's live view keeps a ring of recent events).
	Tap func(ev *Event)
}

// Engine moves batches from sources through the pipeline to the store:
//
//	sources ──batches──► process (one goroutine) ──commits──► writer ──► store, then sinks
//
// Channels are bounded, so a slow store holds back the sources instead of
// dropping anything. On shutdown the engine drains what the sources already
// handed over before returning.
type Engine struct {
	o       Options
	log     *slog.Logger
	stats   statsCounters
	latency *Histogram
	// in and commits are the running stages' input queues, for Queues.
	in      atomic.Pointer[chan Batch]
	commits atomic.Pointer[chan *Commit]
}

// Queue is one stage's input queue: how many batches wait in it. A queue
// that stays full is backpressure; the engine never drops.
type Queue struct {
	Stage string `json:"stage"`
	Depth int    `json:"depth"`
	Cap   int    `json:"cap"`
}

// Queues reports the depth of each stage's input queue while Run runs.
func (e *Engine) Queues() []Queue {
	var out []Queue
	if p := e.in.Load(); p != nil {
		out = append(out, Queue{Stage: "process", Depth: len(*p), Cap: cap(*p)})
	}
	if p := e.commits.Load(); p != nil {
		out = append(out, Queue{Stage: "store", Depth: len(*p), Cap: cap(*p)})
	}
	return out
}

type statsCounters struct {
	lines, events, indicators, deduped, rejected, alerts, decisions atomic.Uint64
}

// New validates o.
func New(o Options) (*Engine, error) {
	if o.Pipeline == nil {
		return nil, errors.New("engine: no pipeline")
	}
	if o.Store == nil {
		return nil, errors.New("engine: no store")
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.GroupCommit <= 0 {
		o.GroupCommit = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{o: o, log: o.Logger.With("component", "engine"), latency: NewHistogram()}, nil
}

// Stats returns the cumulative counters of this run.
func (e *Engine) Stats() Stats {
	s := &e.stats
	return Stats{
		Lines: s.lines.Load(), Events: s.events.Load(), Indicators: s.indicators.Load(),
		Deduped: s.deduped.Load(), Rejected: s.rejected.Load(), Alerts: s.alerts.Load(),
		Decisions: s.decisions.Load(),
	}
}

// Latency is the histogram of arrival-to-durable-decision times.
func (e *Engine) Latency() *Histogram { return e.latency }

// Run blocks until every source has finished (a replay) or ctx ends (a
// daemon), then drains and returns. A failing source or store stops the
// whole engine and its error is returned.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	in := make(chan Batch, e.o.Queue)
	commits := make(chan *Commit, e.o.Queue)
	// Indicator slices go back from the writer to process once their commit
	// is durable: they were a replay's largest allocation.
	free := make(chan []Indicator, e.o.Queue+e.o.GroupCommit+1)
	e.in.Store(&in)
	e.commits.Store(&commits)

	var wg sync.WaitGroup
	var srcWG sync.WaitGroup
	for _, s := range e.o.Sources {
		srcWG.Go(func() {
			if err := s.Run(ctx, in); err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("source %s: %w", s.Name(), err))
			}
		})
	}
	wg.Go(func() {
		srcWG.Wait()
		close(in)
	})
	wg.Go(func() {
		defer close(commits)
		for b := range in {
			commits <- e.process(b, free)
		}
	})
	var storeErr error
	wg.Go(func() {
		storeErr = e.write(context.WithoutCancel(ctx), commits, free)
		if storeErr != nil {
			cancel(storeErr)
			for range commits { // keep upstream moving so it can stop
			}
		}
	})
	wg.Wait()
	if storeErr != nil {
		return storeErr
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (e *Engine) process(b Batch, free chan []Indicator) *Commit {
	p := e.o.Pipeline
	// Sized for the indicators (about two thirds of a replay's events), not
	// for every event.
	nInd := 0
	if !e.o.NoIndicators {
		for i := range b.Events {
			if b.Events[i].Indicator {
				nInd++
			}
		}
	}
	var ind []Indicator
	select {
	case ind = <-free:
	default:
	}
	if cap(ind) < nInd {
		// Room for a whole batch of indicators: a recycled slice sized
		// to one batch's share was too small for the next so often that
		// most were dropped for a new one.
		ind = make([]Indicator, 0, max(nInd, len(b.Events)))
	}
	c := &Commit{Arrived: b.Arrived, Rejects: b.Rejects, Indicators: ind}
	if b.Checkpoint != nil {
		c.Checkpoints = []Checkpoint{*b.Checkpoint}
	}
	st := Stats{Lines: uint64(b.Lines), Rejected: uint64(len(b.Rejects))}
	for i := range b.Events {
		ev := &b.Events[i]
		st.Events++
		out := p.Process(ev, nil)
		if out.Duplicate {
			st.Deduped++
			continue
		}
		if e.o.Tap != nil {
			e.o.Tap(ev)
		}
		if ev.Indicator {
			st.Indicators++
			if !e.o.NoIndicators {
				c.Indicators = append(c.Indicators, IndicatorOf(ev))
			}
		}
		c.Alerts = append(c.Alerts, out.Alerts...)
		c.Decisions = append(c.Decisions, out.Decisions...)
	}
	st.Alerts = uint64(len(c.Alerts))
	st.Decisions = uint64(len(c.Decisions))
	c.Stats = st
	c.Seq = p.Seq()
	if b.Release != nil {
		b.Release()
	}
	return c
}

// write commits in order, merging commits that queued up while the previous
// transaction ran into one, and hands each durable commit to the sinks.
func (e *Engine) write(ctx context.Context, commits <-chan *Commit, free chan<- []Indicator) error {
	group := make([]*Commit, 0, e.o.GroupCommit)
	var merged []Indicator // reused by mergeCommits
	recycle := func(ind []Indicator) {
		if cap(ind) == 0 {
			return // nothing to reuse (NoIndicators)
		}
		clear(ind) // drop references to the input lines
		select {
		case free <- ind[:0]:
		default:
		}
	}
	for c := range commits {
		group = append(group[:0], c)
		lines := c.Stats.Lines
	gather:
		for len(group) < e.o.GroupCommit {
			var next *Commit
			ok := true
			switch {
			case lines < uint64(e.o.CommitLines):
				next, ok = <-commits
			case e.o.CommitLines > 0:
				// A commit of CommitLines whatever else queued: the sinks
				// see the same commits on every run, so what they record
				// (incident notes in the audit trail) is the same too.
				break gather
			default:
				select {
				case next, ok = <-commits:
				default:
					break gather
				}
			}
			if !ok {
				break gather
			}
			group = append(group, next)
			lines += next.Stats.Lines
		}
		c = mergeCommits(group, merged)
		if err := e.o.Store.Commit(ctx, c); err != nil {
			return fmt.Errorf("commit %d alerts, %d decisions: %w", len(c.Alerts), len(c.Decisions), err)
		}
		e.account(c)
		for _, s := range e.o.Sinks {
			s.Committed(c)
		}
		// Only the store reads indicators, and it is done with them.
		for _, g := range group {
			recycle(g.Indicators)
		}
		if len(group) > 1 {
			clear(c.Indicators)
			merged = c.Indicators[:0]
		}
		clear(group)
	}
	return nil
}

func (e *Engine) account(c *Commit) {
	s := &e.stats
	s.lines.Add(c.Stats.Lines)
	s.events.Add(c.Stats.Events)
	s.indicators.Add(c.Stats.Indicators)
	s.deduped.Add(c.Stats.Deduped)
	s.rejected.Add(c.Stats.Rejected)
	s.alerts.Add(c.Stats.Alerts)
	s.decisions.Add(c.Stats.Decisions)
	if len(c.Decisions) > 0 && !c.Arrived.IsZero() {
		e.latency.Observe(time.Since(c.Arrived))
	}
}

// mergeCommits folds group (in order) into one commit, allocating each
// slice once (the indicators reuse ind's array when it is large enough); a
// later checkpoint of an origin replaces an earlier one.
func mergeCommits(group []*Commit, ind []Indicator) *Commit {
	if len(group) == 1 {
		return group[0]
	}
	var nInd, nAl, nDec, nRej int
	for _, g := range group {
		nInd += len(g.Indicators)
		nAl += len(g.Alerts)
		nDec += len(g.Decisions)
		nRej += len(g.Rejects)
	}
	if cap(ind) < nInd {
		ind = make([]Indicator, 0, nInd)
	}
	c := &Commit{
		Indicators: ind[:0], Alerts: make([]Alert, 0, nAl),
		Decisions: make([]Decision, 0, nDec), Rejects: make([]Reject, 0, nRej),
	}
	for _, g := range group {
		c.Indicators = append(c.Indicators, g.Indicators...)
		c.Alerts = append(c.Alerts, g.Alerts...)
		c.Decisions = append(c.Decisions, g.Decisions...)
		c.Rejects = append(c.Rejects, g.Rejects...)
		for _, cp := range g.Checkpoints {
			replaced := false
			for i := range c.Checkpoints {
				if c.Checkpoints[i].Origin == cp.Origin {
					c.Checkpoints[i] = cp
					replaced = true
				}
			}
			if !replaced {
				c.Checkpoints = append(c.Checkpoints, cp)
			}
		}
		c.Stats.Add(g.Stats)
		c.Seq = max(c.Seq, g.Seq)
		if c.Arrived.IsZero() || (!g.Arrived.IsZero() && g.Arrived.Before(c.Arrived)) {
			c.Arrived = g.Arrived
		}
	}
	return c
}
