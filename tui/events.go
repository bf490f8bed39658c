package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// liveCap bounds the events the live view keeps, newest kept: the console
// is a window on the stream, the store keeps the rest.
const liveCap = 2000

// liveEntry is one buffered event and how many events are missing just
// before it: numbers the console no longer had when asked.
type liveEntry struct {
	LiveEvent
	gap uint64
}

// liveRow is one line of the list: a buffered event or the gap marker
// before it. abs is the entry's absolute index, which survives the buffer
// dropping its oldest.
type liveRow struct {
	abs int
	gap bool
}

// events is the live stream: newest at the bottom, following the tail
// until paused, filtered by terms, one event's detail on enter.
type events struct {
	st   *Styles
	keys eventKeys
	w, h int

	// buf holds the newest events, oldest first; buf[i] has the absolute
	// index base+i. last is the newest Seq received, 0 before any.
	buf  []liveEntry
	mem  []liveEntry
	base int
	last uint64
	err  string

	filter eventFilter
	// rows are the lines the filter lets through, oldest first.
	rows []liveRow
	sel  cursor
	// follow keeps the newest row selected and in view; paused, pausedAt
	// is the absolute index of the newest entry at the time, so what came
	// after counts as new.
	follow   bool
	pausedAt int

	prompt prompt

	// detail is the open event (a copy: it stays readable once the buffer
	// drops it), nil in the list.
	detail *LiveEvent
	dlines []string
	dtop   cursor
}

func newEvents(st *Styles) *events {
	return &events{st: st, keys: newEventKeys(), follow: true, prompt: newPrompt(st)}
}

func (v *events) Tab() (string, int)               { return "Events", -1 }
func (v *events) Capturing() bool                  { return v.prompt.active() }
func (v *events) SetNow(time.Time) bool            { return false }
func (v *events) SetSnapshot(*Snapshot, time.Time) {}

// after is the Seq to ask the console for events after.
func (v *events) after() uint64 { return v.last }

func (v *events) SetSize(w, h int) {
	v.w, v.h = w, h
	v.prompt.setWidth(w)
	v.place()
	if v.detail != nil {
		v.dlines = v.detailLines(v.detail)
		v.dtop.clamp(len(v.dlines), v.h)
	}
}

// headLines is the rows above the list: the title, the filter and the last
// error when there are any, the column header.
func (v *events) headLines() int {
	n := 2
	if v.filter.active() {
		n++
	}
	if v.err != "" {
		n++
	}
	return n
}

// rowsH is the list rows under the head and above an open prompt.
func (v *events) rowsH() int {
	return max(1, v.h-v.headLines()-len(v.prompt.view(v.w)))
}

// place puts the selection back in view after the rows or the room for
// them changed: on the newest row when following.
func (v *events) place() {
	if v.follow {
		v.sel.pos = len(v.rows) - 1
	}
	v.sel.clamp(len(v.rows), v.rowsH())
}

func (v *events) entry(abs int) *liveEntry { return &v.buf[abs-v.base] }

// add takes in the answer to one Events call and reports whether the list
// looks different.
func (v *events) add(evs []LiveEvent, err error) bool {
	changed := false
	e := ""
	if err != nil {
		e = err.Error()
	}
	if e != v.err {
		v.err, changed = e, true
	}
	if err != nil || len(evs) == 0 {
		if changed {
			v.place()
		}
		return changed && v.detail == nil
	}
	if v.last > 0 && evs[0].Seq <= v.last {
		// The engine started counting again (a daemon restart): its
		// events follow the ones already shown.
		v.last = 0
	}
	// More than the buffer holds: the oldest would be dropped at once, so
	// skip them, as received rather than missing.
	if k := len(evs) - liveCap; k > 0 {
		if s := evs[k-1].Seq; s > v.last {
			v.last = s
		}
		evs = evs[k:]
	}
	for _, le := range evs {
		if le.Seq <= v.last && v.last > 0 {
			// A repeat, or a console that started counting again: nothing
			// new to show.
			continue
		}
		var gap uint64
		if v.last > 0 && le.Seq > v.last+1 {
			gap = le.Seq - v.last - 1
		}
		v.last = le.Seq
		v.push(liveEntry{LiveEvent: le, gap: gap})
		v.appendRows(v.base + len(v.buf) - 1)
		changed = true
	}
	if k := len(v.buf) - liveCap; k > 0 {
		v.drop(k)
	}
	v.place()
	return changed && v.detail == nil
}

// push appends e. buf is a window sliding along mem, twice the bound:
// dropping reslices its head off, and only when the window reaches the
// end of mem is it moved back to the front, so each event is copied about
// once per liveCap arrivals and the buffer never reallocates.
func (v *events) push(e liveEntry) {
	if len(v.buf) == cap(v.buf) {
		if v.mem == nil {
			v.mem = make([]liveEntry, 2*liveCap)
		}
		if k := len(v.buf) - (liveCap - 1); k > 0 {
			v.drop(k)
		}
		n := copy(v.mem, v.buf)
		clear(v.mem[n:])
		v.buf = v.mem[:n]
	}
	v.buf = append(v.buf, e)
}

