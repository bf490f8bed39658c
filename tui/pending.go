package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// pending lists decisions waiting for an analyst and shows exactly what
// approving the selected one would change.
type pending struct {
	st     *Styles
	keys   pendingKeys
	call   caller
	snap   *Snapshot
	w, h   int
	sel    cursor
	selID  string
	prompt prompt
	// edit is the edit-and-approve in progress, nil when none: the detail
	// shows its decision with what approving would apply.
	edit *pendingEdit
}

func newPending(st *Styles, call caller) *pending {
	return &pending{st: st, keys: newPendingKeys(), call: call, prompt: newPrompt(st)}
}

func (v *pending) Tab() (string, int) {
	if v.snap == nil {
		return "Pending", -1
	}
	return "Pending", len(v.snap.Pending)
}

func (v *pending) Capturing() bool       { return v.prompt.active() }
func (v *pending) SetNow(time.Time) bool { return false }

func (v *pending) SetSize(w, h int) {
	v.w, v.h = w, h
	v.prompt.setWidth(w)
	v.sel.clamp(v.n(), v.rowsH())
}

func (v *pending) n() int {
	if v.snap == nil {
		return 0
	}
	return len(v.snap.Pending)
}

// listRows is the rows the list gets when stacked over the detail: enough
// for a few decisions, the rest for the nft batch an analyst must read.
func (v *pending) listRows() int {
	return min(v.n()+2, max(4, v.bodyH()*2/5))
}

func (v *pending) bodyH() int { return max(0, v.h-len(v.prompt.view(v.w))) }

// rowsH is the list rows under its title and header.
func (v *pending) rowsH() int { return max(1, v.listRows()-2) }

func (v *pending) SetSnapshot(s *Snapshot, _ time.Time) {
	v.snap = s
	v.sel.follow(v.n(), v.rowsH(), v.id, &v.selID)
}

func (v *pending) id(i int) string { return v.snap.Pending[i].Decision.ID }

func (v *pending) remember() { v.sel.remember(v.n(), v.id, &v.selID) }

func (v *pending) KeyMap() help.KeyMap {
	if v.prompt.active() {
		return v.prompt.keyMap()
	}
	return v.bindings()
}

// bindings are the keys with only those that apply now enabled.
func (v *pending) bindings() pendingKeys {
	k := v.keys
	n := v.n()
	k.navKeys.setEnabled(n > 1)
	k.Approve.SetEnabled(n > 0)
	k.Edit.SetEnabled(n > 0)
	k.Reject.SetEnabled(n > 0)
	k.ApproveAll.SetEnabled(n > 0)
	return k
}

