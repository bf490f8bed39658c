package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// decisions lists the decisions in force, where each is enforced and how
// long it has left.
type decisions struct {
	st     *Styles
	keys   decisionKeys
	call   caller
	snap   *Snapshot
	now    time.Time
	w, h   int
	sel    cursor
	selID  string
	prompt prompt
}

func newDecisions(st *Styles, call caller) *decisions {
	return &decisions{st: st, keys: newDecisionKeys(), call: call, prompt: newPrompt(st)}
}

func (v *decisions) Tab() (string, int) {
	if v.snap == nil {
		return "Active", -1
	}
	return "Active", len(v.snap.Active)
}

func (v *decisions) Capturing() bool { return v.prompt.active() }

// SetNow moves the countdowns; only a screen showing some redraws.
func (v *decisions) SetNow(now time.Time) bool {
	v.now = now
	return v.n() > 0
}

func (v *decisions) SetSize(w, h int) {
	v.w, v.h = w, h
	v.prompt.setWidth(w)
	v.sel.clamp(v.n(), v.rowsH())
}

func (v *decisions) n() int {
	if v.snap == nil {
		return 0
	}
	return len(v.snap.Active)
}

func (v *decisions) bodyH() int { return max(0, v.h-len(v.prompt.view(v.w))) }

func (v *decisions) listRows() int { return min(v.n()+2, max(4, v.bodyH()*3/5)) }

func (v *decisions) rowsH() int { return max(1, v.listRows()-2) }

func (v *decisions) SetSnapshot(s *Snapshot, now time.Time) {
	v.snap, v.now = s, now
	v.sel.follow(v.n(), v.rowsH(), v.id, &v.selID)
}

func (v *decisions) id(i int) string { return v.snap.Active[i].Decision.ID }

func (v *decisions) remember() { v.sel.remember(v.n(), v.id, &v.selID) }

func (v *decisions) KeyMap() help.KeyMap {
	if v.prompt.active() {
		return v.prompt.keyMap()
	}
	return v.bindings()
}

// bindings are the keys with only those that apply now enabled.
func (v *decisions) bindings() decisionKeys {
	k := v.keys
	k.navKeys.setEnabled(v.n() > 1)
	k.Rollback.SetEnabled(v.n() > 0)
	// A permanent decision has no expiry to move.
	k.Extend.SetEnabled(v.n() > 0 && !v.snap.Active[v.sel.pos].Decision.Expires.IsZero())
	return k
}

// defaultExtend is what x extends by when the analyst just presses enter.
const defaultExtend = 4 * time.Hour

func (v *decisions) Update(msg tea.Msg) (tea.Cmd, bool) {
	if v.prompt.active() {
		return v.prompt.update(msg), true
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || v.n() == 0 {
		return nil, false
	}
	keys := v.bindings()
	switch {
	case key.Matches(k, keys.Rollback):
		v.rollback(&v.snap.Active[v.sel.pos])
		return nil, true
	case key.Matches(k, keys.Extend):
		a := &v.snap.Active[v.sel.pos]
		id, label := a.Decision.ID, a.Decision.Action+" "+target(&a.Decision)
		q := fmt.Sprintf("extend %s (%s left) by how long? like 30m or 4h, empty = %s", label, left(&a.Decision, v.now), shortDur(defaultExtend))
		return v.prompt.free(q, func(s string) error { _, err := parseExtend(s); return err }, func(s string) tea.Cmd {
			by, _ := parseExtend(s)
			return v.call.extend(id, by, label)
		}), true
	case keys.move(k, &v.sel, v.n(), v.rowsH()):
		v.remember()
		return nil, true
	}
	return nil, false
}

// parseExtend reads how long to extend by; empty is the default.
func parseExtend(s string) (time.Duration, error) {
	if s == "" {
		return defaultExtend, nil
	}
	return parseDur(s)
}

// rollback asks y/n, then rolls a back everywhere.
func (v *decisions) rollback(a *Active) {
	id, label := a.Decision.ID, a.Decision.Action+" "+target(&a.Decision)
	v.prompt.confirm("roll back "+label+" on "+orAll(a.Decision.Gateways)+" now", func(string) tea.Cmd {
		return v.call.rollback(id, label)
	})
}

// selectID puts the selection on active decision id (any case).
func (v *decisions) selectID(id string) (*Active, error) {
	i := -1
	if v.snap != nil {
		i = slices.IndexFunc(v.snap.Active, func(a Active) bool { return strings.EqualFold(a.Decision.ID, id) })
	}
	if i < 0 {
		return nil, fmt.Errorf("no active decision %s", id)
	}
	v.sel.pos = i
	v.sel.clamp(v.n(), v.rowsH())
	v.remember()
	return &v.snap.Active[i], nil
}

// rollbackID is u for decision id, from the palette: the same y/n.
func (v *decisions) rollbackID(id string) error {
	a, err := v.selectID(id)
	if err != nil {
		return err
	}
	v.rollback(a)
	return nil
}

// extendID is x for decision id with its duration given, from the
// palette.
func (v *decisions) extendID(id string, by time.Duration) (tea.Cmd, error) {
	a, err := v.selectID(id)
	if err != nil {
		return nil, err
	}
	if a.Decision.Expires.IsZero() {
		return nil, fmt.Errorf("%s never expires: nothing to extend", a.Decision.ID)
	}
	return v.call.extend(a.Decision.ID, by, a.Decision.Action+" "+target(&a.Decision)), nil
}

// target names what a decision acts on; a rule for everyone has no
// address.
func target(d *engine.Decision) string {
	if t := d.TargetString(); t != "" {
		return t
	}
	return "everyone"
}

// left is the time a decision has left at now, in words.
func left(d *engine.Decision, now time.Time) string {
	if d.Expires.IsZero() {
		return "perm"
	}
	r := d.Expires.Sub(now)
	if r <= 0 {
		return "expired"
	}
	return span(r)
}

// dropsTotal is the packets a decision's elements dropped on every
// gateway: "—" when nothing is enforced (dry run) or not read yet, a
// trailing "*" when a wider range's count is in it.
func (v *decisions) dropsTotal(a *Active) string {
	if v.snap.DryRun || a.Drops == nil {
		return "—"
	}
	var n uint64
	shared := ""
	for _, d := range a.Drops {
		n += d.Packets
		if d.Shared {
			shared = "*"
		}
	}
	return count(n) + shared
}

// dropsOn says what a decision dropped on one gateway, in words.
func (v *decisions) dropsOn(a *Active, gw string) string {
	if v.snap.DryRun {
		return "drops — (dry run)"
	}
	for _, d := range a.Drops {
		if d.Gateway != gw {
			continue
		}
		if d.Missing {
			return "drops — (not there)"
		}
		s := fmt.Sprintf("drops %s pkts %s", count(d.Packets), byteSize(d.Bytes))
		if d.Shared {
			s += " (* shared)"
		}
		return s
	}
	return "drops —"
}

// byteSize renders n bytes compactly: 512 B, 88.1 KB, 3.4 MB.
func byteSize(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n)/unit, 0
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGT"[i])
}

