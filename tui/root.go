package tui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// view is one screen of the console. Views keep a pointer to the shared
// snapshot and never change it.
type view interface {
	// Update handles a message routed to the view; changed reports that
	// the view looks different now.
	Update(msg tea.Msg) (cmd tea.Cmd, changed bool)
	View() string
	SetSize(w, h int)
	// SetSnapshot hands the view a new snapshot and the console's now.
	SetSnapshot(s *Snapshot, now time.Time)
	// SetNow moves the view's clock; it reports whether what it shows
	// depends on it.
	SetNow(now time.Time) bool
	KeyMap() help.KeyMap
	// Capturing reports a prompt holding the keyboard.
	Capturing() bool
	// Tab is the view's name in the tab bar and a count where it helps
	// (-1: none).
	Tab() (name string, count int)
}

var _ tea.Model = (*Model)(nil)

// Model is the console's root: it polls snapshots, routes messages to the
// views and draws the frame around them.
type Model struct {
	opts  Options
	call  caller
	st    *Styles
	keys  globalKeys
	help  help.Model
	views []view
	focus int
	// live is the events view, also in views: the root feeds it what
	// each Events call returns. alerts, pending, active and incidents
	// take the palette's commands; incidents also its own calls' answers.
	live      *events
	alerts    *alerts
	pending   *pending
	active    *decisions
	incidents *incidents
	// pal is the : command line, over whichever view is focused.
	pal  palette
	cmds []command

	width, height int

	// snap is the last good snapshot, nil before the first. received and
	// now are local clock readings: the gap between them advances
	// countdowns between snapshots, and while disconnected.
	snap     *Snapshot
	received time.Time
	now      time.Time
	connErr  error

	// The poll loop: one Snapshot call in flight at most; seq retires a
	// scheduled poll when an action asked for an immediate refresh, and
	// again asks for one more call when it arrives mid-flight.
	seq      int
	inFlight bool
	again    bool
	// evInFlight: one Events call at a time, asked on the same tick as
	// the snapshot; a slow answer skips ticks rather than piling up.
	evInFlight bool

	status    string
	statusBad bool

	// frame caches the last render: View is called after every message,
	// but only messages that changed something redraw.
	frame string
	dirty bool
}

// New returns the console's root model over c.
func New(c Console, opts Options) *Model {
	opts = opts.withDefaults()
	st := NewStyles()
	h := help.New()
	h.Styles = st.Help
	call := caller{c: c, timeout: opts.Timeout}
	m := &Model{
		opts:  opts,
		call:  call,
		st:    &st,
		keys:  newGlobalKeys(),
		help:  h,
		now:   opts.Now(),
		dirty: true,
		pal:   newPalette(&st),
		cmds:  paletteCommands(),
	}
	m.live = newEvents(m.st)
	m.alerts = newAlerts(m.st, call)
	m.pending = newPending(m.st, call)
	m.active = newDecisions(m.st, call)
	m.incidents = newIncidents(m.st, call)
	m.views = []view{
		viewOverview:  newOverview(m.st),
		viewEvents:    m.live,
		viewAlerts:    m.alerts,
		viewPending:   m.pending,
		viewActive:    m.active,
		viewAudit:     newAudit(m.st),
		viewIncidents: m.incidents,
	}
	m.layout()
	return m
}

// Init starts the snapshot poll and the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.fetch(), m.tick())
}

// fetch asks for a snapshot and, unless one is still on its way, the
// events since the last one the live view holds.
func (m *Model) fetch() tea.Cmd {
	m.inFlight = true
	if m.evInFlight {
		return m.call.snapshot()
	}
	m.evInFlight = true
	return tea.Batch(m.call.snapshot(), m.call.events(m.live.after()))
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return tickMsg{} })
}

// refresh asks for a snapshot now, after an action changed the engine.
func (m *Model) refresh() tea.Cmd {
	if m.inFlight {
		m.again = true
		return nil
	}
	m.seq++
	return m.fetch()
}

