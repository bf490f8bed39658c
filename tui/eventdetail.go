package tui

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/phantomsoc/phantomsoc/engine"
)

func hostPort(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// detailLines renders one event for reading: the raw line whole, then
// every field the parser and the enricher set.
func (v *events) detailLines(le *LiveEvent) []string {
	w := v.w
	ev := &le.Event
	ind := "not an indicator"
	if ev.Indicator {
		ind = "! indicator"
	}
	out := []string{
		v.st.Label.Render(clip(fmt.Sprintf("Event %d · %s · %s", le.Seq, printable(ev.Type), ind), w)),
		v.st.Label.Render("Raw line"),
	}
	if ev.Raw == "" {
		out = append(out, v.st.Faint.Render("  none (not line based)"))
	} else {
		for l := range strings.SplitSeq(ansi.Hardwrap(printable(ev.Raw), max(1, w-2), true), "\n") {
			out = append(out, "  "+l)
		}
	}
	out = append(out, v.st.Label.Render("Fields"))
	field := func(name, value string) {
		out = append(out, clip("  "+fit(name, 11)+" "+printable(value), w))
	}
	if !ev.Time.IsZero() {
		field("time", ev.Time.Format(time.RFC3339))
	}
	field("type", ev.Type)
	field("indicator", strconv.FormatBool(ev.Indicator))
	if ev.Source.IsValid() {
		field("source", hostPort(ev.Source, ev.SourcePort))
	}
	if ev.SourceHost != "" {
		field("source host", ev.SourceHost+" (unresolved)")
	}
	if ev.Dest.IsValid() {
		field("dest", hostPort(ev.Dest, ev.DestPort))
	}
	for _, f := range []struct{ name, value string }{
		{"proto", ev.Proto}, {"host", ev.Host}, {"program", ev.Program},
	} {
		if f.value != "" {
			field(f.name, f.value)
		}
	}
	if ev.PID != 0 {
		field("pid", strconv.Itoa(ev.PID))
	}
	for _, f := range []struct{ name, value string }{
		{"user", ev.User}, {"method", ev.Method}, {"pattern", ev.Pattern},
	} {
		if f.value != "" {
			field(f.name, f.value)
		}
	}
	if ev.Signature != "" {
		sig := ev.Signature
		if ev.SignatureID != 0 {
			sig += fmt.Sprintf(" (sid %d)", ev.SignatureID)
		}
		field("signature", sig)
	}
	if ev.Category != "" {
		field("category", ev.Category)
	}
	if ev.Severity != 0 {
		field("severity", fmt.Sprintf("%d (1 is highest)", ev.Severity))
	}
	if ev.Origin != "" {
		field("origin", originLine(ev))
	}
	if ev.Count > 1 {
		field("count", strconv.Itoa(ev.Count))
	}
	if a := ev.Asset; a != nil {
		s := a.Name
		if a.Role != "" {
			s += " · role " + a.Role
		}
		field("asset", s+fmt.Sprintf(" · criticality %d/5", a.Criticality))
	}
	if g := ev.Geo; g != nil && (g.Country != "" || g.ASN != 0) {
		var parts []string
		if g.Country != "" {
			parts = append(parts, g.Country)
		}
		if g.ASN != 0 {
			as := fmt.Sprintf("AS%d", g.ASN)
			if g.Org != "" {
				as += " " + g.Org
			}
			parts = append(parts, as)
		}
		field("geo", strings.Join(parts, " · "))
	}
	return append(out, v.feedLines(le.Feeds)...)
}

// feedLines say which scenarios the event fed and how full each bucket
// was right after it; a scenario it fired is marked in words.
func (v *events) feedLines(feeds []engine.Feed) []string {
	out := []string{v.st.Label.Render("Scenarios fed")}
	if len(feeds) == 0 {
		return append(out, v.st.Faint.Render("  none: no scenario counts this event"))
	}
	name := 0
	for i := range feeds {
		name = max(name, displayWidth(feeds[i].Scenario))
	}
	name = min(name, max(12, v.w/3))
	for i := range feeds {
		f := &feeds[i]
		line := "  " + fit(printable(f.Scenario), name) + fmt.Sprintf(" level %.1f/%.0f", f.Level, f.Capacity)
		if f.Key != "" {
			line += " · key " + printable(f.Key)
		}
		if f.Fired {
			out = append(out, v.st.Bad.Render(clip(line+" · ! FIRED", v.w)))
			continue
		}
		out = append(out, clip(line, v.w))
	}
	return out
}
