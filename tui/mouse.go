package tui

import (
	tea "charm.land/bubbletea/v2"
)

// The mouse is optional (Options.Mouse): reporting it takes the terminal's
// own text selection away, which an analyst copying an address over SSH
// needs more. With it on, the wheel scrolls the focused view's list or
// detail as the arrow keys do, and a click on a tab switches to it.

// wheelRows is how many rows one notch of the wheel scrolls.
const wheelRows = 3

// wheel scrolls the focused view: each notch is wheelRows presses of ↑ or
// ↓, so every view scrolls exactly as its keys do. A prompt or the palette
// holding the keyboard holds the wheel too.
func (m *Model) wheel(msg tea.MouseWheelMsg) (tea.Cmd, bool) {
	v := m.views[m.focus]
	if m.pal.open || v.Capturing() {
		return nil, false
	}
	var k tea.KeyPressMsg
	switch msg.Button {
	case tea.MouseWheelUp:
		k = tea.KeyPressMsg{Code: tea.KeyUp}
	case tea.MouseWheelDown:
		k = tea.KeyPressMsg{Code: tea.KeyDown}
	default:
		return nil, false
	}
	var cmds []tea.Cmd
	changed := false
	for range wheelRows {
		cmd, ch := v.Update(k)
		cmds = append(cmds, cmd)
		changed = changed || ch
	}
	return tea.Batch(cmds...), changed
}

// click switches to the tab under a left click on the tab bar.
func (m *Model) click(msg tea.MouseClickMsg) (tea.Cmd, bool) {
	if msg.Button != tea.MouseLeft || msg.Y != 0 || m.pal.open || m.views[m.focus].Capturing() {
		return nil, false
	}
	for i, span := range m.tabSpans() {
		if msg.X >= span[0] && msg.X < span[1] {
			return nil, m.setFocus(i)
		}
	}
	return nil, false
}

// tabSpans are the columns [from, to) each view's tab takes on the tab bar,
// as tabs draws it.
func (m *Model) tabSpans() [][2]int {
	spans := make([][2]int, len(m.views))
	x := 0
	for i, v := range m.views {
		x++ // the space before each tab
		w := displayWidth(string(rune('1'+i))+" "+v.Tab()) + 2
		spans[i] = [2]int{x, x + w}
		x += w
	}
	if title := len(tabTitle); title+x <= m.width {
		for i := range spans {
			spans[i][0] += title
			spans[i][1] += title
		}
	} else {
		// tabs drops the first space when the title does not fit.
		for i := range spans {
			spans[i][0]--
			spans[i][1]--
		}
	}
	return spans
}
