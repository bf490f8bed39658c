// Package route decides who hears about an alert and when: a routing tree
// of label matchers (Alertmanager's semantics, with numeric matchers for
// risk and severity), and a Dispatcher that groups, deduplicates,
// silences, inhibits, mutes by time window and escalates.
//
// Everything here is pure and deterministic: the Dispatcher starts no
// goroutine and reads no clock of its own. The caller adds alerts, calls
// Tick(now) at Next() and sends the Notifications it returns; its State
// can be exported after every change and imported after a restart.
package route

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Router is a compiled, validated routing tree. It is immutable and safe
// for concurrent use.
type Router struct {
	root      *node
	nodes     map[string]*node
	intervals map[string]*interval
	inhibit   []inhibitRule
}

type node struct {
	id       string // the field path: "route.routes[1].routes[0]"
	depth    int
	matchers []Matcher
	cont     bool
	groupBy  []string // sorted; nil with groupAll
	groupAll bool
	wait     time.Duration
	interval time.Duration
	repeat   time.Duration
	active   []*interval
	mute     []*interval
	levels   []Level
	children []*node
	own      *Route // the config as written, for Tree
}

type inhibitRule struct {
	source, target []Matcher
	equal          []string
}

// New validates cfg and compiles it.
func New(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{nodes: map[string]*node{}, intervals: map[string]*interval{}}
	for _, ti := range cfg.TimeIntervals {
		iv, err := compileInterval(ti)
		if err != nil { // Validate already refused it
			return nil, fmt.Errorf("compile time interval %s: %w", ti.Name, err)
		}
		r.intervals[ti.Name] = iv
	}
	def := Defaults().Route
	root := &Route{
		GroupWait:      def.GroupWait,
		GroupInterval:  def.GroupInterval,
		RepeatInterval: def.RepeatInterval,
	}
	r.root = r.compile(&cfg.Route, &node{
		wait:     time.Duration(*root.GroupWait),
		interval: time.Duration(*root.GroupInterval),
		repeat:   time.Duration(*root.RepeatInterval),
	}, "route", 0)
	for _, ir := range cfg.InhibitRules {
		src, err := ParseMatchers(ir.SourceMatchers)
		if err != nil {
			return nil, err
		}
		tgt, err := ParseMatchers(ir.TargetMatchers)
		if err != nil {
			return nil, err
		}
		r.inhibit = append(r.inhibit, inhibitRule{source: src, target: tgt, equal: slices.Clone(ir.Equal)})
	}
	return r, nil
}

// compile builds n from rc, inheriting from parent what rc leaves unset.
func (r *Router) compile(rc *Route, parent *node, id string, depth int) *node {
	n := &node{
		id: id, depth: depth, cont: rc.Continue, own: rc,
		groupBy: parent.groupBy, groupAll: parent.groupAll,
		wait: parent.wait, interval: parent.interval, repeat: parent.repeat,
		active: parent.active, mute: parent.mute, levels: parent.levels,
	}
	n.matchers, _ = ParseMatchers(rc.Matchers) // validated
	if rc.GroupBy != nil {
		n.groupAll = slices.Contains(rc.GroupBy, "...")
		n.groupBy = nil
		if !n.groupAll {
			n.groupBy = slices.Sorted(slices.Values(rc.GroupBy))
		}
	}
	if rc.GroupWait != nil {
		n.wait = time.Duration(*rc.GroupWait)
	}
	if rc.GroupInterval != nil {
		n.interval = time.Duration(*rc.GroupInterval)
	}
	if rc.RepeatInterval != nil {
		n.repeat = time.Duration(*rc.RepeatInterval)
	}
	if rc.ActiveTimeIntervals != nil {
		n.active = r.lookupIntervals(rc.ActiveTimeIntervals)
	}
	if rc.MuteTimeIntervals != nil {
		n.mute = r.lookupIntervals(rc.MuteTimeIntervals)
	}
	switch {
	case rc.Escalation != nil:
		n.levels = make([]Level, len(rc.Escalation.Levels))
		for i, l := range rc.Escalation.Levels {
			n.levels[i] = Level{Receivers: slices.Clone(l.Receivers), After: l.After}
		}
	case rc.Receiver != "":
		n.levels = []Level{{Receivers: []string{rc.Receiver}}}
	}
	r.nodes[id] = n
	for i := range rc.Routes {
		n.children = append(n.children, r.compile(&rc.Routes[i], n, fmt.Sprintf("%s.routes[%d]", id, i), depth+1))
	}
	return n
}

func (r *Router) lookupIntervals(names []string) []*interval {
	out := make([]*interval, 0, len(names))
	for _, name := range names {
		out = append(out, r.intervals[name])
	}
	return out
}

// RouteResult is one route an alert reaches.
type RouteResult struct {
	// Route is the route's path in the config: "route.routes[1]".
	Route string `json:"route"`
	// Receivers are notified first (escalation level 1).
	Receivers []string `json:"receivers"`
	// Levels is the whole escalation chain (one level without escalation).
	Levels         []Level       `json:"levels"`
	GroupBy        []string      `json:"group_by,omitempty"`
	GroupWait      time.Duration `json:"group_wait"`
	GroupInterval  time.Duration `json:"group_interval"`
	RepeatInterval time.Duration `json:"repeat_interval"`
}

// Match returns the routes labels reach, in tree order: the deepest
// matching route on each path, trying a route's siblings after it only
// when it sets continue. The root matches everything, so there is always
// at least one result.
func (r *Router) Match(labels map[string]string) []RouteResult {
	nodes := r.match(labels, nil)
	out := make([]RouteResult, len(nodes))
	for i, n := range nodes {
		out[i] = n.result()
	}
	return out
}

func (n *node) result() RouteResult {
	gb := n.groupBy
	if n.groupAll {
		gb = []string{"..."}
	}
	return RouteResult{
		Route: n.id, Receivers: n.levels[0].Receivers, Levels: n.levels, GroupBy: gb,
		GroupWait: n.wait, GroupInterval: n.interval, RepeatInterval: n.repeat,
	}
}

// match appends the matching nodes to dst; the hot path of routing, it
// allocates only dst.
func (r *Router) match(labels map[string]string, dst []*node) []*node {
	return r.root.match(labels, dst)
}

func (n *node) match(labels map[string]string, dst []*node) []*node {
	if !matchAll(n.matchers, labels) {
		return dst
	}
	before := len(dst)
	for _, c := range n.children {
		l := len(dst)
		dst = c.match(labels, dst)
		if len(dst) > l && !c.cont {
			break
		}
	}
	if len(dst) == before {
		dst = append(dst, n)
	}
	return dst
}

// Step is one route considered while routing an alert, for `routes test`.
type Step struct {
	Route string `json:"route"`
	Depth int    `json:"depth"`
	// Matched reports whether every matcher matched.
	Matched bool `json:"matched"`
	// Tried is false for a route skipped because an earlier sibling matched
	// without continue.
	Tried bool `json:"tried"`
	// Selected marks the routes the alert is delivered by.
	Selected  bool     `json:"selected"`
	Continue  bool     `json:"continue,omitempty"`
	Receivers []string `json:"receivers"`
	// Why says which matcher failed and on what value, or why the route was
	// not tried.
	Why string `json:"why"`
}

// Explain walks the tree like Match and records every route it looks at
// and why it matched or not. Routes under a route that did not match are
// not listed.
func (r *Router) Explain(labels map[string]string) []Step {
	var steps []Step
	r.root.explain(labels, &steps)
	return steps
}

func (n *node) explain(labels map[string]string, steps *[]Step) bool {
	i := len(*steps)
	*steps = append(*steps, Step{Route: n.id, Depth: n.depth, Tried: true, Continue: n.cont, Receivers: n.levels[0].Receivers})
	why, ok := explainMatchers(n.matchers, labels)
	(*steps)[i].Why = why
	if !ok {
		return false
	}
	(*steps)[i].Matched = true
	if n.depth == 0 {
		(*steps)[i].Why = "the root matches every alert"
	}
	matched := false
	var stopper string
	for _, c := range n.children {
		if stopper != "" {
			*steps = append(*steps, Step{Route: c.id, Depth: c.depth, Continue: c.cont, Receivers: c.levels[0].Receivers,
				Why: "not tried: " + stopper + " matched without continue"})
			continue
		}
		if c.explain(labels, steps) {
			matched = true
			if !c.cont {
				stopper = c.id
			}
		}
	}
	if !matched {
		(*steps)[i].Selected = true
		if len(n.children) > 0 {
			(*steps)[i].Why += "; no child route matched, so it delivers"
		} else {
			(*steps)[i].Why += "; delivers"
		}
	}
	return true
}

