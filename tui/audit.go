package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
)

// audit shows the tail of the audit trail and whether its hash chain
// verifies.
type audit struct {
	st   *Styles
	keys auditKeys
	snap *Snapshot
	w, h int
	sel  cursor
}

func newAudit(st *Styles) *audit { return &audit{st: st, keys: newAuditKeys()} }

func (v *audit) Tab() (string, int)    { return "Audit", -1 }
func (v *audit) Capturing() bool       { return false }
func (v *audit) SetNow(time.Time) bool { return false }

func (v *audit) n() int {
	if v.snap == nil {
		return 0
	}
	return len(v.snap.Audit)
}

// rowsH is the rows under the chain status and the column header.
func (v *audit) rowsH() int { return max(1, v.h-2) }

func (v *audit) SetSize(w, h int) {
	v.w, v.h = w, h
	v.sel.clamp(v.n(), v.rowsH())
}

// SetSnapshot keeps the selection's row: the tail is newest first, so an
// analyst reading the top keeps reading the top.
func (v *audit) SetSnapshot(s *Snapshot, _ time.Time) {
	v.snap = s
	v.sel.clamp(v.n(), v.rowsH())
}

func (v *audit) KeyMap() help.KeyMap { return v.bindings() }

// bindings are the keys with only those that apply now enabled.
func (v *audit) bindings() auditKeys {
	k := v.keys
	k.navKeys.setEnabled(v.n() > 1)
	return k
}

func (v *audit) Update(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	return nil, v.bindings().move(k, &v.sel, v.n(), v.rowsH())
}

func (v *audit) columns() []column {
	return []column{
		{title: "SEQ", min: 6, right: true},
		{title: "TIME", min: 14},
		{title: "ACTOR", min: 8, max: 12},
		{title: "ACTION", min: 12, max: 16},
		{title: "SUBJECT", min: 10, max: 200},
	}
}

func (v *audit) View() string {
	if v.snap == nil {
		return v.st.Faint.Render("waiting for the first snapshot…")
	}
	var chain string
	if v.snap.AuditOK {
		chain = v.st.OK.Render("✓ chain OK")
	} else {
		chain = v.st.Bad.Render("! chain BROKEN (see phantomsoc audit verify)")
	}
	out := []string{clip(chain+" · "+fmt.Sprintf("last %d records, newest first", v.n()), v.w)}
	if v.n() == 0 {
		return strings.Join(append(out, v.st.Faint.Render("no records")), "\n")
	}
	cols := v.columns()
	ws := widths(cols, v.w-2)
	out = append(out, "  "+v.st.Header.Render(headerRow(cols, ws)))
	from, to := v.sel.window(v.n(), v.rowsH())
	for i := from; i < to; i++ {
		a := &v.snap.Audit[i]
		line := row(cols, ws, fmt.Sprint(a.Seq), clock(a.Time), a.Actor, a.Action, a.Subject)
		if i == v.sel.pos {
			out = append(out, v.st.Selected.Render("› "+line))
		} else {
			out = append(out, "  "+line)
		}
	}
	return strings.Join(out, "\n")
}
