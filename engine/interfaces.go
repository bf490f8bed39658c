package engine

import (
	"context"
	"net/netip"
	"time"
)

// Batch is what a source hands the engine: events in source order and, for
// file sources, the checkpoint reached after them. The engine commits the
// checkpoint in the same store transaction as whatever the events produced,
// so a restart neither re-reads nor skips a line.
type Batch struct {
	Events     []Event
	Checkpoint *Checkpoint
	// Rejects are input units that could not be accepted (garbage, cut
	// lines, truncated JSON). They are counted and dead-lettered, never
	// silently dropped.
	Rejects []Reject
	// Lines is how many input lines (or datagrams) this batch consumed,
	// recognised or not.
	Lines int
	// Arrived is when the source read the batch (wall clock); the engine
	// uses it only to measure arrival-to-decision latency.
	Arrived time.Time
	// Release, when set, is called once the engine no longer needs Events,
	// so the source can reuse the slice: at a few hundred bytes an event,
	// fresh slices per batch were the largest allocation of a replay.
	Release func()
}

// Checkpoint is a file source's durable read position.
type Checkpoint struct {
	Origin string `json:"origin"`
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
	// Line is the number of the last line consumed.
	Line int64 `json:"line"`
}

// Reject is an input unit that was not accepted, with the reason.
type Reject struct {
	Origin string `json:"origin"`
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
	// Raw is a prefix of the rejected input (at most RejectRawMax bytes).
	Raw string `json:"raw"`
}

// RejectRawMax bounds how much of a rejected input is kept.
const RejectRawMax = 512

// Source produces batches until its input ends or ctx is cancelled. It must
// not close out; the engine does once every source has returned.
type Source interface {
	Name() string
	Run(ctx context.Context, out chan<- Batch) error
}

// Enricher adds asset and geo context to an event in place.
type Enricher interface {
	Enrich(ev *Event)
}

// Detector turns events into alerts. It must be deterministic in the events'
// own times (never time.Now), and is called from one goroutine. tr may be nil.
type Detector interface {
	Observe(ev *Event, tr *Trace) []Alert
}

// Assessor scores an alert in place: Risk, Confidence, Factors, Reasons,
// Blast.
type Assessor interface {
	Assess(a *Alert)
}

// Decider turns an assessed alert into decisions (none for notify-only
// alerts). It is called from one goroutine and may keep offender history.
type Decider interface {
	Decide(a *Alert) []Decision
}

// Offender is the escalation memory for one target, persisted by the store
// so repeat offenders keep escalating across restarts.
type Offender struct {
	Target netip.Prefix `json:"target"`
	Count  int          `json:"count"`
	Last   time.Time    `json:"last"`
	// Expires is when the latest decision against the target ends. How
	// long an offense is remembered is policy (forget_after), not stored.
	Expires time.Time `json:"expires"`
}

// Stats are cumulative pipeline counters.
type Stats struct {
	Lines      uint64 `json:"lines"`
	Events     uint64 `json:"events"`
	Indicators uint64 `json:"indicators"`
	Deduped    uint64 `json:"deduped"`
	Rejected   uint64 `json:"rejected"`
	Alerts     uint64 `json:"alerts"`
	Decisions  uint64 `json:"decisions"`
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Lines += o.Lines
	s.Events += o.Events
	s.Indicators += o.Indicators
	s.Deduped += o.Deduped
	s.Rejected += o.Rejected
	s.Alerts += o.Alerts
	s.Decisions += o.Decisions
}

// Commit is one durable unit of work: everything a run of batches produced.
// The store writes it in one transaction, with an audit record for every
// alert and decision.
type Commit struct {
	// Indicators are the indicator events of these batches, slimmed; the
	// store keeps a per-source index of them, not every line.
	Indicators  []Indicator
	Alerts      []Alert
	Decisions   []Decision
	Checkpoints []Checkpoint
	Rejects     []Reject
	Stats       Stats
	// Arrived is the earliest arrival time of the batches in this commit.
	Arrived time.Time
	// Seq is the last ID sequence number used by this commit; the store
	// persists it so IDs never repeat across restarts.
	Seq uint64
}

// Indicator is the part of an indicator event the store's per-source
// index needs: small, so commits stay cheap to build and merge.
type Indicator struct {
	Time       time.Time
	Source     netip.Addr
	SourceHost string
	Type       string
	User       string
	Count      int
}

// IndicatorOf slims ev.
func IndicatorOf(ev *Event) Indicator {
	return Indicator{Time: ev.Time, Source: ev.Source, SourceHost: ev.SourceHost, Type: ev.Type, User: ev.User, Count: ev.Count}
}

// N returns how many occurrences the indicator stands for (at least one).
func (i *Indicator) N() int { return max(i.Count, 1) }

// Store makes commits durable. A decision is acknowledged only after Commit
// returns nil. Commit must not keep c.Indicators once it returns: the
// engine reuses their arrays for later commits.
type Store interface {
	Commit(ctx context.Context, c *Commit) error
}

// Sink receives commits after they are durable (printers, enforcers,
// notifiers). It must not block for long: the engine calls it inline.
type Sink interface {
	Committed(c *Commit)
}