// consoleNow is the engine's now as best the console knows it: the last
// snapshot's time advanced by the local clock since it arrived.
func (m *Model) consoleNow() time.Time {
	if m.snap == nil {
		return m.now
	}
	return m.snap.Taken.Add(max(0, m.now.Sub(m.received)))
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd, changed := m.update(msg)
	if changed {
		m.dirty = true
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return nil, true
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseWheelMsg:
		return m.wheel(msg)
	case tea.MouseClickMsg:
		return m.click(msg)
	case snapshotMsg:
		return m.snapshot(msg), true
	case eventsMsg:
		m.evInFlight = false
		changed := m.live.add(msg.events, msg.err)
		return nil, changed && m.views[m.focus] == view(m.live)
	case pollMsg:
		if msg.seq != m.seq || m.inFlight {
			return nil, false
		}
		return m.fetch(), false
	case tickMsg:
		m.now = m.opts.Now()
		now := m.consoleNow()
		changed := false
		for i, v := range m.views {
			if v.SetNow(now) && i == m.focus {
				changed = true
			}
		}
		return m.tick(), changed
	case actionMsg:
		m.report(msg)
		return m.refresh(), true
	case incidentActMsg:
		m.report(msg.actionMsg)
		return tea.Batch(m.refresh(), m.incidents.acted()), true
	case incidentsMsg, incidentMsg:
		// The incidents view's own calls: its answers reach it wherever
		// the analyst has gone meanwhile.
		_, changed := m.incidents.Update(msg)
		return nil, changed && m.focus == viewIncidents
	}
	// Anything else (a text input's own messages) belongs to the focused
	// view.
	return m.views[m.focus].Update(msg)
}

// report puts an action's outcome on the status line.
func (m *Model) report(msg actionMsg) {
	m.status, m.statusBad = msg.done, msg.err != nil
	if msg.err != nil {
		if msg.done != "" {
			m.status = msg.done + ": " + msg.err.Error()
		} else {
			m.status = msg.err.Error()
		}
	}
}

func (m *Model) snapshot(msg snapshotMsg) tea.Cmd {
	m.inFlight = false
	if msg.err != nil {
		m.connErr = msg.err
	} else {
		m.connErr = nil
		s := msg.snap
		m.snap = &s
		m.now = m.opts.Now()
		m.received = m.now
		for _, v := range m.views {
			v.SetSnapshot(m.snap, s.Taken)
		}
	}
	// What the incidents view reads beyond the snapshot it reads while
	// it is looked at.
	var more tea.Cmd
	if m.focus == viewIncidents && m.snap != nil {
		more = m.incidents.poll()
	}
	if m.again {
		m.again = false
		m.seq++
		return tea.Batch(m.fetch(), more)
	}
	m.seq++
	seq := m.seq
	return tea.Batch(tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return pollMsg{seq: seq} }), more)
}

func (m *Model) key(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	if key.Matches(msg, m.keys.Interrupt) {
		return tea.Quit, false
	}
	if m.pal.open {
		return m.paletteKey(msg)
	}
	v := m.views[m.focus]
	if v.Capturing() {
		return v.Update(msg)
	}
	switch {
	case key.Matches(msg, m.keys.Palette):
		cmd := m.pal.start()
		m.layout()
		return cmd, true
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit, false
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
		return nil, true
	case key.Matches(msg, m.keys.Next):
		return nil, m.setFocus((m.focus + 1) % len(m.views))
	case key.Matches(msg, m.keys.Prev):
		return nil, m.setFocus((m.focus + len(m.views) - 1) % len(m.views))
	case key.Matches(msg, m.keys.Jump):
		return nil, m.setFocus(int(msg.String()[0] - '1'))
	}
	return v.Update(msg)
}

func (m *Model) setFocus(i int) bool {
	if i == m.focus || i < 0 || i >= len(m.views) {
		return false
	}
	m.focus = i
	m.layout()
	return true
}

// helpHeight is the rows the help takes: one, or the tallest column of the
// focused view's full help whatever is enabled, so the body does not jump
// as bindings come and go.
func (m *Model) helpHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	h := 1
	for _, col := range m.helpKeys().FullHelp() {
		h = max(h, len(col))
	}
	return h
}

func (m *Model) helpKeys() rootHelp {
	g := m.keys
	capturing := m.pal.open || m.views[m.focus].Capturing()
	for _, b := range []*key.Binding{&g.Next, &g.Prev, &g.Jump, &g.Palette, &g.Help, &g.Quit} {
		b.SetEnabled(!capturing)
	}
	if m.pal.open {
		return rootHelp{view: m.pal.keys, global: g}
	}
	return rootHelp{view: m.views[m.focus].KeyMap(), global: g}
}

