package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// overview is the first screen: is the pipeline healthy, how hard are we
// attacked, what waits for the analyst, are the gateways well.
type overview struct {
	st   *Styles
	keys overviewKeys
	snap *Snapshot
	// top indexes the riskiest alerts.
	top  []int
	w, h int
}

func newOverview(st *Styles) *overview {
	return &overview{st: st, keys: newOverviewKeys()}
}

func (v *overview) Update(tea.Msg) (tea.Cmd, bool) { return nil, false }
func (v *overview) SetSize(w, h int)               { v.w, v.h = w, h }
func (v *overview) SetSnapshot(s *Snapshot, _ time.Time) {
	v.snap = s
	v.top = v.top[:0]
	for i := range s.Alerts {
		v.top = append(v.top, i)
	}
	slices.SortStableFunc(v.top, func(i, j int) int { return cmp.Compare(s.Alerts[j].Risk, s.Alerts[i].Risk) })
	// The overview never shows more alerts than a screen has rows.
	v.top = v.top[:min(len(v.top), 100)]
}
func (v *overview) SetNow(time.Time) bool { return false }
func (v *overview) KeyMap() help.KeyMap   { return v.keys }
func (v *overview) Capturing() bool       { return false }
func (v *overview) Tab() (string, int)    { return "Overview", -1 }

// twoColumns is the width from which the overview splits into two columns.
const twoColumns = 100

func (v *overview) View() string {
	if v.snap == nil {
		return v.st.Faint.Render("waiting for the first snapshot…")
	}
	if v.w < twoColumns {
		var out []string
		out = append(out, v.engine(v.w)...)
		out = append(out, "")
		out = append(out, v.gateways(v.w)...)
		out = append(out, v.deliveries(v.w)...)
		out = append(out, "")
		out = append(out, v.rates(v.w)...)
		out = append(out, "")
		out = append(out, v.sources(v.w)...)
		return strings.Join(lines(strings.Join(out, "\n"), v.h), "\n")
	}
	// Two columns leave room for what waits below the summaries: the
	// riskiest alerts and the decisions waiting for approval.
	lw := v.w * 3 / 5
	rw := v.w - lw - 2
	left := append(append(v.engine(lw), ""), v.rates(lw)...)
	left = append(append(left, ""), v.riskiest(lw, v.h-len(left)-2)...)
	right := append(append(v.gateways(rw), v.deliveries(rw)...), "")
	right = append(right, v.sources(rw)...)
	right = append(append(right, ""), v.waiting(rw, v.h-len(right)-2)...)
	out := make([]string, 0, v.h)
	for i := range min(v.h, max(len(left), len(right))) {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out = append(out, fit(l, lw)+"  "+clip(r, rw))
	}
	return strings.Join(out, "\n")
}

// engine is where the data comes from, the pipeline counters and what is
// open.
func (v *overview) engine(w int) []string {
	s := v.snap
	mode := s.Mode
	if s.Source != "" {
		mode += " · " + s.Source
	}
	if s.DryRun {
		mode += " · " + v.st.Warn.Render("DRY-RUN (nothing enforced)")
	} else {
		mode += " · enforcing"
	}
	out := []string{v.st.Label.Render("Engine"), clip(mode, w)}
	st := s.Stats
	tokens := []string{
		"lines " + count(st.Lines),
		"events " + count(st.Events),
		"indicators " + count(st.Indicators),
		"alerts " + count(st.Alerts),
		"decisions " + count(st.Decisions),
		"deduped " + count(st.Deduped),
	}
	out = append(out, pack(tokens, "  ", w)...)
	out = append(out, v.pipeline(w)...)
	wide := 0
	for i := range s.Pending {
		if s.Pending[i].Wide {
			wide++
		}
	}
	pending := fmt.Sprintf("pending %d", len(s.Pending))
	if len(s.Pending) > 0 {
		pending = v.st.Warn.Render(pending)
		if wide > 0 {
			pending += fmt.Sprintf(" (%d wide)", wide)
		}
	}
	now := fmt.Sprintf("now: alerts %d · %s · active %d", len(s.Alerts), pending, len(s.Active))
	if s.Incidents != nil {
		now += fmt.Sprintf(" · incidents %d open", len(s.Incidents))
		if fresh := unacknowledged(s.Incidents); fresh > 0 {
			now += " " + v.st.Warn.Render(fmt.Sprintf("(%d new)", fresh))
		}
	}
	return append(out, pack(strings.Split(now, " · "), " · ", w)...)
}

