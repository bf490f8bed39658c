package tui

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/route"
)

// alertSort is the order of the alerts table; o cycles through them.
type alertSort int

const (
	byRisk alertSort = iota
	byTime
	byScenario
	bySource
	sortCount
)

func (s alertSort) String() string {
	return [...]string{"risk", "time", "scenario", "source"}[s]
}

// alerts is the alerts table and, on enter, one alert's detail.
type alerts struct {
	st     *Styles
	keys   alertKeys
	call   caller
	snap   *Snapshot
	w, h   int
	prompt prompt

	sort  alertSort
	order []int
	sel   cursor
	// selID keeps the selection on the same alert as snapshots reorder
	// the table.
	selID string

	// detail is the open alert (a copy, so it stays readable if the alert
	// scrolls out of the snapshot), nil in the table.
	detail *engine.Alert
	dlines []string
	dtop   cursor
}

func newAlerts(st *Styles, call caller) *alerts {
	return &alerts{st: st, keys: newAlertKeys(), call: call, prompt: newPrompt(st)}
}

func (v *alerts) Tab() (string, int) {
	if v.snap == nil {
		return "Alerts", -1
	}
	return "Alerts", len(v.snap.Alerts)
}

func (v *alerts) Capturing() bool       { return v.prompt.active() }
func (v *alerts) SetNow(time.Time) bool { return false }

func (v *alerts) SetSize(w, h int) {
	v.w, v.h = w, h
	v.prompt.setWidth(w)
	if v.detail != nil {
		v.dlines = v.detailLines(*v.detail)
	}
	v.clamp()
}

// clamp keeps the selection and the detail's scroll in view after the
// space for them changed (a resize, a prompt opening or closing).
func (v *alerts) clamp() {
	v.sel.clamp(len(v.order), v.rowsH())
	if v.detail != nil {
		v.dtop.clamp(len(v.dlines), v.bodyH())
	}
}

// bodyH is the rows above an open prompt.
func (v *alerts) bodyH() int { return max(1, v.h-len(v.prompt.view(v.w))) }

// rowsH is the table rows that fit under the title and the column header.
func (v *alerts) rowsH() int { return max(1, v.bodyH()-2) }

func (v *alerts) SetSnapshot(s *Snapshot, _ time.Time) {
	v.snap = s
	v.resort()
}

// resort orders the table and puts the selection back on selID.
func (v *alerts) resort() {
	as := v.snap.Alerts
	v.order = v.order[:0]
	for i := range as {
		v.order = append(v.order, i)
	}
	slices.SortStableFunc(v.order, func(i, j int) int {
		a, b := &as[i], &as[j]
		switch v.sort {
		case byTime:
			return b.Time.Compare(a.Time)
		case byScenario:
			return cmp.Or(strings.Compare(a.Scenario, b.Scenario), cmp.Compare(b.Risk, a.Risk))
		case bySource:
			return cmp.Or(compareSource(a, b), cmp.Compare(b.Risk, a.Risk))
		}
		return cmp.Or(cmp.Compare(b.Risk, a.Risk), b.Time.Compare(a.Time))
	})
	v.sel.follow(len(v.order), v.rowsH(), v.id, &v.selID)
}

func compareSource(a, b *engine.Alert) int {
	if a.Source.IsValid() && b.Source.IsValid() {
		return a.Source.Compare(b.Source)
	}
	return strings.Compare(alertSource(a), alertSource(b))
}

func (v *alerts) id(i int) string { return v.snap.Alerts[v.order[i]].ID }

func (v *alerts) remember() { v.sel.remember(len(v.order), v.id, &v.selID) }

// alertSource names what an alert blames: the address, else the campaign's
// prefixes, else its key.
func alertSource(a *engine.Alert) string {
	if a.Source.IsValid() {
		return a.Source.String()
	}
	if len(a.Prefixes) > 0 {
		ps := make([]string, len(a.Prefixes))
		for i, p := range a.Prefixes {
			ps[i] = engine.PrefixString(p)
		}
		return strings.Join(ps, ",")
	}
	return a.Key
}