// drop forgets the k oldest events.
func (v *events) drop(k int) {
	clear(v.buf[:k])
	v.buf = v.buf[k:]
	v.base += k
	v.trimRows()
}

// appendRows adds the rows for entry abs: its gap marker, then the event
// if the filter lets it through. Missing events show whatever the filter:
// they could have matched.
func (v *events) appendRows(abs int) {
	e := v.entry(abs)
	if e.gap > 0 {
		v.rows = append(v.rows, liveRow{abs: abs, gap: true})
	}
	if v.filter.match(&e.Event) {
		v.rows = append(v.rows, liveRow{abs: abs})
	}
}

// trimRows drops the rows of entries the buffer dropped, keeping the
// selection and the window on the same rows.
func (v *events) trimRows() {
	i := 0
	for i < len(v.rows) && v.rows[i].abs < v.base {
		i++
	}
	if i == 0 {
		return
	}
	v.rows = append(v.rows[:0], v.rows[i:]...)
	v.sel.pos = max(0, v.sel.pos-i)
	v.sel.top = max(0, v.sel.top-i)
}

// setFilter applies f; paused, the selection stays on the same event or
// the one before it.
func (v *events) setFilter(f eventFilter) {
	selAbs := -1
	if len(v.rows) > 0 {
		selAbs = v.rows[v.sel.pos].abs
	}
	v.filter = f
	v.rows = v.rows[:0]
	for i := range v.buf {
		v.appendRows(v.base + i)
	}
	if !v.follow {
		v.sel.pos = 0
		for i, r := range v.rows {
			if r.abs > selAbs {
				break
			}
			v.sel.pos = i
		}
	}
	v.place()
}

// closeDetail goes back to the list.
func (v *events) closeDetail() {
	v.detail, v.dlines = nil, nil
	v.place()
}

func (v *events) pause() {
	v.follow = false
	v.pausedAt = v.base + len(v.buf) - 1
}

// fresh counts the rows shown that arrived since the pause.
func (v *events) fresh() int {
	n := 0
	for i := len(v.rows) - 1; i >= 0 && v.rows[i].abs > v.pausedAt; i-- {
		if !v.rows[i].gap {
			n++
		}
	}
	return n
}

func (v *events) KeyMap() help.KeyMap {
	if v.prompt.active() {
		return v.prompt.keyMap()
	}
	return v.bindings()
}

// bindings are the keys with only those that apply now enabled.
func (v *events) bindings() eventKeys {
	k := v.keys
	inDetail := v.detail != nil
	n := len(v.rows)
	k.navKeys.setEnabled((inDetail && len(v.dlines) > v.h) || (!inDetail && n > 1))
	k.Pause.SetEnabled(!inDetail)
	if !v.follow {
		k.Pause.SetHelp("p", "follow")
	}
	k.Filter.SetEnabled(!inDetail)
	k.Open.SetEnabled(!inDetail && n > 0 && !v.rows[v.sel.pos].gap)
	k.Back.SetEnabled(inDetail)
	return k
}