// backpressureAt is the fill, in percent, from which a queue is marked:
// a stage that keeps its input queue this full is slowing the ones before
// it.
const backpressureAt = 80

// pipeline is each stage's input queue as depth/cap, and the drops. Both
// should read calm; when they do not, the marker is words ("!",
// "backpressure"), the colour only repeats it.
func (v *overview) pipeline(w int) []string {
	var tokens []string
	for _, q := range v.snap.Queues {
		t := fmt.Sprintf("%s %d/%d", q.Stage, q.Depth, q.Cap)
		if q.Cap > 0 && q.Depth*100 >= q.Cap*backpressureAt {
			t = v.st.Warn.Render("! " + t + " backpressure")
		}
		tokens = append(tokens, t)
	}
	if len(tokens) == 0 {
		tokens = append(tokens, v.st.Faint.Render("not reported"))
	}
	tokens[0] = "queues " + tokens[0]
	// Drops are lines the pipeline could not use (Stats.Rejected): there
	// should be none, so any is marked and counted.
	if r := v.snap.Stats.Rejected; r > 0 {
		tokens = append(tokens, v.st.Bad.Render("! drops "+count(r)))
	} else {
		tokens = append(tokens, "drops 0")
	}
	return pack(tokens, "  ", w)
}

// pack packs tokens into lines of at most w cells.
func pack(tokens []string, sep string, w int) []string {
	var out []string
	var cur string
	for _, t := range tokens {
		switch {
		case cur == "":
			cur = t
		case displayWidth(cur)+len(sep)+displayWidth(t) <= w:
			cur += sep + t
		default:
			out = append(out, clip(cur, w))
			cur = t
		}
	}
	if cur != "" {
		out = append(out, clip(cur, w))
	}
	return out
}

func (v *overview) rates(w int) []string {
	out := []string{v.st.Label.Render("Event rate per source")}
	if len(v.snap.Rates) == 0 {
		return append(out, v.st.Faint.Render("  no inputs"))
	}
	// The sparkline shows all the history that fits next to a readable
	// name; the name takes what the history leaves.
	const valW = 8
	points := 0
	for _, r := range v.snap.Rates {
		points = max(points, len(r.PerSecond))
	}
	sparkW := max(0, min(points, w-2-12-1-1-valW))
	nameW := max(1, min(32, w-2-sparkW-1-1-valW))
	for _, r := range v.snap.Rates {
		last := 0.0
		if len(r.PerSecond) > 0 {
			last = r.PerSecond[len(r.PerSecond)-1]
		}
		out = append(out, "  "+fit(r.Source, nameW)+" "+v.st.Spark.Render(sparkline(r.PerSecond, sparkW))+" "+fitRight(rate(last), valW))
	}
	return out
}

func (v *overview) sources(w int) []string {
	out := []string{v.st.Label.Render("Top attacking sources")}
	if len(v.snap.TopSources) == 0 {
		return append(out, v.st.Faint.Render("  none"))
	}
	for _, s := range v.snap.TopSources {
		out = append(out, "  "+fit(s.Source, max(1, w-2-9))+fitRight(count(uint64(max(0, s.Count))), 9))
	}
	return out
}