// bodyH is the rows the focused view gets: all but the tab bar, an open
// palette, the status line and the help.
func (m *Model) bodyH() int {
	h := m.height - 2 - m.helpHeight()
	if m.pal.open {
		h -= paletteRows
	}
	return max(0, h)
}

// layout hands every view its share of the screen.
func (m *Model) layout() {
	m.help.SetWidth(m.width)
	m.pal.setWidth(m.width)
	bodyH := m.bodyH()
	for _, v := range m.views {
		v.SetSize(m.width, bodyH)
	}
}

// View implements tea.Model.
func (m *Model) View() tea.View {
	if m.dirty {
		m.frame = m.render()
		m.dirty = false
	}
	v := tea.NewView(m.frame)
	v.AltScreen = true
	if m.opts.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	bodyH := m.bodyH()
	out := make([]string, 0, m.height)
	out = append(out, m.tabs())
	body := lines(m.views[m.focus].View(), bodyH)
	out = append(out, body...)
	for range bodyH - len(body) {
		out = append(out, "")
	}
	out = append(out, m.paletteView()...)
	out = append(out, m.statusLine())
	out = append(out, lines(m.help.View(m.helpKeys()), m.helpHeight())...)
	return strings.Join(out[:min(len(out), m.height)], "\n")
}

// tabTitle opens the tab bar when there is room for it.
const tabTitle = "phantomsoc"

// tabs is the top line: the name and the views, the focused one in
// brackets so it reads without colour.
func (m *Model) tabs() string {
	cells, _, title := m.tabBar()
	var b strings.Builder
	if title {
		b.WriteString(m.st.Title.Render(tabTitle))
	}
	for i, c := range cells {
		if i > 0 || title {
			b.WriteString(" ")
		}
		if i == m.focus {
			b.WriteString(m.st.TabOn.Render(c))
		} else {
			b.WriteString(m.st.Tab.Render(c))
		}
	}
	return clip(b.String(), m.width)
}

// tabBar lays the tab bar out: each view's tab as drawn (the focused one
// in brackets, the others padded to match), the columns [from, to) each
// takes, and whether the name goes first. When the views with their
// counts do not fit (seven in 80 columns), the tabs lose their padding
// and all but the focused one their count: the overview has them all. The
// name goes first only when there is room: the views are what the line
// is for.
func (m *Model) tabBar() (cells []string, spans [][2]int, title bool) {
	w := 0
	for _, compact := range []bool{false, true} {
		cells, w = cells[:0], -1
		for i, v := range m.views {
			name, n := v.Tab()
			label := string(rune('1'+i)) + " " + name
			if n >= 0 && (!compact || i == m.focus) {
				label += " " + strconv.Itoa(n)
			}
			switch {
			case i == m.focus:
				label = "[" + label + "]"
			case compact:
				label = " " + label
			default:
				label = " " + label + " "
			}
			cells = append(cells, label)
			w += 1 + displayWidth(label)
		}
		if w <= m.width {
			break
		}
	}
	x := 0
	if title = len(tabTitle)+1+w <= m.width; title {
		x = len(tabTitle) + 1
	}
	for _, c := range cells {
		cw := displayWidth(c)
		spans = append(spans, [2]int{x, x + cw})
		x += cw + 1
	}
	return cells, spans, title
}

// statusLine says whether the data is live, what the console acts as, and
// the outcome of the last action.
func (m *Model) statusLine() string {
	var parts []string
	switch {
	case m.connErr != nil:
		parts = append(parts, m.st.Bad.Render("! disconnected, retrying… "+m.connErr.Error()))
	case m.snap == nil:
		parts = append(parts, m.st.Faint.Render("connecting…"))
	default:
		parts = append(parts, m.st.OK.Render("● live")+" "+m.snap.Taken.Format("15:04:05"))
	}
	if m.snap != nil && m.snap.DryRun {
		parts = append(parts, m.st.Warn.Render("DRY-RUN"))
	}
	// The last action's outcome goes before the actor: on a narrow
	// screen the line is cut from the right.
	if m.status != "" {
		if m.statusBad {
			parts = append(parts, m.st.Bad.Render("! "+m.status))
		} else {
			parts = append(parts, m.st.OK.Render("✓ "+m.status))
		}
	}
	actor := m.opts.Actor
	if actor == "" && m.snap != nil {
		actor = m.snap.Actor
	}
	if actor != "" {
		parts = append(parts, "as "+actor)
	}
	return clip(strings.Join(parts, " · "), m.width)
}
