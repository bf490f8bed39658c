package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// incidentSort is the order of the incidents table; o cycles through them.
type incidentSort int

const (
	incByRisk incidentSort = iota
	incByOpened
	incByState
	incBySource
	incSortCount
)

func (s incidentSort) String() string {
	return [...]string{"risk", "opened", "state", "source"}[s]
}

// incidents is the incidents table and, on enter, one incident's detail:
// what it holds, its response times and its timeline.
type incidents struct {
	st     *Styles
	keys   incidentKeys
	call   caller
	snap   *Snapshot
	now    time.Time
	w, h   int
	prompt prompt

	// all lists closed incidents too. The open ones come with every
	// snapshot; all of them take an Incidents call, made while the view
	// is focused, one at a time.
	all      bool
	fetched  []engine.Incident
	fetching bool
	listErr  error

	// rows is what the table lists: the snapshot's or the fetched.
	rows  []engine.Incident
	sort  incidentSort
	order []int
	sel   cursor
	// selID keeps the selection on the same incident as the list
	// changes.
	selID string

	// detailID is the incident open, "" in the table. det is its last
	// answer (nil until the first comes), detErr why the last call failed;
	// detFor is the list's copy of the incident when the call was made:
	// when a snapshot brings a different one, the detail is read again.
	detailID   string
	det        *IncidentDetail
	detErr     error
	detFor     incidentStamp
	detLoading bool
	dlines     []string
	dtop       cursor
}

// incidentStamp is what changes when an incident does: a list entry with
// another stamp than the detail's was read for is news.
type incidentStamp struct {
	state, owner    string
	alerts, history int
	risk            float64
	lastSeen        time.Time
}

func stampOf(inc *engine.Incident) incidentStamp {
	return incidentStamp{state: inc.State, owner: inc.Owner, alerts: len(inc.Alerts), history: len(inc.History), risk: inc.Risk, lastSeen: inc.LastSeen}
}

func newIncidents(st *Styles, call caller) *incidents {
	return &incidents{st: st, keys: newIncidentKeys(), call: call, prompt: newPrompt(st)}
}

// Tab counts the open incidents.
func (v *incidents) Tab() (string, int) {
	if v.snap == nil || v.snap.Incidents == nil {
		return "Incidents", -1
	}
	return "Incidents", len(v.snap.Incidents)
}

func (v *incidents) Capturing() bool { return v.prompt.active() }

// SetNow moves the ages; only a table showing some redraws.
func (v *incidents) SetNow(now time.Time) bool {
	v.now = now
	return v.detailID == "" && len(v.order) > 0
}

func (v *incidents) SetSize(w, h int) {
	v.w, v.h = w, h
	v.prompt.setWidth(w)
	v.render()
	v.clamp()
}

func (v *incidents) clamp() {
	v.sel.clamp(len(v.order), v.rowsH())
	if v.detailID != "" {
		v.dtop.clamp(len(v.dlines), v.bodyH())
	}
}

// bodyH is the rows above an open prompt.
func (v *incidents) bodyH() int { return max(1, v.h-len(v.prompt.view(v.w))) }

// rowsH is the table rows under the title and the column header.
func (v *incidents) rowsH() int { return max(1, v.bodyH()-2) }

func (v *incidents) SetSnapshot(s *Snapshot, now time.Time) {
	v.snap, v.now = s, now
	if !v.all {
		v.rows = s.Incidents
		v.resort()
	}
}

// poll is the I/O the view needs after a snapshot while it is focused:
// the list of all incidents when it shows them, and the open detail when
// the list says its incident changed.
func (v *incidents) poll() tea.Cmd {
	var cmds []tea.Cmd
	if v.all && !v.fetching {
		v.fetching = true
		cmds = append(cmds, v.call.incidents(false))
	}
	if v.detailID != "" && !v.detLoading {
		if inc := v.find(v.detailID); inc != nil && stampOf(inc) != v.detFor {
			cmds = append(cmds, v.loadDetail())
		}
	}
	return tea.Batch(cmds...)
}

// acted reads again what an incident change touched.
func (v *incidents) acted() tea.Cmd {
	var cmds []tea.Cmd
	if v.all && !v.fetching {
		v.fetching = true
		cmds = append(cmds, v.call.incidents(false))
	}
	if v.detailID != "" {
		cmds = append(cmds, v.loadDetail())
	}
	return tea.Batch(cmds...)
}

func (v *incidents) loadDetail() tea.Cmd {
	v.detLoading = true
	if inc := v.find(v.detailID); inc != nil {
		v.detFor = stampOf(inc)
	}
	return v.call.incident(v.detailID)
}

// find is the list's copy of incident id, nil when it is not listed.
func (v *incidents) find(id string) *engine.Incident {
	for i := range v.rows {
		if v.rows[i].ID == id {
			return &v.rows[i]
		}
	}
	return nil
}

