package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// palette is the : command line: what the keys do, by name, for an
// analyst who has an ID in hand (from an alert, a ticket, a colleague).
// State-changing commands go through the same confirmations as their keys,
// in the view that owns the decision.
type palette struct {
	st    *Styles
	keys  paletteKeys
	open  bool
	input textinput.Model
	// problem is why the last enter did nothing; cands what the last tab
	// could complete to. Typing clears both.
	problem string
	cands   []string
}

// paletteRows is the rows an open palette takes: the input and one line
// of usage, completions or the problem.
const paletteRows = 2

func newPalette(st *Styles) palette {
	in := textinput.New()
	in.SetStyles(st.Input)
	in.Prompt = ": "
	in.CharLimit = 500
	return palette{st: st, keys: newPaletteKeys(), input: in}
}

func (p *palette) start() tea.Cmd {
	p.open, p.problem, p.cands = true, "", nil
	p.input.Reset()
	return p.input.Focus()
}

func (p *palette) close() {
	p.open, p.problem, p.cands = false, "", nil
	p.input.Blur()
	p.input.Reset()
}

func (p *palette) setWidth(w int) { p.input.SetWidth(max(1, w-len(p.input.Prompt)-1)) }

// command is one palette command.
type command struct {
	name, args, help string
	// complete lists what argument i (0 after the name) may be.
	complete func(m *Model, i int) []string
	run      func(m *Model, args []string) (tea.Cmd, error)
}

// Views by index in Model.views, and the names the palette knows them by.
const (
	viewOverview = iota
	viewEvents
	viewAlerts
	viewPending
	viewActive
	viewAudit
	viewIncidents
)

// viewNames are the views' names in the palette, by index.
func viewNames() []string {
	return []string{"overview", "events", "alerts", "pending", "active", "audit", "incidents"}
}

