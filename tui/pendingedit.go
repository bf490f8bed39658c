package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// editStep is where an edit-and-approve stands: a prompt for each.
type editStep int

const (
	editTTL editStep = iota
	editGateways
	editConfirm
)

// pendingEdit is an analyst's change to one pending decision before
// approving it, what ApproveEdited gets.
type pendingEdit struct {
	id   string
	step editStep
	// ttl counts from approval; 0 keeps the proposed one.
	ttl time.Duration
	// gateways narrows or names where it applies; nil keeps the proposed.
	gateways []string
}

// startEdit asks for the TTL, then the gateways, then the confirmation a
// would ask (typed target when the result is wide, y/n otherwise: an
// edited approval is read back before it applies), then approves with the
// changes.
func (v *pending) startEdit(p Pending) tea.Cmd {
	d := p.Decision
	label := d.Action + " " + confirmWord(&p)
	e := &pendingEdit{id: d.ID}
	v.edit = e
	q := fmt.Sprintf("edit %s ttl from approval: like 30m or 4h, empty keeps %s", label, ttl(d.TTL))
	return v.prompt.free(q, checkTTL, func(s string) tea.Cmd {
		e.ttl, _ = parseTTL(s)
		e.step = editGateways
		q := fmt.Sprintf("edit %s gateways (of %s; empty keeps %s)", label, v.gatewayNames(), orAll(d.Gateways))
		return v.prompt.free(q, func(s string) error { _, err := v.parseGateways(s); return err }, func(s string) tea.Cmd {
			e.gateways, _ = v.parseGateways(s)
			e.step = editConfirm
			return v.confirmEdit(p, e)
		})
	})
}

// checkTTL vets a TTL typed into the edit: empty keeps the proposed one.
func checkTTL(s string) error {
	_, err := parseTTL(s)
	return err
}

func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return parseDur(s)
}

// gatewayNames lists the gateways the snapshot knows, for the prompt.
func (v *pending) gatewayNames() string {
	var names []string
	for _, g := range v.snap.Gateways {
		names = append(names, g.Name)
	}
	if len(names) == 0 {
		return "none configured"
	}
	return strings.Join(names, ", ")
}

// parseGateways reads gateway names separated by commas or spaces; empty
// keeps the proposed ones (nil). A name the snapshot does not know is an
// error, all of them named.
func (v *pending) parseGateways(s string) ([]string, error) {
	var out, unknown []string
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.ContainsFunc(v.snap.Gateways, func(g Gateway) bool { return g.Name == name }) {
			unknown = append(unknown, strconv.Quote(name))
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown gateway %s (gateways: %s)", strings.Join(unknown, ", "), v.gatewayNames())
	}
	return out, nil
}

// confirmEdit reads the edited approval back: a typed target when it is
// wide (as proposed, or now on more than one gateway), y/n otherwise.
func (v *pending) confirmEdit(p Pending, e *pendingEdit) tea.Cmd {
	want := confirmWord(&p)
	label := p.Decision.Action + " " + want
	ttlText, gwText := e.applied(&p.Decision)
	done := label + " (ttl " + ttlText + ", on " + gwText + ")"
	id, ttl, gws := e.id, e.ttl, e.gateways
	run := func(string) tea.Cmd { return v.call.approveEdited(id, ttl, gws, done) }
	// The questions stay short so the word to type fits 80 columns; the
	// detail above reads back the TTL and gateways.
	if p.Wide || len(e.gateways) > 1 {
		return v.prompt.typed("WIDE edited "+label+": type "+want+" then enter to approve", want, run)
	}
	v.prompt.confirm("approve edited "+label+" as shown above", run)
	return nil
}

// applied is the TTL and gateways the edit would apply to d, in words.
func (e *pendingEdit) applied(d *engine.Decision) (ttlText, gwText string) {
	ttlText = ttl(d.TTL) + " as proposed"
	if e.ttl > 0 {
		ttlText = shortDur(e.ttl) + " from approval"
	}
	gwText = orAll(d.Gateways) + " as proposed"
	if e.gateways != nil {
		gwText = strings.Join(e.gateways, ", ")
	}
	return ttlText, gwText
}

// editLines are what approving the edit would apply, for the detail: the
// values entered so far, and the one being typed when it reads.
func (v *pending) editLines(d *engine.Decision, w int) []string {
	e := *v.edit
	typing := ""
	in := strings.TrimSpace(v.prompt.input.Value())
	switch e.step {
	case editTTL:
		if t, err := parseTTL(in); err == nil {
			e.ttl = t
		} else {
			typing = "ttl"
		}
	case editGateways:
		if gws, err := v.parseGateways(in); err == nil {
			e.gateways = gws
		} else {
			typing = "gateways"
		}
	}
	ttlText, gwText := e.applied(d)
	if e.ttl > 0 {
		ttlText += " (proposed " + ttl(d.TTL) + ")"
	}
	if e.gateways != nil {
		gwText += " (proposed " + orAll(d.Gateways) + ")"
	}
	switch typing {
	case "ttl":
		ttlText = "? (" + strconv.Quote(in) + " is not a duration yet)"
	case "gateways":
		gwText = "? (" + strconv.Quote(in) + " names an unknown gateway)"
	}
	return []string{
		v.st.Warn.Render(clip("EDIT · approving applies:", w)),
		clip("  ttl "+ttlText, w),
		clip("  gateways "+gwText, w),
	}
}