// resort orders the table and puts the selection back on selID.
func (v *incidents) resort() {
	rs := v.rows
	v.order = v.order[:0]
	for i := range rs {
		v.order = append(v.order, i)
	}
	slices.SortStableFunc(v.order, func(i, j int) int {
		a, b := &rs[i], &rs[j]
		switch v.sort {
		case incByOpened:
			return cmp.Or(b.Opened.Compare(a.Opened), strings.Compare(b.ID, a.ID))
		case incByState:
			return cmp.Or(cmp.Compare(engine.IncidentStateRank(a.State), engine.IncidentStateRank(b.State)), cmp.Compare(b.Risk, a.Risk))
		case incBySource:
			return cmp.Or(strings.Compare(firstOf(a.Sources), firstOf(b.Sources)), cmp.Compare(b.Risk, a.Risk))
		}
		return cmp.Or(cmp.Compare(b.Risk, a.Risk), b.Opened.Compare(a.Opened))
	})
	v.sel.follow(len(v.order), v.rowsH(), v.id, &v.selID)
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func (v *incidents) id(i int) string { return v.rows[v.order[i]].ID }

func (v *incidents) remember() { v.sel.remember(len(v.order), v.id, &v.selID) }

// selected is the incident the keys act on: the open one, else the
// table's selection; nil when there is none.
func (v *incidents) selected() *engine.Incident {
	if v.detailID != "" {
		if v.det != nil {
			return &v.det.Incident
		}
		return v.find(v.detailID)
	}
	if len(v.order) == 0 {
		return nil
	}
	return &v.rows[v.order[v.sel.pos]]
}

func (v *incidents) KeyMap() help.KeyMap {
	if v.prompt.active() {
		return v.prompt.keyMap()
	}
	return v.bindings()
}

// bindings are the keys with only those that apply now enabled: a closed
// incident takes no change, a new one no state chooser before its ack.
func (v *incidents) bindings() incidentKeys {
	k := v.keys
	n := len(v.order)
	inDetail := v.detailID != ""
	k.navKeys.setEnabled((inDetail && len(v.dlines) > v.bodyH()) || (!inDetail && n > 1))
	k.Open.SetEnabled(!inDetail && n > 0)
	k.Back.SetEnabled(inDetail)
	k.Sort.SetEnabled(!inDetail && n > 1)
	k.Filter.SetEnabled(!inDetail && v.snap != nil)
	inc := v.selected()
	open := inc != nil && inc.IsOpen()
	rank := -1
	if inc != nil {
		rank = engine.IncidentStateRank(inc.State)
	}
	k.Ack.SetEnabled(open && inc.State == engine.IncidentNew)
	k.Assign.SetEnabled(open)
	k.Advance.SetEnabled(open && rank < engine.IncidentStateRank(engine.IncidentRecovered))
	k.Close.SetEnabled(open)
	k.Merge.SetEnabled(open)
	k.Split.SetEnabled(open && len(inc.Alerts) > 1)
	return k
}

func (v *incidents) Update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case incidentsMsg:
		return nil, v.listed(msg)
	case incidentMsg:
		return nil, v.detailed(msg)
	}
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
	if cmd, ok := v.act(k, keys); ok {
		v.clamp()
		return cmd, true
	}
	if v.detailID != "" {
		if key.Matches(k, keys.Back) {
			v.closeDetail()
			return nil, true
		}
		return nil, keys.scroll(k, &v.dtop, len(v.dlines), v.bodyH())
	}
	switch {
	case key.Matches(k, keys.Open):
		return v.open(v.rows[v.order[v.sel.pos]].ID), true
	case key.Matches(k, keys.Sort):
		v.sort = (v.sort + 1) % incSortCount
		v.resort()
		return nil, true
	case key.Matches(k, keys.Filter):
		return v.setAll(!v.all), true
	case keys.move(k, &v.sel, len(v.order), v.rowsH()):
		v.remember()
		return nil, true
	}
	return nil, false
}

// act starts the change a key asks for on the selected incident.
func (v *incidents) act(k tea.KeyPressMsg, keys incidentKeys) (tea.Cmd, bool) {
	inc := v.selected()
	switch {
	case key.Matches(k, keys.Ack):
		v.ack(inc)
	case key.Matches(k, keys.Assign):
		v.assign(inc)
	case key.Matches(k, keys.Advance):
		return v.advance(inc), true
	case key.Matches(k, keys.Close):
		return v.close(inc), true
	case key.Matches(k, keys.Merge):
		return v.merge(inc), true
	case key.Matches(k, keys.Split):
		return v.split(inc), true
	default:
		return nil, false
	}
	return nil, true
}