// enforcementMark says a gateway's state without colour: applied ✓,
// waiting …, removed -, dry-run ~, failing !.
func (v *decisions) enforcement(e *engine.Enforcement) string {
	switch {
	case e.Error != "":
		return v.st.Bad.Render("! " + e.Gateway + " " + e.State)
	case e.State == engine.EnforceApplied:
		return v.st.OK.Render("✓ " + e.Gateway)
	case e.State == engine.EnforcePending:
		return v.st.Warn.Render("… " + e.Gateway + " pending")
	case e.State == engine.EnforceDryRun:
		return "~ " + e.Gateway + " dry-run"
	default:
		return "- " + e.Gateway + " " + e.State
	}
}

func (v *decisions) columns() []column {
	return []column{
		{title: "TARGET", min: 15, max: 24},
		{title: "ACTION", min: 10},
		{title: "LEFT", min: 7, right: true},
		{title: "DROPS", min: 6, right: true},
		{title: "GATEWAYS", min: 14, max: 60},
		{title: "SCENARIO", min: 12, max: 24},
	}
}

func (v *decisions) View() string {
	if v.snap == nil {
		return v.st.Faint.Render("waiting for the first snapshot…")
	}
	body := splitPane(v.st, v.w, v.bodyH(), v.listRows(), v.list, v.detail)
	return strings.Join(append(body, v.prompt.view(v.w)...), "\n")
}

func (v *decisions) list(w, h int) []string {
	out := []string{v.st.Label.Render(clip(fmt.Sprintf("Active %d · soonest to expire first", v.n()), w))}
	if v.n() == 0 {
		return append(out, v.st.Faint.Render("no decision in force"))
	}
	cols := v.columns()
	ws := widths(cols, w-2)
	out = append(out, "  "+v.st.Header.Render(headerRow(cols, ws)))
	from, to := v.sel.window(v.n(), h-2)
	var gws []string
	for i := from; i < to; i++ {
		a := &v.snap.Active[i]
		d := &a.Decision
		gws = gws[:0]
		for j := range a.Enforcements {
			gws = append(gws, v.enforcement(&a.Enforcements[j]))
		}
		if len(gws) == 0 {
			gws = append(gws, "none yet")
		}
		line := row(cols, ws, target(d), d.Action, left(d, v.now), v.dropsTotal(a), strings.Join(gws, " "), d.Scenario)
		if i == v.sel.pos {
			out = append(out, v.st.Selected.Render("› "+line))
		} else {
			out = append(out, "  "+line)
		}
	}
	return out
}

func (v *decisions) detail(w, h int) []string {
	if v.n() == 0 {
		return nil
	}
	a := &v.snap.Active[v.sel.pos]
	d := &a.Decision
	expires := "never expires"
	if !d.Expires.IsZero() {
		expires = "expires " + clock(d.Expires)
	}
	how := "approved by an analyst"
	if d.Auto {
		how = "applied by policy"
	}
	out := []string{
		v.st.Label.Render(clip(d.Action+" "+target(d)+" · "+left(d, v.now)+" left", w)),
	}
	out = append(out, pack([]string{expires, how, fmt.Sprintf("risk %.1f", d.Risk), fmt.Sprintf("offense %d", d.Offense)}, " · ", w)...)
	out = append(out, pack([]string{"scenario " + d.Scenario, "alert " + d.AlertID, "decision " + d.ID}, " · ", w)...)
	if d.Reason != "" {
		out = append(out, clip("reason: "+d.Reason, w))
	}
	out = append(out, v.st.Label.Render("Enforcement"))
	if len(a.Enforcements) == 0 {
		out = append(out, v.st.Faint.Render("  no gateway has it yet"))
	}
	for i := range a.Enforcements {
		e := &a.Enforcements[i]
		line := fit(v.enforcement(e), 22) + " " + v.dropsOn(a, e.Gateway) + " · " + e.State + " · updated " + clock(e.Updated)
		if e.Error != "" {
			line += " · " + e.Error
		}
		out = append(out, "  "+clip(line, w-2))
	}
	return out[:min(len(out), h)]
}