func (v *alerts) KeyMap() help.KeyMap {
	if v.prompt.active() {
		return v.prompt.keyMap()
	}
	return v.bindings()
}

// bindings are the keys with only those that apply now enabled.
func (v *alerts) bindings() alertKeys {
	k := v.keys
	n := len(v.order)
	inDetail := v.detail != nil
	k.navKeys.setEnabled((inDetail && len(v.dlines) > v.bodyH()) || (!inDetail && n > 1))
	k.Open.SetEnabled(!inDetail && n > 0)
	k.Back.SetEnabled(inDetail)
	k.Sort.SetEnabled(!inDetail && n > 1)
	selected := v.selected() != nil
	k.Silence.SetEnabled(selected)
	k.Ack.SetEnabled(selected)
	return k
}

// selected is the alert s and K act on: the open one, else the table's
// selection; nil when there is none.
func (v *alerts) selected() *engine.Alert {
	if v.detail != nil {
		return v.detail
	}
	if v.snap == nil || len(v.order) == 0 {
		return nil
	}
	return &v.snap.Alerts[v.order[v.sel.pos]]
}

func (v *alerts) Update(msg tea.Msg) (tea.Cmd, bool) {
	if v.prompt.active() {
		cmd := v.prompt.update(msg)
		v.clamp()
		return cmd, true
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || v.snap == nil {
		return nil, false
	}
	keys := v.bindings()
	switch {
	case key.Matches(k, keys.Silence):
		cmd := v.silence(*v.selected())
		v.clamp()
		return cmd, true
	case key.Matches(k, keys.Ack):
		v.ack(*v.selected())
		v.clamp()
		return nil, true
	}
	if v.detail != nil {
		if key.Matches(k, keys.Back) {
			v.detail, v.dlines = nil, nil
			return nil, true
		}
		return nil, keys.scroll(k, &v.dtop, len(v.dlines), v.bodyH())
	}
	switch {
	case key.Matches(k, keys.Open):
		a := v.snap.Alerts[v.order[v.sel.pos]]
		v.detail = &a
		v.dlines = v.detailLines(a)
		v.dtop = cursor{}
		return nil, true
	case key.Matches(k, keys.Sort):
		v.sort = (v.sort + 1) % sortCount
		v.resort()
		return nil, true
	case keys.move(k, &v.sel, len(v.order), v.rowsH()):
		v.remember()
		return nil, true
	}
	return nil, false
}

func (v *alerts) columns() []column {
	return []column{
		{title: "RISK", min: 4, right: true},
		{title: "TIME", min: 8},
		{title: "SCENARIO", min: 14, max: 24},
		{title: "SOURCE", min: 15, max: 30},
		{title: "EVENTS", min: 6, right: true},
		{title: "PROPOSE", min: 10},
		{title: "CONF", min: 4, right: true},
		{title: "DESCRIPTION", min: 10, max: 200},
	}
}

func (v *alerts) View() string {
	if v.snap == nil {
		return v.st.Faint.Render("waiting for the first snapshot…")
	}
	pl := v.prompt.view(v.w)
	if v.detail != nil {
		from, to := v.dtop.window(len(v.dlines), v.bodyH())
		return strings.Join(append(slices.Clone(v.dlines[from:to]), pl...), "\n")
	}
	body := v.table()
	if len(pl) == 0 {
		return body
	}
	// The prompt goes right under the rows, near the alert it is about.
	return strings.Join(append(lines(body, v.bodyH()), pl...), "\n")
}

// table is the sorted alerts, the selection marked.
func (v *alerts) table() string {
	var b strings.Builder
	b.WriteString(v.st.Label.Render(clip(fmt.Sprintf("Alerts %d · sorted by %s ▾", len(v.order), v.sort), v.w)))
	if len(v.order) == 0 {
		b.WriteString("\n" + v.st.Faint.Render("no alerts"))
		return b.String()
	}
	cols := v.columns()
	ws := widths(cols, v.w-2)
	b.WriteString("\n  " + v.st.Header.Render(headerRow(cols, ws)))
	from, to := v.sel.window(len(v.order), v.rowsH())
	for i := from; i < to; i++ {
		a := &v.snap.Alerts[v.order[i]]
		line := row(cols, ws,
			fmt.Sprintf("%.1f", a.Risk),
			a.Time.Format("15:04:05"),
			a.Scenario,
			alertSource(a),
			fmt.Sprint(a.Count),
			a.Propose,
			fmt.Sprintf("%.2f", a.Confidence),
			a.Description,
		)
		b.WriteByte('\n')
		if i == v.sel.pos {
			b.WriteString(v.st.Selected.Render("› " + line))
		} else {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}

// detailLines renders one alert for reading: why it is risky, how sure we
// are, what acting on it touches, and the lines that prove it.
func (v *alerts) detailLines(a engine.Alert) []string {
	w := v.w
	out := []string{
		v.st.Label.Render(clip(fmt.Sprintf("Alert %s · %s · risk %.1f/10 · confidence %.0f%%", a.ID, a.Scenario, a.Risk, a.Confidence*100), w)),
	}
	if a.Description != "" {
		out = append(out, clip(a.Description, w))
	}
	who := []string{"source " + alertSource(&a)}
	if a.Sources > 1 {
		who = append(who, fmt.Sprintf("%d sources", a.Sources))
	}
	if a.Host != "" {
		who = append(who, "host "+a.Host)
	}
	if a.Dest.IsValid() {
		who = append(who, "dest "+a.Dest.String())
	}
	if len(a.Users) > 0 {
		who = append(who, "users "+strings.Join(a.Users, ", "))
	}
	out = append(out, pack(who, " · ", w)...)
	out = append(out, pack([]string{
		"first " + clock(a.First), "last " + clock(a.Time),
		fmt.Sprintf("%d events", a.Count), "proposes " + a.Propose,
	}, " · ", w)...)
	out = append(out, "", v.st.Label.Render("Risk factors"))
	out = append(out, v.factors(a.Factors, w)...)
	out = append(out, v.st.Label.Render("Confidence reasons"))
	out = append(out, v.factors(a.Reasons, w)...)
	out = append(out, v.st.Label.Render("Blast radius"))
	bl := a.Blast
	blast := []string{
		"assets " + orNone(bl.Assets), "users " + orNone(bl.Users), "gateways " + orAll(bl.Gateways),
		fmt.Sprintf("addresses %d", bl.Addresses),
	}
	for _, l := range pack(blast, " · ", w-2) {
		out = append(out, "  "+l)
	}
	out = append(out, v.st.Label.Render(fmt.Sprintf("Evidence (%d of %d events)", len(a.Evidence), a.Count)))
	for _, ev := range a.Evidence {
		raw := printable(ev.Raw)
		if raw == "" {
			raw = fmt.Sprintf("%s %s %s", clock(ev.Time), ev.Type, ev.Source)
		}
		out = append(out, "  "+clip(raw, w-2))
	}
	return out
}

func (v *alerts) factors(fs []engine.Factor, w int) []string {
	if len(fs) == 0 {
		return []string{v.st.Faint.Render("  none recorded")}
	}
	out := make([]string, 0, len(fs))
	nameW := min(18, max(8, w/6))
	for _, f := range fs {
		out = append(out, clip(fmt.Sprintf("  %+6.2f %s %s", f.Value, fit(f.Name, nameW), f.Why), w))
	}
	return out
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

func orAll(ss []string) string {
	if len(ss) == 0 {
		return "all"
	}
	return strings.Join(ss, ", ")
}

// defaultSilence is how long s silences for when the analyst just presses
// enter.
const defaultSilence = 2 * time.Hour

// alertLabel names an alert in prompts and the status line.
func alertLabel(a *engine.Alert) string {
	return a.ID + " " + a.Scenario + " " + alertSource(a)
}

// silenceMatchers are the matchers s suggests for a: its scenario and what
// it blames, by the labels the router gives it (source, else a campaign's
// prefixes, else its key), so the silence matches this alert and its
// repeats, not the whole scenario.
func silenceMatchers(a *engine.Alert) string {
	l := route.Labels(a)
	terms := []string{route.LabelScenario + "=" + l[route.LabelScenario]}
	for _, name := range []string{route.LabelSource, route.LabelPrefixes, route.LabelKey} {
		if v := l[name]; v != "" {
			terms = append(terms, name+"="+v)
			break
		}
	}
	return strings.Join(terms, " ")
}

// parseMatchers reads space-separated matchers as the router will.
func parseMatchers(s string) ([]string, error) {
	ms := strings.Fields(s)
	if len(ms) == 0 {
		return nil, errors.New("at least one matcher is required, or esc")
	}
	if _, err := route.ParseMatchers(ms); err != nil {
		return nil, err
	}
	return ms, nil
}

// parseSilence reads how long to silence for; empty is the default.
func parseSilence(s string) (time.Duration, error) {
	if s == "" {
		return defaultSilence, nil
	}
	return parseDur(s)
}

// silence asks for the matchers (suggested from a, editable), how long and
// why, then silences.
func (v *alerts) silence(a engine.Alert) tea.Cmd {
	label := alertLabel(&a)
	// Questions lead with what to answer: at 80 columns the tail is cut.
	q := "silence " + a.ID + " " + a.Scenario + ": which alerts? matchers, all must match"
	return v.prompt.prefilled(q, silenceMatchers(&a), func(s string) error { _, err := parseMatchers(s); return err }, func(s string) tea.Cmd {
		ms, _ := parseMatchers(s)
		what := strings.Join(ms, " ")
		q := "silence for how long? like 30m or 4h, empty = " + shortDur(defaultSilence) + " · " + what
		return v.prompt.free(q, func(s string) error { _, err := parseSilence(s); return err }, func(s string) tea.Cmd {
			d, _ := parseSilence(s)
			q := "why? a comment is required · silencing " + what + " for " + shortDur(d)
			return v.prompt.require(q, "a comment", func(comment string) tea.Cmd {
				return v.call.silence(ms, d, comment, label)
			})
		})
	})
}

// ack asks y/n, then acknowledges a.
func (v *alerts) ack(a engine.Alert) {
	id, label := a.ID, alertLabel(&a)
	v.prompt.confirm("acknowledge "+label, func(string) tea.Cmd {
		return v.call.ack(id, label)
	})
}

// selectID opens alert id (any case) in the detail, so a palette command
// shows what it acts on.
func (v *alerts) selectID(id string) (*engine.Alert, error) {
	i := -1
	if v.snap != nil {
		i = slices.IndexFunc(v.order, func(j int) bool { return strings.EqualFold(v.snap.Alerts[j].ID, id) })
	}
	if i < 0 {
		return nil, fmt.Errorf("no alert %s (of the %d most recent)", id, len(v.order))
	}
	v.detail, v.dlines = nil, nil
	v.sel.pos = i
	v.sel.clamp(len(v.order), v.rowsH())
	v.remember()
	return &v.snap.Alerts[v.order[i]], nil
}

// ackID is K for alert id, from the palette: the same y/n.
func (v *alerts) ackID(id string) error {
	a, err := v.selectID(id)
	if err != nil {
		return err
	}
	v.ack(*a)
	v.clamp()
	return nil
}

// silenceID silences alert id's suggested matchers for d, from the
// palette, which has the duration and comment in hand.
func (v *alerts) silenceID(id string, d time.Duration, comment string) (tea.Cmd, error) {
	a, err := v.selectID(id)
	if err != nil {
		return nil, err
	}
	ms, err := parseMatchers(silenceMatchers(a))
	if err != nil {
		return nil, err
	}
	return v.call.silence(ms, d, comment, alertLabel(a)), nil
}
