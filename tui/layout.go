package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// fit cuts s to w cells (with an ellipsis) and pads it to exactly w, so
// columns line up whatever the content.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-n)
}

// fitRight is fit with the text aligned right, for numbers.
func fitRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-n) + s
}

// clip cuts s to w cells without padding.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// column is one table column. Widths come from the screen, never the
// content, so a table does not jump as rows change.
type column struct {
	title string
	min   int
	// max caps the share of spare room; 0 means the column takes none.
	max   int
	right bool
}

// widths lays cols out in w cells with one space between columns: each gets
// its min, then spare room goes to the growable columns in order. Columns
// that do not fit at all get width 0 and are left out.
func widths(cols []column, w int) []int {
	out := make([]int, len(cols))
	used := 0
	for i, c := range cols {
		need := c.min
		if i > 0 {
			need++
		}
		if used+need > w {
			break
		}
		out[i] = c.min
		used += need
	}
	for i, c := range cols {
		if out[i] == 0 || c.max <= c.min {
			continue
		}
		grow := min(c.max-c.min, w-used)
		out[i] += grow
		used += grow
	}
	return out
}

// row renders cells in their columns; cells of zero-width columns vanish.
func row(cols []column, ws []int, cells ...string) string {
	var b strings.Builder
	first := true
	for i, c := range cols {
		if ws[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		if c.right {
			b.WriteString(fitRight(cells[i], ws[i]))
		} else {
			b.WriteString(fit(cells[i], ws[i]))
		}
	}
	return b.String()
}

// headerRow renders the column titles.
func headerRow(cols []column, ws []int) string {
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	return row(cols, ws, titles...)
}

// cursor is a selection in a list of n rows shown through a window of h
// rows.
type cursor struct {
	pos, top int
}

// move shifts the selection by d rows, clamped, and scrolls the window to
// keep it visible.
func (c *cursor) move(d, n, h int) {
	c.pos = max(0, min(c.pos+d, n-1))
	c.clamp(n, h)
}

// clamp keeps pos and top valid after n or h changed.
func (c *cursor) clamp(n, h int) {
	c.pos = max(0, min(c.pos, n-1))
	h = max(1, h)
	if c.pos < c.top {
		c.top = c.pos
	}
	if c.pos >= c.top+h {
		c.top = c.pos - h + 1
	}
	c.top = max(0, min(c.top, n-h))
}

// follow keeps the selection on the item the analyst had selected (by ID)
// when a new snapshot reorders or changes the list of n items, whose IDs id
// returns, and records the selected ID again.
func (c *cursor) follow(n, h int, id func(int) string, selID *string) {
	for i := range n {
		if id(i) == *selID {
			c.pos = i
			break
		}
	}
	c.clamp(n, h)
	c.remember(n, id, selID)
}

// remember records the selected item's ID.
func (c *cursor) remember(n int, id func(int) string, selID *string) {
	if n > 0 {
		*selID = id(c.pos)
	}
}

// window is the range of rows to draw.
func (c *cursor) window(n, h int) (int, int) {
	return c.top, min(n, c.top+max(0, h))
}

// sparkBase is the lowest of the eight consecutive block runes ▁▂▃▄▅▆▇█.
const sparkBase = '▁'

// sparkline draws the last w values scaled to their maximum.
func sparkline(vals []float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	peak := 0.0
	for _, v := range vals {
		peak = max(peak, v)
	}
	var b strings.Builder
	for range w - len(vals) {
		b.WriteByte(' ')
	}
	for _, v := range vals {
		i := 0
		if peak > 0 && v > 0 {
			i = int(math.Round(v / peak * 7))
		}
		b.WriteRune(sparkBase + rune(max(0, min(i, 7))))
	}
	return b.String()
}

// count renders n compactly: 999, 1.2k, 3.4M.
func count(n uint64) string {
	switch {
	case n < 10_000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	}
}

// rate renders an events-per-second value.
func rate(v float64) string {
	switch {
	case v >= 1e4:
		return fmt.Sprintf("%s/s", count(uint64(v)))
	case v >= 100:
		return fmt.Sprintf("%.0f/s", v)
	default:
		return fmt.Sprintf("%.1f/s", v)
	}
}

// span renders a duration to the second, largest units first: 3d04h,
// 1h02m, 4m05s, 12s.
func span(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%02dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// shortDur renders a duration as an analyst would type it: 4h, 1h30m,
// 90s, without Duration.String's trailing zero units.
func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parseDur reads a positive Go duration (30m, 4h, 1h30m) an analyst typed.
func parseDur(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration like 30m, 4h or 1h30m", s)
	}
	return d, nil
}

// clock renders an event time compactly; the zero time is "-".
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("01-02 15:04:05")
}

// lines splits a rendered block into at most h lines.
func lines(s string, h int) []string {
	ls := strings.Split(s, "\n")
	if len(ls) > h {
		ls = ls[:max(0, h)]
	}
	return ls
}

// displayWidth is the cells s takes on screen, styles excluded.
func displayWidth(s string) int { return ansi.StringWidth(s) }

// splitPane draws a list on top, taking at most listRows rows (its title
// and header included), and the selected item's detail below a rule. Wide
// screens stack too: the extra width goes to the list's columns and the
// detail's long lines (nft batches), which matter more than side by side.
func splitPane(st *Styles, w, h, listRows int, list, detail func(w, h int) []string) []string {
	if h <= 0 {
		return nil
	}
	lh := max(1, min(listRows, h))
	out := list(w, lh)
	for len(out) < lh {
		out = append(out, "")
	}
	if dh := h - lh - 1; dh > 0 {
		out = append(out, st.Faint.Render(strings.Repeat("─", w)))
		out = append(out, detail(w, dh)...)
	}
	return out
}

// clipLeft cuts s to w cells from the left, keeping its end: a path's
// file name and line number say more than its directories.
func clipLeft(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if n := ansi.StringWidth(s); n > w {
		return ansi.TruncateLeft(s, n-w+1, "…")
	}
	return s
}

// printable replaces control characters with U+FFFD. Log lines and the
// fields parsed from them are written by whoever attacks us: an escape
// sequence in a user name must not reach the analyst's terminal.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if isControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