func (v *events) Update(msg tea.Msg) (tea.Cmd, bool) {
	if v.prompt.active() {
		cmd := v.prompt.update(msg)
		v.place()
		return cmd, true
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	keys := v.bindings()
	if v.detail != nil {
		if key.Matches(k, keys.Back) {
			v.closeDetail()
			return nil, true
		}
		return nil, keys.scroll(k, &v.dtop, len(v.dlines), v.h)
	}
	switch {
	case key.Matches(k, keys.Pause):
		if v.follow {
			v.pause()
		} else {
			v.follow = true
			v.place()
		}
		return nil, true
	case key.Matches(k, keys.Filter):
		cmd := v.prompt.free("filter: field:value or words, all must match; empty clears",
			func(s string) error {
				_, err := parseFilter(s)
				return err
			},
			func(s string) tea.Cmd {
				if f, err := parseFilter(s); err == nil {
					v.setFilter(f)
				}
				return nil
			})
		v.place()
		return cmd, true
	case key.Matches(k, keys.Open):
		le := v.entry(v.rows[v.sel.pos].abs).LiveEvent
		v.detail = &le
		v.dlines = v.detailLines(&le)
		v.dtop = cursor{}
		return nil, true
	case keys.move(k, &v.sel, len(v.rows), v.rowsH()):
		// Scrolling away from the tail pauses: the next poll must not
		// pull the list from under the analyst's eyes.
		if v.follow && v.sel.pos != len(v.rows)-1 {
			v.pause()
		}
		return nil, true
	}
	return nil, false
}

// Column indexes of the list.
const (
	colTime = iota
	colType
	colMark
	colSource
	colUser
	colOrigin
	colRaw
)

func (v *events) columns() []column {
	return []column{
		colTime:   {title: "TIME", min: 8},
		colType:   {title: "TYPE", min: 21},
		colMark:   {title: "!", min: 1},
		colSource: {title: "SOURCE", min: 15},
		colUser:   {title: "USER", min: 8},
		colOrigin: {title: "ORIGIN", min: 12},
		colRaw:    {title: "MESSAGE"},
	}
}

// eventWidths lays the list out in w cells. widths grows columns in
// order; here room goes where it tells most first: enough origin for a
// file name and line, whole types, addresses and users, then the message.
func eventWidths(cols []column, w int) []int {
	ws := make([]int, len(cols))
	spare := w
	for i, c := range cols {
		ws[i] = c.min
		spare -= c.min
		if i > 0 && c.min > 0 {
			spare--
		}
	}
	if spare < 0 {
		// Narrower than the minimums: plain table rules, columns drop.
		return widths(cols, w)
	}
	grow := func(i, to int) {
		d := max(0, min(to-ws[i], spare))
		ws[i] += d
		spare -= d
	}
	grow(colOrigin, 24)
	grow(colType, 23)
	grow(colSource, 22)
	grow(colUser, 12)
	if spare > 10 {
		ws[colRaw] = spare - 1
	} else {
		ws[colOrigin] += spare
	}
	return ws
}

func (v *events) View() string {
	if v.detail != nil {
		from, to := v.dtop.window(len(v.dlines), v.h)
		return strings.Join(v.dlines[from:to], "\n")
	}
	out := make([]string, 0, v.h)
	out = append(out, v.title())
	if v.filter.active() {
		shown := 0
		for _, r := range v.rows {
			if !r.gap {
				shown++
			}
		}
		out = append(out, clip(fmt.Sprintf("filter: %s · %d of %d match", printable(v.filter.text), shown, len(v.buf)), v.w))
	}
	if v.err != "" {
		out = append(out, v.st.Bad.Render(clip("! "+v.err, v.w)))
	}
	cols := v.columns()
	ws := eventWidths(cols, v.w-2)
	out = append(out, "  "+v.st.Header.Render(headerRow(cols, ws)))
	switch {
	case len(v.buf) == 0:
		out = append(out, v.st.Faint.Render("no events yet"))
	case len(v.rows) == 0:
		out = append(out, v.st.Faint.Render("no event matches the filter"))
	}
	from, to := v.sel.window(len(v.rows), v.rowsH())
	for i := from; i < to; i++ {
		line := v.line(v.rows[i], cols, ws)
		if i == v.sel.pos {
			out = append(out, v.st.Selected.Render("› "+line))
		} else {
			out = append(out, "  "+line)
		}
	}
	if pl := v.prompt.view(v.w); len(pl) > 0 {
		for len(out) < v.h-len(pl) {
			out = append(out, "")
		}
		out = append(out, pl...)
	}
	return strings.Join(out, "\n")
}

// title says whether the list follows the stream and, paused, how much
// arrived since: the marker is words, not a colour.
func (v *events) title() string {
	mode := "following"
	if !v.follow {
		mode = v.st.Warn.Render(fmt.Sprintf("PAUSED — %d new", v.fresh())) + " · p follows"
	}
	return clip(v.st.Label.Render("Live events")+" · "+mode+" · "+fmt.Sprintf("%d kept", len(v.buf)), v.w)
}

// line renders one row in the list's columns.
func (v *events) line(r liveRow, cols []column, ws []int) string {
	e := v.entry(r.abs)
	if r.gap {
		return v.st.Warn.Render(fit(fmt.Sprintf("… %d events not shown (gone from the console's live window)", e.gap), v.w-2))
	}
	ev := &e.Event
	mark := " "
	if ev.Indicator {
		mark = "!"
	}
	t := "-"
	if !ev.Time.IsZero() {
		t = ev.Time.Format("15:04:05")
	}
	return row(cols, ws,
		t,
		printable(ev.Type),
		mark,
		source(ev),
		printable(ev.User),
		clipLeft(printable(originLine(ev)), ws[colOrigin]),
		printable(message(ev)),
	)
}

// message is what a line says beyond the columns: an IDS signature, or
// the raw line without the syslog header the time and origin repeat.
func message(ev *engine.Event) string {
	if ev.Signature != "" {
		return ev.Signature
	}
	if ev.Program != "" {
		if i := strings.Index(ev.Raw, ev.Program); i >= 0 {
			if j := strings.Index(ev.Raw[i:], ": "); j >= 0 {
				return ev.Raw[i+j+2:]
			}
		}
	}
	return ev.Raw
}

// source names who an event blames: the address, else the host name sshd
// logged, else "-".
func source(ev *engine.Event) string {
	switch {
	case ev.Source.IsValid():
		return ev.Source.String()
	case ev.SourceHost != "":
		return printable(ev.SourceHost)
	}
	return "-"
}

func originLine(ev *engine.Event) string {
	if ev.Line > 0 {
		return ev.Origin + ":" + strconv.FormatInt(ev.Line, 10)
	}
	return ev.Origin
}