// gateways marks each gateway's health in words: "!" and DOWN or DRIFT
// when it needs a human.
func (v *overview) gateways(w int) []string {
	out := []string{v.st.Label.Render("Gateways")}
	if len(v.snap.Gateways) == 0 {
		return append(out, v.st.Faint.Render("  none configured"))
	}
	for _, g := range v.snap.Gateways {
		var line string
		switch {
		case !g.Up:
			line = v.st.Bad.Render("! " + g.Name + " DOWN")
		case !g.Intact:
			line = v.st.Bad.Render("! " + g.Name + " DRIFT (rules changed outside phantomsoc)")
		default:
			line = v.st.OK.Render("✓ " + g.Name + " up")
		}
		if g.Up {
			line += fmt.Sprintf(" · %d elements · %s drops", g.Elements, count(g.Drops))
		}
		line = "  " + line
		if g.Error != "" {
			// The error is what the analyst needs to fix the gateway: give
			// it its own line rather than cut it.
			if displayWidth(line)+3+displayWidth(g.Error) > w {
				out = append(out, clip(line, w))
				line = "    " + g.Error
			} else {
				line += " · " + g.Error
			}
		}
		out = append(out, clip(line, w))
	}
	return out
}

// deliveries is the notifications per receiver, after an empty line;
// nothing without routing. A receiver with failures is marked "!" and
// FAILED, its last error on the line or the next.
func (v *overview) deliveries(w int) []string {
	if len(v.snap.Deliveries) == 0 {
		return nil
	}
	out := []string{"", v.st.Label.Render("Notifications")}
	for _, d := range v.snap.Deliveries {
		tail := fmt.Sprintf(" · %d sent · %d waiting", d.Sent, d.Waiting)
		if d.Suppressed > 0 {
			tail += fmt.Sprintf(" · %d suppressed", d.Suppressed)
		}
		var line string
		if d.Failed > 0 {
			line = "  " + v.st.Bad.Render(fmt.Sprintf("! %s %d FAILED", d.Receiver, d.Failed)) + tail
		} else {
			mark := v.st.OK.Render("✓ " + d.Receiver)
			if d.Waiting > 0 {
				mark = v.st.Warn.Render("… " + d.Receiver)
			}
			line = "  " + mark + tail
		}
		if d.LastError == "" {
			out = append(out, clip(line, w))
			continue
		}
		if displayWidth(line)+3+displayWidth(d.LastError) > w {
			out = append(out, clip(line, w))
			line = "    " + printable(d.LastError)
		} else {
			line += " · " + printable(d.LastError)
		}
		out = append(out, clip(line, w))
	}
	return out
}

// riskiest lists up to n alerts, highest risk first.
func (v *overview) riskiest(w, n int) []string {
	if n < 2 || len(v.snap.Alerts) == 0 {
		return nil
	}
	out := []string{v.st.Label.Render("Highest-risk alerts")}
	for _, i := range v.top[:min(len(v.top), n-1)] {
		a := &v.snap.Alerts[i]
		out = append(out, clip(fmt.Sprintf("  %4.1f %s %s %s", a.Risk, fit(a.Scenario, 16), fit(alertSource(a), 18), a.Description), w))
	}
	return out
}

// waiting lists up to n decisions waiting for approval.
func (v *overview) waiting(w, n int) []string {
	if n < 2 || len(v.snap.Pending) == 0 {
		return nil
	}
	out := []string{v.st.Label.Render(fmt.Sprintf("Waiting for approval (%d)", len(v.snap.Pending)))}
	for i := range v.snap.Pending[:min(len(v.snap.Pending), n-1)] {
		p := &v.snap.Pending[i]
		flag := "      "
		if p.Wide {
			flag = "[WIDE]"
		}
		out = append(out, clip(fmt.Sprintf("  %s %s %s", flag, fit(p.Decision.Action, 10), confirmWord(p)), w))
	}
	return out
}

// unacknowledged counts the incidents nobody has acknowledged yet.
func unacknowledged(incs []engine.Incident) int {
	n := 0
	for i := range incs {
		if incs[i].State == engine.IncidentNew {
			n++
		}
	}
	return n
}
