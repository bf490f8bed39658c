package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles is every style the console draws with. Colours are the 16 ANSI
// ones so a 16-colour terminal over SSH shows them as meant, and the
// renderer drops them entirely under NO_COLOR: every meaning they carry is
// also in the text ("!", "[WIDE]", "chain BROKEN").
type Styles struct {
	Title    lipgloss.Style
	Tab      lipgloss.Style
	TabOn    lipgloss.Style
	Header   lipgloss.Style
	Selected lipgloss.Style
	Label    lipgloss.Style
	Faint    lipgloss.Style
	OK       lipgloss.Style
	Warn     lipgloss.Style
	Bad      lipgloss.Style
	Spark    lipgloss.Style
	Prompt   lipgloss.Style
	Status   lipgloss.Style
	Help     help.Styles
	Input    textinput.Styles
}

// NewStyles returns the console's styles.
func NewStyles() Styles {
	base := lipgloss.NewStyle()
	red, green, yellow, cyan := lipgloss.Color("1"), lipgloss.Color("2"), lipgloss.Color("3"), lipgloss.Color("6")
	faint := base.Faint(true)
	hs := help.Styles{
		Ellipsis:       faint,
		ShortKey:       base.Bold(true),
		ShortDesc:      faint,
		ShortSeparator: faint,
		FullKey:        base.Bold(true),
		FullDesc:       faint,
		FullSeparator:  faint,
	}
	in := textinput.DefaultStyles(true)
	// A blinking cursor redraws the prompt twice a second forever: wasted
	// frames on a slow SSH link.
	in.Cursor.Blink = false
	return Styles{
		Title:    base.Bold(true),
		Tab:      faint,
		TabOn:    base.Bold(true).Reverse(true),
		Header:   base.Bold(true).Underline(true),
		Selected: base.Reverse(true),
		Label:    base.Bold(true),
		Faint:    faint,
		OK:       base.Foreground(green),
		Warn:     base.Foreground(yellow).Bold(true),
		Bad:      base.Foreground(red).Bold(true),
		Spark:    base.Foreground(cyan),
		Prompt:   base.Foreground(yellow).Bold(true),
		Status:   base,
		Help:     hs,
		Input:    in,
	}
}
