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
	_, spans, _ := m.tabBar()
	for i, span := range spans {
		if msg.X >= span[0] && msg.X < span[1] {
			return nil, m.setFocus(i)
		}
	}
	return nil, false
}
