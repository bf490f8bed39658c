package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Keymaps are data: each view builds its own from a constructor and enables
// only the bindings that apply to what it shows, so the generated help
// never offers a key that would do nothing.

// globalKeys work in every view unless a prompt holds the keyboard.
type globalKeys struct {
	Next, Prev, Jump, Palette, Help, Quit, Interrupt key.Binding
}

func newGlobalKeys() globalKeys {
	return globalKeys{
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next view")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous view")),
		Jump:      key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7"), key.WithHelp("1-7", "go to view")),
		Palette:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Interrupt: key.NewBinding(key.WithKeys("ctrl+c")),
	}
}

// navKeys move a selection through a list or scroll a detail pane.
type navKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

func newNavKeys() navKeys {
	return navKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
	}
}

// setEnabled turns the whole group on or off: no rows, nothing to move.
func (k *navKeys) setEnabled(on bool) {
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Top, &k.Bottom} {
		b.SetEnabled(on)
	}
}

// move applies a nav key to c over n rows seen h at a time; it reports
// whether msg was a nav key.
func (k navKeys) move(msg tea.KeyPressMsg, c *cursor, n, h int) bool {
	switch {
	case key.Matches(msg, k.Up):
		c.move(-1, n, h)
	case key.Matches(msg, k.Down):
		c.move(1, n, h)
	case key.Matches(msg, k.PageUp):
		c.move(-max(1, h-1), n, h)
	case key.Matches(msg, k.PageDown):
		c.move(max(1, h-1), n, h)
	case key.Matches(msg, k.Top):
		c.move(-n, n, h)
	case key.Matches(msg, k.Bottom):
		c.move(n, n, h)
	default:
		return false
	}
	return true
}

// scroll applies a nav key to a pane without a selection (a detail): the
// text itself moves, one line per ↑/↓, instead of an invisible cursor
// that scrolls only once it reaches an edge.
func (k navKeys) scroll(msg tea.KeyPressMsg, c *cursor, n, h int) bool {
	before := c.top
	c.pos = c.top
	if !k.move(msg, c, n, h) {
		return false
	}
	if c.pos > before {
		// Moving down, the cursor's window trails it by a page: put the
		// new position at the top instead.
		c.top = max(0, min(c.pos, n-max(1, h)))
	}
	c.pos = c.top
	return true
}

func (k navKeys) column() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// overviewKeys: the overview only reads, so it has no keys of its own.
type overviewKeys struct{}

func newOverviewKeys() overviewKeys { return overviewKeys{} }

func (overviewKeys) ShortHelp() []key.Binding  { return nil }
func (overviewKeys) FullHelp() [][]key.Binding { return nil }

// eventKeys: the live stream scrolls, pauses, filters and opens one event.
type eventKeys struct {
	navKeys
	Pause, Filter, Open, Back key.Binding
}

func newEventKeys() eventKeys {
	return eventKeys{
		navKeys: newNavKeys(),
		Pause:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:    key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
	}
}

func (k eventKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Pause, k.Filter, k.Open, k.Back}
}

func (k eventKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Pause, k.Filter, k.Open, k.Back}}
}

// alertKeys: s silences and K acknowledges the alert selected (or open).
// Sorting is o ("order"): s belongs to the action, not the display; K is
// capital because k moves up.
type alertKeys struct {
	navKeys
	Sort, Open, Back, Silence, Ack key.Binding
}

func newAlertKeys() alertKeys {
	return alertKeys{
		navKeys: newNavKeys(),
		Sort:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:    key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Silence: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "silence")),
		Ack:     key.NewBinding(key.WithKeys("K"), key.WithHelp("K", "ack")),
	}
}

func (k alertKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Back, k.Silence, k.Ack, k.Sort}
}

func (k alertKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Open, k.Back, k.Silence, k.Ack, k.Sort}}
}

type pendingKeys struct {
	navKeys
	Approve, Edit, Reject, ApproveAll key.Binding
}

func newPendingKeys() pendingKeys {
	return pendingKeys{
		navKeys:    newNavKeys(),
		Approve:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
		Edit:       key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit & approve")),
		Reject:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reject")),
		ApproveAll: key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "approve all")),
	}
}

// ShortHelp leaves the list's movement to the full help: the actions
// are what the line is for, and at 80 columns there is room for either.
func (k pendingKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Approve, k.Edit, k.Reject, k.ApproveAll}
}

func (k pendingKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Approve, k.Edit, k.Reject, k.ApproveAll}}
}

type decisionKeys struct {
	navKeys
	Rollback, Extend key.Binding
}

func newDecisionKeys() decisionKeys {
	return decisionKeys{
		navKeys:  newNavKeys(),
		Rollback: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "rollback")),
		Extend:   key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "extend")),
	}
}

func (k decisionKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Rollback, k.Extend}
}

func (k decisionKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Rollback, k.Extend}}
}

// incidentKeys act on the incident open, else the one selected. Ack is K
// as in the alerts view: k moves up everywhere. Capitals are the changes
// that reshape incidents (merge, split).
type incidentKeys struct {
	navKeys
	Open, Back, Sort, Filter                  key.Binding
	Ack, Assign, Advance, Close, Merge, Split key.Binding
}

func newIncidentKeys() incidentKeys {
	return incidentKeys{
		navKeys: newNavKeys(),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:    key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Sort:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort")),
		Filter:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "open/all")),
		Ack:     key.NewBinding(key.WithKeys("K"), key.WithHelp("K", "ack")),
		Assign:  key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "assign to me")),
		Advance: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "state")),
		Close:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "close")),
		Merge:   key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "merge in")),
		Split:   key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "split out")),
	}
}

func (k incidentKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Back, k.Ack, k.Assign, k.Advance, k.Close, k.Filter}
}

func (k incidentKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Open, k.Back, k.Sort, k.Filter}, {k.Ack, k.Assign, k.Advance, k.Close, k.Merge, k.Split}}
}

type auditKeys struct {
	navKeys
}

func newAuditKeys() auditKeys { return auditKeys{navKeys: newNavKeys()} }

func (k auditKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Up, k.Down, k.Top} }
func (k auditKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.column()} }

// promptKeys answer a confirmation or a text prompt; while one is open they
// are the only keys that apply.
type promptKeys struct {
	Yes, No, Submit, Cancel key.Binding
}

func newPromptKeys() promptKeys {
	return promptKeys{
		Yes:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:     key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "submit")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

func (k promptKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Yes, k.No, k.Submit, k.Cancel}
}

func (k promptKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// rootHelp joins the focused view's keys with the global ones.
type rootHelp struct {
	view   help.KeyMap
	global globalKeys
}

// ShortHelp leaves : to the full help: on one line at 80 columns it
// would push out ? and q.
func (h rootHelp) ShortHelp() []key.Binding {
	return append(h.view.ShortHelp(), h.global.Help, h.global.Quit)
}

func (h rootHelp) FullHelp() [][]key.Binding {
	g := h.global
	return append(h.view.FullHelp(), []key.Binding{g.Next, g.Prev, g.Jump, g.Palette, g.Help, g.Quit})
}

// paletteKeys drive the : command line while it is open.
type paletteKeys struct {
	Run, Complete, Cancel key.Binding
}

func newPaletteKeys() paletteKeys {
	return paletteKeys{
		Run:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
		Complete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

func (k paletteKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Run, k.Complete, k.Cancel} }
func (k paletteKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }
