package main

import (
	"github.com/phantomsoc/phantomsoc/engine"
)

// feedRecorder stands between the pipeline and the detector so the live
// view can say which scenarios each event fed, with the bucket level right
// after it: the detector's own Trace, the one `parse --explain` reads, kept
// for the event being processed. The engine calls Observe and then its Tap
// for the same event on its one process goroutine, so the ring picks the
// feeds up in Add without a lock.
//
// The cost is the detector formatting a key per scenario fed; the trace's
// slice is reused, and the ring copies feeds into slots it also reuses.
type feedRecorder struct {
	engine.Detector
	tr engine.Trace
	// ev is the event tr describes: an event the detector never saw (a
	// duplicate, whose Tap never comes either) takes no stale feeds.
	ev *engine.Event
}

// Observe runs the detector with a trace unless the caller brought its
// own (parse --explain through the same stages).
func (r *feedRecorder) Observe(ev *engine.Event, tr *engine.Trace) []engine.Alert {
	if tr != nil {
		r.ev = nil
		return r.Detector.Observe(ev, tr)
	}
	r.tr.Feeds = r.tr.Feeds[:0]
	r.ev = ev
	return r.Detector.Observe(ev, &r.tr)
}

// take returns the feeds of ev, valid until the next Observe; nil when
// the last event observed was another.
func (r *feedRecorder) take(ev *engine.Event) []engine.Feed {
	if r == nil || r.ev != ev {
		return nil
	}
	return r.tr.Feeds
}
