// Package detect turns events into alerts with scenarios: leaky buckets,
// windowed counters, triggers, sequences and distributed campaigns, loaded
// from YAML (bundled defaults, overridable per name from a user directory).
//
// A Detector is driven purely by event time: buckets drain, windows slide,
// blackholes end and idle keys are collected as ev.Time advances, never by
// a clock. It is deterministic — the same events give the same alerts —
// and is used from one goroutine.
package detect

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Options tune a Detector.
type Options struct {
	// MaxEvidence bounds the events kept per key and copied into an alert:
	// the oldest MaxEvidence-1 and the latest. Default 8.
	MaxEvidence int
	// Logger receives a Debug record per alert; nil discards.
	Logger *slog.Logger
}

const (
	defaultMaxEvidence = 8
	// maxUsers bounds the distinct users remembered per key.
	maxUsers = 16
	// maxCampaignSources bounds the sources one campaign key tracks; a
	// source beyond it is not counted.
	maxCampaignSources = 1 << 16
	// sweepEvery is how much event time passes between collections of idle
	// keys.
	sweepEvery = int64(time.Minute)
	// fullSweepEvery and minSweepEvents pace full sweeps (see sweep).
	fullSweepEvery     = int64(time.Hour)
	campaignSweepEvery = int64(10 * time.Minute)
	minSweepEvents     = 1024
)

type kind uint8

const (
	kLeaky kind = iota
	kCounter
	kTrigger
	kSequence
	kCampaign
)

// scenarioRT is a compiled scenario and its per-key state.
type scenarioRT struct {
	sc        Scenario
	kind      kind
	group     fieldSet
	distinct  fieldSet
	cond      *vm.Program
	condAddrs bool
	capacity  float64
	threshold int
	leak      int64
	window    int64
	within    int64
	blackhole int64
	// states holds the keys; bySrc replaces it for the common group_by
	// source, where a 24-byte netip.Addr hashes faster than a key.
	states map[key]*state
	bySrc  map[netip.Addr]*state
	// peak is the most keys held since the map was last rebuilt; Go maps
	// never shrink, so a sweep rebuilds a map that emptied out.
	peak int
	// spare holds states of removed keys for new keys: a busy replay
	// makes and sweeps keys all the time.
	spare []*state
}

// maxSpare bounds the states a scenario keeps for reuse.
const maxSpare = 256

// newState is a state for a new key first fed at t.
func (rt *scenarioRT) newState(t int64) *state {
	n := len(rt.spare)
	if n == 0 {
		return &state{last: t}
	}
	st := rt.spare[n-1]
	rt.spare[n-1] = nil
	rt.spare = rt.spare[:n-1]
	// Its buffers are not kept: sized for the key that grew them, they
	// made the live keys larger than fresh ones (+4 MB peak on a 1M-line
	// replay) for little less garbage.
	*st = state{last: t}
	return st
}

// release takes the state of a key no map holds any more.
func (rt *scenarioRT) release(st *state) {
	if len(rt.spare) >= maxSpare {
		return
	}
	*st = state{} // drop the events it kept
	rt.spare = append(rt.spare, st)
}

// get, put and remove use the per-address fast map for per-source keys
// with an address; a source known only by host name goes to the general
// map.
func (rt *scenarioRT) get(k key) *state {
	if rt.bySrc != nil && k.src.IsValid() {
		return rt.bySrc[k.src]
	}
	return rt.states[k]
}

// keyString is ev's key in rt as text, for a trace. A live console traces
// every event, so the text is kept with the key's state and formatted once.
func (rt *scenarioRT) keyString(ev *engine.Event) string {
	k := makeKey(ev, rt.group)
	st := rt.get(k)
	if st == nil {
		return k.format(rt.group)
	}
	if st.keyText == "" {
		st.keyText = k.format(rt.group)
	}
	return st.keyText
}

func (rt *scenarioRT) put(k key, st *state) {
	if rt.bySrc != nil && k.src.IsValid() {
		rt.bySrc[k.src] = st
		return
	}
	rt.states[k.clone()] = st
}

func (rt *scenarioRT) remove(k key) {
	if rt.bySrc != nil && k.src.IsValid() {
		if st := rt.bySrc[k.src]; st != nil {
			delete(rt.bySrc, k.src)
			rt.release(st)
		}
		return
	}
	if st := rt.states[k]; st != nil {
		delete(rt.states, k)
		rt.release(st)
	}
}

func (rt *scenarioRT) len() int {
	return len(rt.bySrc) + len(rt.states)
}

// sweep deletes idle keys and rebuilds a map that shrank to a quarter of
// its peak.
func (rt *scenarioRT) sweep(now int64) {
	if rt.bySrc != nil {
		rt.bySrc = sweepMap(rt, rt.bySrc, now)
	}
	if len(rt.states) > 0 {
		rt.states = sweepMap(rt, rt.states, now)
	}
}

func sweepMap[K comparable](rt *scenarioRT, m map[K]*state, now int64) map[K]*state {
	for k, st := range m {
		if rt.idle(st, now) {
			delete(m, k)
			rt.release(st)
		}
	}
	n := len(m)
	rt.peak = max(rt.peak, n)
	if rt.peak >= 1024 && n < rt.peak/4 {
		nm := make(map[K]*state, n)
		for k, st := range m {
			nm[k] = st
		}
		rt.peak = n
		return nm
	}
	return m
}

// entry is one scenario an event type reaches.
type entry struct {
	rt *scenarioRT
	// reset marks a reset_on type.
	reset bool
	// steps is, for a sequence, the set of steps the type belongs to.
	steps uint32
}

// Detector runs scenarios over events. It implements engine.Detector.
type Detector struct {
	scenarios   []Scenario
	rts         []*scenarioRT
	byType      map[string][]entry
	maxEvidence int
	log         *slog.Logger
	condAddrs   bool

	now           int64
	nextSweep     int64
	lastFullSweep int64
	// lastCampaignSweep is when campaigns last dropped sources that left
	// their window.
	lastCampaignSweep int64
	sinceSweep        int
	keysAfterSweep    int

	env condEnv
	vm  vm.VM
	// kept is the heap copy of the event being observed, made by the first
	// scenario that keeps it as evidence.
	kept *keptEvent
}

