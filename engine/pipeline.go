package engine

import (
	"errors"
	"strconv"
	"time"
)

// Pipeline is the synchronous core of the engine: dedup → enrich → detect →
// assess → decide, with ID assignment. The Engine runs one Pipeline in a
// single goroutine so that detection state needs no locks and replays are
// deterministic; `parse --explain` and benchmarks drive it directly.
type Pipeline struct {
	dedup    *Deduper
	enricher Enricher
	detector Detector
	assessor Assessor
	decider  Decider
	seq      uint64
}

// PipelineOptions are the stages of a Pipeline. Enricher is optional.
type PipelineOptions struct {
	Dedup    time.Duration
	Enricher Enricher
	Detector Detector
	Assessor Assessor
	Decider  Decider
	// FirstSeq is the last ID sequence number already used (from the store),
	// so IDs never repeat across restarts.
	FirstSeq uint64
}

// NewPipeline validates the stages.
func NewPipeline(o PipelineOptions) (*Pipeline, error) {
	var errs []error
	if o.Detector == nil {
		errs = append(errs, errors.New("pipeline: no detector"))
	}
	if o.Assessor == nil {
		errs = append(errs, errors.New("pipeline: no assessor"))
	}
	if o.Decider == nil {
		errs = append(errs, errors.New("pipeline: no decider"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Pipeline{
		dedup:    NewDeduper(o.Dedup),
		enricher: o.Enricher,
		detector: o.Detector,
		assessor: o.Assessor,
		decider:  o.Decider,
		seq:      o.FirstSeq,
	}, nil
}

// Outcome is what one event produced.
type Outcome struct {
	Duplicate bool
	Alerts    []Alert
	Decisions []Decision
}

// Process runs one event through every stage. ev is enriched in place. tr
// may be nil.
func (p *Pipeline) Process(ev *Event, tr *Trace) Outcome {
	if p.dedup.Duplicate(ev) {
		return Outcome{Duplicate: true}
	}
	if p.enricher != nil {
		p.enricher.Enrich(ev)
	}
	alerts := p.detector.Observe(ev, tr)
	if len(alerts) == 0 {
		return Outcome{}
	}
	out := Outcome{Alerts: alerts}
	for i := range out.Alerts {
		a := &out.Alerts[i]
		a.ID = p.nextID("al")
		p.assessor.Assess(a)
		for _, d := range p.decider.Decide(a) {
			d.ID = p.nextID("de")
			d.AlertID = a.ID
			out.Decisions = append(out.Decisions, d)
		}
	}
	return out
}

// Seq is the last ID sequence number used.
func (p *Pipeline) Seq() uint64 { return p.seq }

// nextID returns kind-%08d of the next sequence number, built by hand:
// fmt.Sprintf was a visible share of the pipeline.
func (p *Pipeline) nextID(kind string) string {
	p.seq++
	var buf [32]byte
	b := append(buf[:0], kind...)
	b = append(b, '-')
	var digits [20]byte
	n := strconv.AppendUint(digits[:0], p.seq, 10)
	for range 8 - len(n) {
		b = append(b, '0')
	}
	return string(append(b, n...))
}
