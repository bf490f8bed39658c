package detect

import (
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// stamp is n events at time t (unix nanoseconds).
type stamp struct {
	t int64
	n int
}

// seen is a distinct value and when it was last seen.
type seen struct {
	v string
	t int64
}

// state is one key of one scenario. The fields used depend on the kind;
// all are bounded: evidence by MaxEvidence, users by maxUsers, ring by the
// threshold (it fires and clears on reaching it), campaign sources by
// maxCampaignSources.
type state struct {
	last  int64 // latest event time fed
	until int64 // blackhole end
	count int   // events fed since the state was last cleared
	// evidence points at events shared by every scenario that kept them.
	evidence []*keptEvent
	// tail reports that the latest noted event was not stored in evidence
	// (it was full); an alert fired by it appends it.
	tail  bool
	users []string

	level float64 // leaky

	ring []stamp // counter, sequence step 0
	sum  int     // total n in ring
	vals []seen  // counter with distinct

	stage int   // sequence: steps completed
	stepN int   // sequence: events toward the current step (> 0)
	start int64 // sequence: time of the first event of the match

	campaign *campaign
	// keyText is the key formatted for traces, when one asked.
	keyText string
}

// clear forgets what the key accumulated, keeping buffers and blackhole.
func (st *state) clear() {
	clear(st.evidence) // drop references to the events' strings
	st.evidence = st.evidence[:0]
	clear(st.users)
	st.users = st.users[:0]
	st.count = 0
	st.tail = false
	st.level = 0
	st.ring = st.ring[:0]
	st.sum = 0
	clear(st.vals)
	st.vals = st.vals[:0]
	st.stage, st.stepN, st.start = 0, 0, 0
}

// note adds ev to st's evidence and its user to the bounded user set. The
// evidence keeps the oldest max-1 events; an alert adds the event that
// fired it, so a busy key copies no event at all. The event is copied to
// the heap once per Observe, however many scenarios keep it: evidence is
// most of the detector's memory.
func (d *Detector) note(st *state, ev *engine.Event) {
	st.count += ev.N()
	st.tail = len(st.evidence) >= d.maxEvidence-1
	if !st.tail {
		if d.kept == nil {
			d.kept = keep(ev)
		}
		st.evidence = append(st.evidence, d.kept)
	}
	if u := ev.User; u != "" && len(st.users) < maxUsers {
		// Tools repeat a user many times: try the latest first.
		if n := len(st.users); n > 0 && st.users[n-1] == u {
			return
		}
		for _, x := range st.users {
			if x == u {
				return
			}
		}
		st.users = append(st.users, strings.Clone(u))
	}
}

// pruneRing drops ring entries at or before cut.
func (st *state) pruneRing(cut int64) {
	i := 0
	for i < len(st.ring) && st.ring[i].t <= cut {
		st.sum -= st.ring[i].n
		i++
	}
	if i > 0 {
		st.ring = st.ring[:copy(st.ring, st.ring[i:])]
	}
}

// keepLast drops the oldest ring entries not needed to reach want.
func (st *state) keepLast(want int) {
	i := 0
	for i < len(st.ring)-1 && st.sum-st.ring[i].n >= want {
		st.sum -= st.ring[i].n
		i++
	}
	if i > 0 {
		st.ring = st.ring[:copy(st.ring, st.ring[i:])]
	}
}

// idle reports whether nothing of st would matter at now.
func (rt *scenarioRT) idle(st *state, now int64) bool {
	if st.until > now {
		if rt.kind == kCampaign && st.campaign != nil {
			st.campaign.expire(rt, st, now-rt.window)
		}
		return false
	}
	switch rt.kind {
	case kLeaky:
		return st.level-float64(now-st.last)/float64(rt.leak) <= 0
	case kCounter:
		return st.last <= now-rt.window
	case kSequence:
		return st.last <= now-rt.within
	case kCampaign:
		if st.campaign == nil {
			return true
		}
		st.campaign.expire(rt, st, now-rt.window)
		return len(st.campaign.srcs) == 0
	}
	return true
}

// feed runs one event through one scenario. fed is false when the event
// did not count (no source for a campaign, no value for distinct).
func (d *Detector) feed(rt *scenarioRT, steps uint32, ev *engine.Event, t int64) (a *engine.Alert, fed bool, level float64) {
	if rt.kind == kTrigger && rt.blackhole == 0 {
		k := makeKey(ev, rt.group)
		var st state
		d.note(&st, ev)
		al := d.alert(rt, k, &st, ev, ev.N())
		return &al, true, 1
	}
	if rt.kind == kCampaign && !ev.Source.IsValid() {
		return nil, false, 0
	}
	if rt.group&fieldSource != 0 && !ev.Source.IsValid() && ev.SourceHost == "" {
		// Nobody to hold it against: counting it under an empty key would
		// pool every address-less event into one phantom source.
		return nil, false, 0
	}
	if rt.distinct != 0 && fieldValue(ev, rt.distinct) == "" {
		return nil, false, 0
	}
	k := makeKey(ev, rt.group)
	st := rt.get(k)
	if st == nil {
		st = rt.newState(t)
		rt.put(k, st)
	}
	if t < st.last {
		// A late event counts as if it arrived now: state only moves
		// forward in time.
		t = st.last
	}
	if rt.kind == kCampaign {
		return d.feedCampaign(rt, k, st, ev, t)
	}
	if st.until > t {
		return nil, true, rt.levelOf(st)
	}
	n := ev.N()
	switch rt.kind {
	case kTrigger:
		st.last = t
		d.note(st, ev)
		return d.fire(rt, k, st, ev, t, n), true, 1

	case kLeaky:
		if t > st.last && st.level > 0 {
			st.level -= float64(t-st.last) / float64(rt.leak)
			if st.level <= 0 {
				st.clear()
			}
		}
		st.last = t
		st.level += float64(n)
		d.note(st, ev)
		if st.level >= rt.capacity {
			return d.fire(rt, k, st, ev, t, st.count), true, rt.capacity
		}
		return nil, true, st.level

	case kCounter:
		cut := t - rt.window
		st.last = t
		if rt.distinct != 0 {
			i := 0
			for _, v := range st.vals {
				if v.t > cut {
					st.vals[i] = v
					i++
				}
			}
			clear(st.vals[i:])
			st.vals = st.vals[:i]
			if i == 0 {
				st.clear()
			}
			v := fieldValue(ev, rt.distinct)
			found := false
			for j := range st.vals {
				if st.vals[j].v == v {
					st.vals[j].t = t
					found = true
					break
				}
			}
			if !found {
				st.vals = append(st.vals, seen{v: strings.Clone(v), t: t})
			}
			d.note(st, ev)
			if len(st.vals) >= rt.threshold {
				return d.fire(rt, k, st, ev, t, st.count), true, float64(rt.threshold)
			}
			return nil, true, float64(len(st.vals))
		}
		st.pruneRing(cut)
		if len(st.ring) == 0 {
			st.clear()
		}
		st.ring = append(st.ring, stamp{t: t, n: n})
		st.sum += n
		d.note(st, ev)
		if st.sum >= rt.threshold {
			return d.fire(rt, k, st, ev, t, st.sum), true, float64(st.sum)
		}
		return nil, true, float64(st.sum)

	case kSequence:
		return d.feedSequence(rt, steps, k, st, ev, t, n)
	}
	return nil, false, 0
}

// levelOf is the level a Feed shows for a key in blackhole.
func (rt *scenarioRT) levelOf(st *state) float64 {
	switch rt.kind {
	case kLeaky:
		return st.level
	case kCounter:
		if rt.distinct != 0 {
			return float64(len(st.vals))
		}
		return float64(st.sum)
	case kSequence:
		return float64(st.stage)
	}
	return 0
}

// fire builds the alert, clears the key and starts its blackhole.
func (d *Detector) fire(rt *scenarioRT, k key, st *state, ev *engine.Event, t int64, count int) *engine.Alert {
	a := d.alert(rt, k, st, ev, count)
	st.clear()
	st.until = t + rt.blackhole
	return &a
}

// feedSequence advances a sequence. Step 0 is a sliding window: the match
// starts at the oldest of the latest Min step-0 events, so a slow trickle
// never adds up to a match. An event of a later step arriving before its
// turn (a success before enough failures) restarts the sequence.
func (d *Detector) feedSequence(rt *scenarioRT, steps uint32, k key, st *state, ev *engine.Event, t int64, n int) (a *engine.Alert, fed bool, level float64) {
	cut := t - rt.within
	st.last = t
	if st.stage > 0 && st.start <= cut {
		st.stage, st.stepN = 0, 0
	}
	st.pruneRing(cut)
	if st.stage == 0 && len(st.ring) == 0 {
		st.clear()
	}
	min0 := rt.sc.Steps[0].Min
	switch {
	case st.stage > 0 && steps&(1<<st.stage) != 0:
		d.note(st, ev)
		st.stepN += n
		if st.stepN >= rt.sc.Steps[st.stage].Min {
			st.stage++
			st.stepN = 0
			if st.stage == len(rt.sc.Steps) {
				return d.fire(rt, k, st, ev, t, st.count), true, float64(len(rt.sc.Steps))
			}
		}
	case steps&1 != 0:
		d.note(st, ev)
		st.ring = append(st.ring, stamp{t: t, n: n})
		st.sum += n
		st.keepLast(min0)
		if st.sum >= min0 {
			if st.stage == 0 {
				st.stage = 1
			}
			st.start = st.ring[0].t
		}
	case steps>>(st.stage+1) != 0:
		st.clear()
	}
	return nil, true, float64(st.stage)
}