// paletteCommands is the palette's command table, in the order help lists
// them.
func paletteCommands() []command {
	pendingIDs := func(m *Model, i int) []string {
		if i != 0 || m.snap == nil {
			return nil
		}
		var out []string
		for _, p := range m.snap.Pending {
			out = append(out, p.Decision.ID)
		}
		return out
	}
	activeIDs := func(m *Model, i int) []string {
		if i != 0 || m.snap == nil {
			return nil
		}
		var out []string
		for _, a := range m.snap.Active {
			out = append(out, a.Decision.ID)
		}
		return out
	}
	alertIDs := func(m *Model, i int) []string {
		if i != 0 || m.snap == nil {
			return nil
		}
		var out []string
		for _, a := range m.snap.Alerts {
			out = append(out, a.ID)
		}
		return out
	}
	cmds := []command{
		{name: "approve", args: "ID", help: "approve a pending decision (as a)", complete: pendingIDs,
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("usage: approve ID")
				}
				cmd, err := m.pending.approveID(args[0])
				if err == nil {
					m.setFocus(viewPending)
				}
				return cmd, err
			}},
		{name: "reject", args: "ID REASON…", help: "reject a pending decision", complete: pendingIDs,
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) < 2 {
					return nil, errors.New("usage: reject ID REASON… (a reason is required)")
				}
				cmd, err := m.pending.rejectID(args[0], strings.Join(args[1:], " "))
				if err == nil {
					m.setFocus(viewPending)
				}
				return cmd, err
			}},
		{name: "rollback", args: "ID", help: "roll back an active decision (as u, asks y/n)", complete: activeIDs,
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("usage: rollback ID")
				}
				err := m.active.rollbackID(args[0])
				if err == nil {
					m.setFocus(viewActive)
				}
				return nil, err
			}},
		{name: "extend", args: "ID DURATION", help: "extend an active decision (as x)", complete: activeIDs,
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) != 2 {
					return nil, errors.New("usage: extend ID DURATION (like 30m or 4h)")
				}
				by, err := parseDur(args[1])
				if err != nil {
					return nil, err
				}
				cmd, err := m.active.extendID(args[0], by)
				if err == nil {
					m.setFocus(viewActive)
				}
				return cmd, err
			}},
		{name: "ack", args: "ID", help: "acknowledge an alert or an incident (in-…) (as K, asks y/n)",
			complete: func(m *Model, i int) []string {
				return append(alertIDs(m, i), m.incidents.incidentIDs()...)
			},
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("usage: ack ID")
				}
				if strings.HasPrefix(strings.ToLower(args[0]), "in-") {
					err := m.incidents.ackID(args[0])
					if err == nil {
						m.setFocus(viewIncidents)
					}
					return nil, err
				}
				err := m.alerts.ackID(args[0])
				if err == nil {
					m.setFocus(viewAlerts)
				}
				return nil, err
			}},
		{name: "silence", args: "ID DURATION COMMENT…", help: "silence alerts like this one (s edits the matchers)", complete: alertIDs,
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) < 3 {
					return nil, errors.New("usage: silence ID DURATION COMMENT… (a comment is required)")
				}
				d, err := parseDur(args[1])
				if err != nil {
					return nil, err
				}
				cmd, err := m.alerts.silenceID(args[0], d, strings.Join(args[2:], " "))
				if err == nil {
					m.setFocus(viewAlerts)
				}
				return cmd, err
			}},
	}
	cmds = append(cmds, incidentCommands()...)
	return append(cmds, []command{
		{name: "view", args: "NAME|NUMBER", help: "go to a view",
			complete: func(_ *Model, i int) []string {
				if i != 0 {
					return nil
				}
				return viewNames()
			},
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("usage: view NAME|NUMBER")
				}
				i, err := viewIndex(args[0])
				if err != nil {
					return nil, err
				}
				m.setFocus(i)
				return nil, nil
			}},
		{name: "filter", args: "TERMS…", help: "filter the live events (none clears)",
			complete: func(*Model, int) []string {
				out := make([]string, len(filterFields))
				for i, f := range filterFields {
					out[i] = f + ":"
				}
				return out
			},
			run: func(m *Model, args []string) (tea.Cmd, error) {
				f, err := parseFilter(strings.Join(args, " "))
				if err != nil {
					return nil, err
				}
				m.live.closeDetail()
				m.live.setFilter(f)
				m.setFocus(viewEvents)
				return nil, nil
			}},
		{name: "help", help: "show or hide the full help",
			run: func(m *Model, args []string) (tea.Cmd, error) {
				if len(args) != 0 {
					return nil, errors.New("usage: help")
				}
				m.help.ShowAll = !m.help.ShowAll
				return nil, nil
			}},
		{name: "quit", help: "quit the console",
			run: func(_ *Model, args []string) (tea.Cmd, error) {
				if len(args) != 0 {
					return nil, errors.New("usage: quit")
				}
				return tea.Quit, nil
			}},
	}...)
}

// viewIndex reads a view's name (or a prefix of it) or number.
func viewIndex(s string) (int, error) {
	names := viewNames()
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > len(names) {
			return 0, fmt.Errorf("no view %d (1-%d)", n, len(names))
		}
		return n - 1, nil
	}
	s = strings.ToLower(s)
	if s == "decisions" {
		return viewActive, nil
	}
	for i, name := range names {
		if strings.HasPrefix(name, s) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no view %q (%s, or 1-%d)", s, strings.Join(names, ", "), len(names))
}

func (m *Model) lookup(name string) *command {
	for i := range m.cmds {
		if m.cmds[i].name == strings.ToLower(name) {
			return &m.cmds[i]
		}
	}
	return nil
}

// runCommand runs one palette line; an error keeps the palette open.
func (m *Model) runCommand(line string) (tea.Cmd, error) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return nil, errors.New("type a command, tab completes")
	}
	c := m.lookup(words[0])
	if c == nil {
		return nil, fmt.Errorf("unknown command %q (%s)", words[0], strings.Join(m.commandNames(), " "))
	}
	return c.run(m, words[1:])
}