func explainMatchers(ms []Matcher, labels map[string]string) (string, bool) {
	for _, m := range ms {
		if !m.Matches(labels) {
			v, ok := labels[m.Name]
			if !ok {
				return fmt.Sprintf("%s failed: no %s label", m, m.Name), false
			}
			return fmt.Sprintf("%s failed: %s is %q", m, m.Name, v), false
		}
	}
	if len(ms) == 0 {
		return "no matchers", true
	}
	return "matched " + matchersString(ms), true
}

// Tree renders the routing tree, one route a line, with what each route
// sets or inherits:
//
//	route → ops  group_by=[scenario]  wait=30s interval=5m repeat=4h
//	├─ route.routes[0]  risk>=7 → pager, then lead after 15m  continue
func (r *Router) Tree() string {
	var b strings.Builder
	r.root.render(&b, "", "", nil)
	return b.String()
}

func (n *node) render(b *strings.Builder, prefix, branch string, parent *node) {
	b.WriteString(prefix + branch + n.id)
	if len(n.matchers) > 0 {
		b.WriteString("  " + matchersString(n.matchers))
	}
	b.WriteString(" → " + levelsString(n.levels))
	if parent == nil || !slices.Equal(n.groupBy, parent.groupBy) || n.groupAll != parent.groupAll {
		if n.groupAll {
			b.WriteString("  group_by=[...]")
		} else {
			fmt.Fprintf(b, "  group_by=[%s]", strings.Join(n.groupBy, " "))
		}
	}
	if parent == nil || n.wait != parent.wait || n.interval != parent.interval || n.repeat != parent.repeat {
		fmt.Fprintf(b, "  wait=%s interval=%s repeat=%s", short(n.wait), short(n.interval), short(n.repeat))
	}
	if len(n.own.ActiveTimeIntervals) > 0 {
		fmt.Fprintf(b, "  active=[%s]", strings.Join(n.own.ActiveTimeIntervals, " "))
	}
	if len(n.own.MuteTimeIntervals) > 0 {
		fmt.Fprintf(b, "  mute=[%s]", strings.Join(n.own.MuteTimeIntervals, " "))
	}
	if n.cont {
		b.WriteString("  continue")
	}
	b.WriteByte('\n')
	childPrefix := prefix
	switch branch {
	case "├─ ":
		childPrefix += "│  "
	case "└─ ":
		childPrefix += "   "
	}
	for i, c := range n.children {
		br := "├─ "
		if i == len(n.children)-1 {
			br = "└─ "
		}
		c.render(b, childPrefix, br, n)
	}
}

func levelsString(ls []Level) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			fmt.Fprintf(&b, ", then %s after %s", strings.Join(l.Receivers, "+"), short(time.Duration(l.After)))
			continue
		}
		b.WriteString(strings.Join(l.Receivers, "+"))
	}
	return b.String()
}

// muted reports whether n's time intervals mute notifications at t, and
// which interval does.
func (n *node) muted(t time.Time) (string, bool) {
	for _, iv := range n.mute {
		if iv.contains(t) {
			return "mute_time_intervals " + iv.name, true
		}
	}
	if len(n.active) == 0 {
		return "", false
	}
	for _, iv := range n.active {
		if iv.contains(t) {
			return "", false
		}
	}
	names := make([]string, len(n.active))
	for i, iv := range n.active {
		names[i] = iv.name
	}
	return "outside active_time_intervals " + strings.Join(names, ", "), true
}

// short renders 4h0m0s as 4h and 5m0s as 5m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