// setAll switches between the open incidents and all of them.
func (v *incidents) setAll(all bool) tea.Cmd {
	v.all, v.listErr = all, nil
	if !all {
		v.rows = v.snap.Incidents
		v.resort()
		return nil
	}
	v.rows = v.fetched
	v.resort()
	if v.fetching {
		return nil
	}
	v.fetching = true
	return v.call.incidents(false)
}

func (v *incidents) listed(msg incidentsMsg) bool {
	v.fetching = false
	if msg.open || !v.all {
		return false
	}
	v.listErr = msg.err
	if msg.err != nil {
		return true
	}
	v.fetched = msg.incs
	v.rows = v.fetched
	v.resort()
	return true
}

func (v *incidents) detailed(msg incidentMsg) bool {
	if msg.id != v.detailID {
		return false
	}
	v.detLoading = false
	v.detErr = msg.err
	if msg.err == nil {
		d := msg.detail
		v.det = &d
	}
	v.render()
	v.clamp()
	return true
}

// open shows incident id's detail, read from the console.
func (v *incidents) open(id string) tea.Cmd {
	if v.detailID != id {
		v.det, v.detErr, v.dtop = nil, nil, cursor{}
	}
	v.detailID = id
	v.render()
	return v.loadDetail()
}

func (v *incidents) closeDetail() {
	v.detailID, v.det, v.detErr, v.dlines, v.detLoading = "", nil, nil, nil, false
}

// render rebuilds the detail's lines for the width.
func (v *incidents) render() {
	if v.detailID == "" {
		return
	}
	v.dlines = v.detailLines()
}

func (v *incidents) columns() []column {
	return []column{
		{title: "ID", min: 11},
		{title: "STATE", min: 12},
		{title: "SEVERITY", min: 13},
		{title: "AGE", min: 6, right: true},
		{title: "ALERTS", min: 6, right: true},
		{title: "OWNER", min: 8, max: 14},
		{title: "SOURCES", min: 15, max: 22},
		{title: "OPENED", min: 14},
		{title: "TITLE", min: 10, max: 200},
	}
}

func (v *incidents) View() string {
	if v.snap == nil {
		return v.st.Faint.Render("waiting for the first snapshot…")
	}
	pl := v.prompt.view(v.w)
	var body []string
	if v.detailID != "" {
		from, to := v.dtop.window(len(v.dlines), v.bodyH())
		body = slices.Clone(v.dlines[from:to])
	} else {
		body = lines(v.table(), v.bodyH())
	}
	if len(pl) == 0 {
		return strings.Join(body, "\n")
	}
	for len(body) < v.bodyH() && v.detailID != "" {
		body = append(body, "")
	}
	return strings.Join(append(body, pl...), "\n")
}

// table is the sorted incidents, the selection marked.
func (v *incidents) table() string {
	var b strings.Builder
	which := "open"
	if v.all {
		which = "incl. closed"
	}
	b.WriteString(v.st.Label.Render(clip(fmt.Sprintf("Incidents %d %s · sorted by %s ▾ · f: %s", len(v.order), which, v.sort, map[bool]string{false: "show all", true: "open only"}[v.all]), v.w)))
	switch {
	case v.listErr != nil:
		b.WriteString("\n" + v.st.Bad.Render(clip("! "+v.listErr.Error(), v.w)))
	case v.snap.Incidents == nil && !v.all:
		b.WriteString("\n" + v.st.Faint.Render("the engine does not report incidents"))
		return b.String()
	case v.all && v.fetching && len(v.rows) == 0:
		b.WriteString("\n" + v.st.Faint.Render("reading all incidents…"))
		return b.String()
	}
	if len(v.order) == 0 {
		if v.all {
			b.WriteString("\n" + v.st.Faint.Render("no incidents"))
		} else {
			b.WriteString("\n" + v.st.Faint.Render("no open incidents (f shows closed ones)"))
		}
		return b.String()
	}
	cols := v.columns()
	ws := widths(cols, v.w-2)
	b.WriteString("\n  " + v.st.Header.Render(headerRow(cols, ws)))
	from, to := v.sel.window(len(v.order), v.rowsH())
	for i := from; i < to; i++ {
		inc := &v.rows[v.order[i]]
		line := row(cols, ws,
			inc.ID,
			inc.State,
			severity(inc),
			span(max(0, v.now.Sub(inc.Opened))),
			fmt.Sprint(len(inc.Alerts)),
			orDash(inc.Owner),
			strings.Join(inc.Sources, ","),
			clock(inc.Opened),
			printable(inc.Title),
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

// severity is an incident's label and risk: "high 8.2".
func severity(inc *engine.Incident) string {
	return fmt.Sprintf("%s %.1f", cmp.Or(inc.Severity, engine.SeverityOf(inc.Risk)), inc.Risk)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