func (m *Model) commandNames() []string {
	out := make([]string, len(m.cmds))
	for i, c := range m.cmds {
		out[i] = c.name
	}
	return out
}

// paletteKey handles a key while the palette is open.
func (m *Model) paletteKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	p := &m.pal
	switch {
	case key.Matches(msg, p.keys.Cancel):
		p.close()
		m.layout()
		return nil, true
	case key.Matches(msg, p.keys.Complete):
		m.complete()
		return nil, true
	case key.Matches(msg, p.keys.Run):
		line := p.input.Value()
		p.close()
		cmd, err := m.runCommand(line)
		if err != nil {
			// Reopen with the line as typed, so a typo is fixed, not retyped.
			p.open, p.problem = true, err.Error()
			p.input.SetValue(line)
			p.input.CursorEnd()
			return tea.Batch(cmd, p.input.Focus()), true
		}
		m.layout()
		return cmd, true
	}
	p.problem, p.cands = "", nil
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd, true
}

// complete completes the word under the cursor (the line's last): a
// single candidate in full, several to their common prefix, listed below.
func (m *Model) complete() {
	p := &m.pal
	val := p.input.Value()
	words := strings.Fields(val)
	cur := ""
	if len(words) > 0 && !strings.HasSuffix(val, " ") {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	var all []string
	if len(words) == 0 {
		all = m.commandNames()
	} else if c := m.lookup(words[0]); c != nil && c.complete != nil {
		all = c.complete(m, len(words)-1)
	}
	var cands []string
	for _, c := range all {
		if len(c) >= len(cur) && strings.EqualFold(c[:len(cur)], cur) {
			cands = append(cands, c)
		}
	}
	p.cands, p.problem = nil, ""
	switch len(cands) {
	case 0:
		p.problem = "nothing to complete"
		return
	case 1:
		cur = cands[0]
		if !strings.HasSuffix(cur, ":") {
			cur += " "
		}
	default:
		cur = commonPrefix(cands)
		p.cands = cands
	}
	p.input.SetValue(strings.Join(append(words, cur), " "))
	p.input.CursorEnd()
}

// commonPrefix is the longest prefix all of ss share (ASCII: commands,
// IDs, view and field names).
func commonPrefix(ss []string) string {
	pre := ss[0]
	for _, s := range ss[1:] {
		n := 0
		for n < len(pre) && n < len(s) && pre[n] == s[n] {
			n++
		}
		pre = pre[:n]
	}
	return pre
}

// paletteView is the open palette's rows: the input, then the problem,
// the completions, the usage of the command typed, or the commands.
func (m *Model) paletteView() []string {
	p := &m.pal
	if !p.open {
		return nil
	}
	var hint string
	words := strings.Fields(p.input.Value())
	switch {
	case p.problem != "":
		hint = m.st.Bad.Render(clip("! "+p.problem, m.width))
	case len(p.cands) > 0:
		hint = m.st.Faint.Render(clip("tab: "+strings.Join(p.cands, " · "), m.width))
	case len(words) > 0 && m.lookup(words[0]) != nil:
		c := m.lookup(words[0])
		hint = m.st.Faint.Render(clip(strings.TrimSpace(c.name+" "+c.args)+" — "+c.help, m.width))
	default:
		var names []string
		for _, c := range m.cmds {
			if len(words) == 0 || strings.HasPrefix(c.name, strings.ToLower(words[0])) {
				names = append(names, strings.TrimSpace(c.name+" "+c.args))
			}
		}
		if len(names) == 0 {
			names = m.commandNames()
		}
		hint = m.st.Faint.Render(clip(strings.Join(names, " · "), m.width))
	}
	return []string{p.input.View(), hint}
}