func (v *pending) Update(msg tea.Msg) (tea.Cmd, bool) {
	if v.prompt.active() {
		cmd := v.prompt.update(msg)
		if !v.prompt.active() {
			// Answered or cancelled: each step that goes on opens the next
			// prompt before this returns.
			v.edit = nil
		}
		return cmd, true
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || v.n() == 0 {
		return nil, false
	}
	keys := v.bindings()
	p := v.snap.Pending[v.sel.pos]
	label := p.Decision.Action + " " + confirmWord(&p)
	switch {
	case key.Matches(k, keys.Approve):
		return v.approve(p), true
	case key.Matches(k, keys.Edit):
		return v.startEdit(p), true
	case key.Matches(k, keys.Reject):
		id := p.Decision.ID
		return v.prompt.text("reason for rejecting "+label+" (enter submits)", func(reason string) tea.Cmd {
			return v.call.reject(id, reason, label)
		}), true
	case key.Matches(k, keys.ApproveAll):
		v.approveAll()
		return nil, true
	case keys.move(k, &v.sel, v.n(), v.rowsH()):
		v.remember()
		return nil, true
	}
	return nil, false
}

// approve approves p as a does: at once when narrow, after its typed
// target when wide.
func (v *pending) approve(p Pending) tea.Cmd {
	if p.Wide {
		return v.confirmWide(p)
	}
	return v.call.approve([]string{p.Decision.ID}, p.Decision.Action+" "+confirmWord(&p))
}

// find is the index of pending decision id, -1 when it is not pending.
// IDs compare without case: typed into the palette, d0101 is D0101.
func (v *pending) find(id string) int {
	if v.snap == nil {
		return -1
	}
	return slices.IndexFunc(v.snap.Pending, func(p Pending) bool { return strings.EqualFold(p.Decision.ID, id) })
}

// selectID puts the selection on pending decision id.
func (v *pending) selectID(id string) (Pending, error) {
	i := v.find(id)
	if i < 0 {
		return Pending{}, fmt.Errorf("no pending decision %s", id)
	}
	v.sel.pos = i
	v.sel.clamp(v.n(), v.rowsH())
	v.remember()
	return v.snap.Pending[i], nil
}

// approveID is a for decision id, from the palette.
func (v *pending) approveID(id string) (tea.Cmd, error) {
	p, err := v.selectID(id)
	if err != nil {
		return nil, err
	}
	return v.approve(p), nil
}

// rejectID is r for decision id with its reason given, from the palette.
func (v *pending) rejectID(id, reason string) (tea.Cmd, error) {
	p, err := v.selectID(id)
	if err != nil {
		return nil, err
	}
	return v.call.reject(p.Decision.ID, reason, p.Decision.Action+" "+confirmWord(&p)), nil
}

// confirmWord is what an analyst types to approve a wide decision: its
// target, or its ID when it has none (a rule for everyone).
func confirmWord(p *Pending) string {
	if t := p.Decision.TargetString(); t != "" {
		return t
	}
	return p.Decision.ID
}

func (v *pending) confirmWide(p Pending) tea.Cmd {
	want := confirmWord(&p)
	label := p.Decision.Action + " " + want
	id := p.Decision.ID
	return v.prompt.typed("WIDE "+label+": type "+want+" then enter to approve", want, func(string) tea.Cmd {
		return v.call.approve([]string{id}, label)
	})
}

// approveAll asks once for every narrow decision shown; the wide ones are
// left out of that y and each then asks for its own typed target (esc
// skips the rest).
func (v *pending) approveAll() {
	var narrow []string
	var wide []Pending
	for _, p := range v.snap.Pending {
		if p.Wide {
			wide = append(wide, p)
		} else {
			narrow = append(narrow, p.Decision.ID)
		}
	}
	q := fmt.Sprintf("approve all %d pending shown", len(narrow))
	if len(wide) > 0 {
		q += fmt.Sprintf(" (%d wide ask for their target one by one)", len(wide))
	}
	v.prompt.confirm(q, func(string) tea.Cmd {
		var cmds []tea.Cmd
		if len(narrow) > 0 {
			cmds = append(cmds, v.call.approve(narrow, "pending"))
		}
		return tea.Batch(append(cmds, v.chainWide(wide))...)
	})
}

// chainWide asks for each wide decision's target in turn.
func (v *pending) chainWide(wide []Pending) tea.Cmd {
	if len(wide) == 0 {
		return nil
	}
	p, rest := wide[0], wide[1:]
	want := confirmWord(&p)
	label := p.Decision.Action + " " + want
	id := p.Decision.ID
	q := fmt.Sprintf("WIDE %s: type %s then enter to approve (%d more after)", label, want, len(rest))
	return v.prompt.typed(q, want, func(string) tea.Cmd {
		return tea.Batch(v.call.approve([]string{id}, label), v.chainWide(rest))
	})
}

func (v *pending) columns() []column {
	return []column{
		{title: "", min: 6},
		{title: "ACTION", min: 10},
		{title: "TARGET", min: 15, max: 24},
		{title: "TTL", min: 6, right: true},
		{title: "RISK", min: 4, right: true},
		{title: "SCENARIO", min: 12, max: 24},
		{title: "GATEWAYS", min: 8, max: 60},
	}
}

func (v *pending) View() string {
	if v.snap == nil {
		return v.st.Faint.Render("waiting for the first snapshot…")
	}
	pl := v.prompt.view(v.w)
	body := splitPane(v.st, v.w, v.bodyH(), v.listRows(), v.list, v.detail)
	return strings.Join(append(body, pl...), "\n")
}

func (v *pending) list(w, h int) []string {
	wide := 0
	for i := range v.snap.Pending {
		if v.snap.Pending[i].Wide {
			wide++
		}
	}
	title := fmt.Sprintf("Pending %d", v.n())
	if wide > 0 {
		title += fmt.Sprintf(" · %d WIDE (typed confirmation)", wide)
	}
	out := []string{v.st.Label.Render(clip(title, w))}
	if v.n() == 0 {
		return append(out, v.st.Faint.Render("nothing waits for approval"))
	}
	cols := v.columns()
	ws := widths(cols, w-2)
	out = append(out, "  "+v.st.Header.Render(headerRow(cols, ws)))
	from, to := v.sel.window(v.n(), h-2)
	for i := from; i < to; i++ {
		p := &v.snap.Pending[i]
		d := &p.Decision
		flag := ""
		if p.Wide {
			flag = "[WIDE]"
		}
		line := row(cols, ws, flag, d.Action, confirmWord(p), ttl(d.TTL), fmt.Sprintf("%.1f", d.Risk), d.Scenario, orAll(d.Gateways))
		if i == v.sel.pos {
			out = append(out, v.st.Selected.Render("› "+line))
		} else {
			out = append(out, "  "+line)
		}
	}
	return out
}

// ttl renders a decision's TTL; zero means it never expires.
func ttl(d time.Duration) string {
	if d <= 0 {
		return "perm"
	}
	return span(d)
}

// detail is exactly what approving the selection would do.
func (v *pending) detail(w, h int) []string {
	if v.n() == 0 {
		return nil
	}
	p := &v.snap.Pending[v.sel.pos]
	if v.edit != nil {
		i := v.find(v.edit.id)
		if i < 0 {
			return []string{v.st.Bad.Render(clip("! "+v.edit.id+" is no longer pending", w))}
		}
		p = &v.snap.Pending[i]
	}
	d := &p.Decision
	head := d.Action + " " + confirmWord(p)
	if p.Wide {
		head = v.st.Bad.Render("[WIDE] " + head)
	} else {
		head = v.st.Label.Render(head)
	}
	out := []string{clip(head, w)}
	out = append(out, pack([]string{
		"scenario " + d.Scenario, fmt.Sprintf("risk %.1f", d.Risk), fmt.Sprintf("offense %d", d.Offense), "alert " + d.AlertID,
	}, " · ", w)...)
	if v.edit != nil {
		out = append(out, v.editLines(d, w)...)
	} else {
		out = append(out, clip("ttl "+ttl(d.TTL)+" · gateways "+orAll(d.Gateways), w))
	}
	if d.Reason != "" {
		out = append(out, clip("reason: "+d.Reason, w))
	}
	if p.Wide {
		out = append(out, v.st.Warn.Render(clip("! high blast radius: a asks you to type "+confirmWord(p), w)))
	}
	if v.edit != nil {
		out = append(out, v.st.Label.Render(clip("nft batch as proposed (the edit sets its timeout and gateways)", w)))
	} else {
		out = append(out, v.st.Label.Render("nft batch"))
	}
	script := strings.Split(strings.TrimRight(p.Script, "\n"), "\n")
	room := h - len(out)
	if len(script) > room && room > 0 {
		script = append(script[:room-1], fmt.Sprintf("… %d more lines", len(script)-room+1))
	}
	for _, l := range script {
		out = append(out, "  "+clip(l, w-2))
	}
	return out
}
