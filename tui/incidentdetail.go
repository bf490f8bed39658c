package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// detailLines renders the open incident for reading: what it is and holds,
// how fast it was handled, and everything that happened to it in order.
func (v *incidents) detailLines() []string {
	w := v.w
	var out []string
	switch {
	case v.det == nil && v.detErr != nil:
		return []string{v.st.Label.Render(clip("Incident "+v.detailID, w)), v.st.Bad.Render(clip("! "+v.detErr.Error(), w))}
	case v.det == nil:
		return []string{v.st.Label.Render(clip("Incident "+v.detailID, w)), v.st.Faint.Render("reading its timeline…")}
	}
	inc := &v.det.Incident
	out = append(out, v.st.Label.Render(clip(fmt.Sprintf("Incident %s · %s · %s · owner %s", inc.ID, strings.ToUpper(inc.State), severity(inc), orDash(inc.Owner)), w)))
	if v.detErr != nil {
		// The last read failed: what is shown is the one before.
		out = append(out, v.st.Bad.Render(clip("! "+v.detErr.Error(), w)))
	}
	if inc.Title != "" {
		out = append(out, clip(printable(inc.Title), w))
	}
	what := []string{"sources " + orNone(inc.Sources), "assets " + orNone(inc.Assets)}
	if len(inc.Tags) > 0 {
		what = append(what, "tags "+strings.Join(inc.Tags, ", "))
	}
	out = append(out, pack(what, " · ", w)...)
	var when []string
	for _, t := range []struct {
		name string
		at   time.Time
	}{
		{"detected", inc.Detected}, {"opened", inc.Opened}, {"acknowledged", inc.Acknowledged},
		{"contained", inc.Contained}, {"resolved", inc.Resolved}, {"closed", inc.Closed},
	} {
		if !t.at.IsZero() {
			when = append(when, t.name+" "+clock(t.at))
		}
	}
	out = append(out, pack(when, " · ", w)...)
	if inc.CloseReason != "" {
		out = append(out, clip("closed: "+printable(inc.CloseReason), w))
	}
	if inc.MergedInto != "" {
		out = append(out, clip("merged into "+inc.MergedInto, w))
	}
	out = append(out, clip(fmt.Sprintf("alerts %d: %s", len(inc.Alerts), orNone(inc.Alerts)), w))
	out = append(out, clip(fmt.Sprintf("decisions %d: %s", len(inc.Decisions), orNone(inc.Decisions)), w))
	m := v.det.Metrics
	out = append(out, "", v.st.Label.Render("Response times"))
	for _, l := range pack([]string{
		"to detect " + metric(m.TTD), "acknowledge " + metric(m.TTA), "contain " + metric(m.TTC), "resolve " + metric(m.TTR),
	}, " · ", w-2) {
		out = append(out, "  "+l)
	}
	out = append(out, "", v.st.Label.Render(fmt.Sprintf("Timeline (%d)", len(v.det.Timeline))))
	if len(v.det.Timeline) == 0 {
		out = append(out, v.st.Faint.Render("  nothing recorded"))
	}
	for i := range v.det.Timeline {
		out = append(out, v.timelineLines(&v.det.Timeline[i], w)...)
	}
	return out
}

// metric is a response time, or "-" when the incident has not got there.
func metric(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return span(*d)
}

// timelineLines is one timeline entry: when, what kind, what happened and
// who did it, then where it comes from; the reference goes on its own line
// when both do not fit.
func (v *incidents) timelineLines(e *engine.TimelineEntry, w int) []string {
	what := e.What
	if e.Actor != "" {
		what += " by " + e.Actor
	}
	text := printable(e.Summary)
	if e.Subject != "" && !strings.Contains(text, e.Subject) {
		text = strings.TrimSpace(e.Subject + " " + text)
	}
	line := "  " + clock(e.Time) + " " + fit(e.Kind, 8) + " " + printable(what)
	if text != "" {
		line += " · " + text
	}
	ref := timelineRef(e)
	if ref == "" {
		return []string{clip(line, w)}
	}
	ref = v.st.Faint.Render("[" + ref + "]")
	if displayWidth(line)+1+displayWidth(ref) <= w {
		return []string{line + " " + ref}
	}
	return []string{clip(line, w), clip("      "+ref, w)}
}

// timelineRef is where an entry comes from: the log file and line, the
// gateway, the audit record, the receiver.
func timelineRef(e *engine.TimelineEntry) string {
	var refs []string
	if e.Origin != "" {
		o := printable(e.Origin)
		if e.Line > 0 {
			o += fmt.Sprintf(":%d", e.Line)
		}
		refs = append(refs, o)
	}
	if e.Gateway != "" {
		refs = append(refs, "gateway "+e.Gateway)
	}
	if e.Receiver != "" {
		refs = append(refs, "to "+e.Receiver)
	}
	if e.Audit > 0 {
		refs = append(refs, fmt.Sprintf("audit #%d", e.Audit))
	}
	return strings.Join(refs, " · ")
}