// New validates and compiles scenarios (defaults applied; disabled ones
// dropped) into a Detector.
func New(scenarios []Scenario, o Options) (*Detector, error) {
	if o.MaxEvidence <= 0 {
		o.MaxEvidence = defaultMaxEvidence
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Detector{
		byType:      map[string][]entry{},
		maxEvidence: o.MaxEvidence,
		log:         o.Logger.With("component", "detect"),
		nextSweep:   minInt64,
	}
	var errs []error
	for _, s := range scenarios {
		s.Types = slices.Clone(s.Types)
		s.ResetOn = slices.Clone(s.ResetOn)
		s.Steps = slices.Clone(s.Steps)
		applyDefaults(&s)
		ps := validate(&s)
		for _, p := range ps {
			errs = append(errs, &Error{File: s.File, Scenario: s.Name, Field: p.field(), Msg: p.msg})
		}
		if len(ps) > 0 || s.Disabled {
			continue
		}
		d.scenarios = append(d.scenarios, s)
	}
	if err := errors.Join(append(errs, checkUnique(d.scenarios)...)...); err != nil {
		return nil, fmt.Errorf("new detector: %w", err)
	}
	for i := range d.scenarios {
		rt, err := compile(d.scenarios[i])
		if err != nil {
			return nil, fmt.Errorf("new detector: %w", err)
		}
		d.rts = append(d.rts, rt)
		d.condAddrs = d.condAddrs || rt.condAddrs
		if rt.kind == kSequence {
			for si, st := range rt.sc.Steps {
				for _, t := range st.Types {
					d.addEntry(t, rt, false, 1<<si)
				}
			}
		}
		for _, t := range rt.sc.Types {
			d.addEntry(t, rt, false, 0)
		}
		for _, t := range rt.sc.ResetOn {
			d.addEntry(t, rt, true, 0)
		}
	}
	return d, nil
}

const minInt64 = -1 << 63

func (d *Detector) addEntry(typ string, rt *scenarioRT, reset bool, steps uint32) {
	es := d.byType[typ]
	for i := range es {
		if es[i].rt == rt && es[i].reset == reset {
			es[i].steps |= steps
			return
		}
	}
	d.byType[typ] = append(es, entry{rt: rt, reset: reset, steps: steps})
}

func compile(s Scenario) (*scenarioRT, error) {
	rt := &scenarioRT{
		sc:        s,
		capacity:  float64(s.Capacity),
		threshold: s.Threshold,
		leak:      int64(s.Leak),
		window:    int64(s.Window),
		within:    int64(s.Within),
		blackhole: int64(s.Blackhole),
	}
	switch s.Kind {
	case KindLeaky:
		rt.kind = kLeaky
	case KindCounter:
		rt.kind = kCounter
	case KindTrigger:
		rt.kind = kTrigger
	case KindSequence:
		rt.kind = kSequence
	case KindCampaign:
		rt.kind = kCampaign
		rt.threshold = s.MinSources
	}
	rt.group, _ = parseFields(s.GroupBy)
	rt.states = map[key]*state{}
	if rt.group == fieldSource {
		rt.bySrc = map[netip.Addr]*state{}
	}
	if s.Distinct != "" {
		rt.distinct, _ = parseFields(s.Distinct)
	}
	if s.Condition != "" {
		p, addrs, cerr := compileCondition(s.Condition)
		if cerr != nil {
			return nil, &Error{File: s.File, Scenario: s.Name, Field: "condition", Msg: cerr.msg}
		}
		rt.cond, rt.condAddrs = p, addrs
	}
	return rt, nil
}

// Scenarios returns the scenarios in use (defaults applied, disabled ones
// dropped), in evaluation order.
func (d *Detector) Scenarios() []Scenario {
	out := slices.Clone(d.scenarios)
	for i := range out {
		out[i].Types = slices.Clone(out[i].Types)
		out[i].ResetOn = slices.Clone(out[i].ResetOn)
		out[i].Steps = slices.Clone(out[i].Steps)
	}
	return out
}

// Keys returns how many keys hold state across all scenarios.
func (d *Detector) Keys() int {
	n := 0
	for _, rt := range d.rts {
		n += rt.len()
	}
	return n
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Observe feeds ev to every scenario whose types include ev.Type and returns
// the alerts it fired, in scenario order. tr, when not nil, records a Feed
// per scenario the event reached.
func (d *Detector) Observe(ev *engine.Event, tr *engine.Trace) []engine.Alert {
	t := nanos(ev.Time)
	if t > d.now || d.nextSweep == minInt64 {
		d.now = t
	}
	if d.now >= d.nextSweep {
		d.sweep()
		d.nextSweep = d.now - d.now%sweepEvery + sweepEvery
	}
	d.sinceSweep++
	entries := d.byType[ev.Type]
	if len(entries) == 0 {
		return nil
	}
	d.kept = nil
	var out []engine.Alert
	envReady := false
	for i := range entries {
		e := &entries[i]
		rt := e.rt
		if e.reset {
			d.reset(rt, ev, t, tr)
			continue
		}
		if rt.sc.IndicatorOnly && !ev.Indicator {
			continue
		}
		if rt.cond != nil {
			if !envReady {
				d.env.Evt.fill(ev, d.condAddrs)
				envReady = true
			}
			if !d.eval(rt) {
				continue
			}
		}
		a, fed, level := d.feed(rt, e.steps, ev, t)
		fired := a != nil
		if fired {
			out = append(out, *a)
			d.log.Debug("scenario fired", "scenario", a.Scenario, "key", a.Key, "count", a.Count)
		}
		if tr != nil && fed {
			tr.Add(engine.Feed{
				Scenario: rt.sc.Name,
				Key:      rt.keyString(ev),
				Level:    level,
				Capacity: rt.capacityOf(),
				Fired:    fired,
			})
		}
	}
	return out
}

func (d *Detector) eval(rt *scenarioRT) bool {
	out, err := d.vm.Run(rt.cond, &d.env)
	if err != nil {
		d.log.Debug("condition failed", "scenario", rt.sc.Name, "err", err)
		return false
	}
	b, _ := out.(bool)
	return b
}

// capacityOf is what a Feed's level is measured against.
func (rt *scenarioRT) capacityOf() float64 {
	switch rt.kind {
	case kLeaky:
		return rt.capacity
	case kCounter, kCampaign:
		return float64(rt.threshold)
	case kSequence:
		return float64(len(rt.sc.Steps))
	}
	return 1
}

// reset clears the key's state for a reset_on event; a running blackhole
// survives.
func (d *Detector) reset(rt *scenarioRT, ev *engine.Event, t int64, tr *engine.Trace) {
	k := makeKey(ev, rt.group)
	st := rt.get(k)
	if st == nil {
		return
	}
	if st.until > t {
		st.clear()
		st.campaign = nil
	} else {
		rt.remove(k)
	}
	if tr != nil {
		tr.Add(engine.Feed{Scenario: rt.sc.Name, Key: k.format(rt.group), Capacity: rt.capacityOf()})
	}
}

// sweep forgets keys that are idle at d.now: nothing would remain of them
// by the next event.
// sweep collects idle keys. Campaigns are swept every campaignSweepEvery of
// event time: a sweep walks every source of a campaign, and a source may
// outlive the window by that much, a small price on a window of hours. A full sweep
// walks every key, so it runs only once as many events as there were keys
// have passed — amortised O(1) per event, and the key count stays within
// twice what is live — or once an hour of event time has passed.
func (d *Detector) sweep() {
	full := d.sinceSweep >= max(minSweepEvents, d.keysAfterSweep) || d.now-d.lastFullSweep >= fullSweepEvery
	campaigns := full || d.now-d.lastCampaignSweep >= campaignSweepEvery
	for _, rt := range d.rts {
		if full || (campaigns && rt.kind == kCampaign) {
			rt.sweep(d.now)
		}
	}
	if campaigns {
		d.lastCampaignSweep = d.now
	}
	if full {
		d.sinceSweep = 0
		d.keysAfterSweep = d.Keys()
		d.lastFullSweep = d.now
	}
}

// alert builds the alert for a firing key; st still holds the evidence.
func (d *Detector) alert(rt *scenarioRT, k key, st *state, ev *engine.Event, count int) engine.Alert {
	a := engine.Alert{
		Time:        ev.Time,
		Scenario:    rt.sc.Name,
		Description: rt.sc.Description,
		Severity:    rt.sc.Severity,
		Key:         k.format(rt.group),
		Host:        ev.Host,
		Dest:        ev.Dest,
		Count:       count,
		Propose:     rt.sc.Propose,
	}
	// Sized exactly: an alert without a tail event never used the spare
	// slot, 352 bytes each.
	n := len(st.evidence)
	if st.tail {
		n++
	}
	a.Evidence = make([]engine.Event, len(st.evidence), n)
	for i, e := range st.evidence {
		a.Evidence[i] = e.event()
	}
	if st.tail {
		a.Evidence = append(a.Evidence, *ev)
	}
	if rt.group&fieldHost != 0 {
		a.Host = k.host
	}
	if rt.group&fieldDest != 0 {
		a.Dest = k.dest
	}
	if len(a.Evidence) > 0 {
		a.First = a.Evidence[0].Time
	} else {
		a.First = ev.Time
	}
	if len(st.users) > 0 {
		a.Users = slices.Clone(st.users)
		slices.Sort(a.Users)
	}
	switch {
	case rt.group&fieldSource != 0:
		a.Source = k.src
		if k.src.IsValid() || k.srcHost != "" {
			a.Sources = 1
		}
	case rt.kind != kCampaign:
		var seen []netip.Addr
		for i := range a.Evidence {
			if s := a.Evidence[i].Source; s.IsValid() && !slices.Contains(seen, s) {
				seen = append(seen, s)
			}
		}
		a.Sources = len(seen)
	}
	if len(rt.sc.Labels) > 0 {
		a.Labels = make(map[string]string, len(rt.sc.Labels))
		for lk, lv := range rt.sc.Labels {
			a.Labels[lk] = lv
		}
	}
	return a
}
