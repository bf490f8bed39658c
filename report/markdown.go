package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mdWriter writes Markdown, remembering the first error.
type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// table writes a GitHub-flavoured table; cells are escaped.
func (m *mdWriter) table(header []string, rows [][]string) {
	if len(rows) == 0 {
		m.printf("_None._\n\n")
		return
	}
	m.printf("| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = mdCell(c)
		}
		m.printf("| %s |\n", strings.Join(cells, " | "))
	}
	m.printf("\n")
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "`", "\\`", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)

// mdCell escapes what would break a table cell or turn into markup.
func mdCell(s string) string {
	if s == "" {
		return "-"
	}
	return mdEscaper.Replace(s)
}

func incidentMarkdown(w io.Writer, pm *PostMortem) error {
	m := &mdWriter{w: bufio.NewWriter(w)}
	m.printf("# Post-mortem %s: %s\n\n", pm.ID, mdCell(pm.Title))
	m.printf("Generated %s. State **%s**, severity **%s** (risk %.1f), owner %s, tags %s.\n\n",
		fmtTime(pm.Generated), pm.State, dash(pm.Severity), pm.Risk, mdCell(pm.Owner), mdCell(strings.Join(pm.Tags, ", ")))
	if pm.CloseReason != "" {
		m.printf("Closed because: %s\n\n", mdCell(pm.CloseReason))
	}
	m.printf("## Summary\n\n%s\n\n", mdCell(pm.Summary))

	m.printf("## Metrics\n\n")
	var rows [][]string
	for _, ms := range pm.Milestones {
		rows = append(rows, []string{ms.Name, fmtTime(ms.At)})
	}
	m.table([]string{"Milestone", "Time (UTC)"}, rows)
	rows = nil
	for _, mt := range pm.Metrics {
		rows = append(rows, []string{mt.Name, mt.Text()})
	}
	m.table([]string{"Metric", "Value"}, rows)

	im := &pm.Impact
	m.printf("## Impact\n\n")
	m.table([]string{"What", "Value"}, [][]string{
		{"Sources", strings.Join(im.Sources, ", ")}, {"Assets", strings.Join(im.Assets, ", ")},
		{"Users", strings.Join(im.Users, ", ")}, {"Gateways", strings.Join(im.Gateways, ", ")},
		{"Critical assets", strings.Join(im.Critical, "; ")},
		{"Addresses covered by actions", strconv.FormatUint(im.Addresses, 10)}, {"Events", strconv.Itoa(im.Events)},
	})

	m.printf("## Recommendations\n\n")
	if len(pm.Recommendations) == 0 {
		m.printf("_None: nothing in this incident calls for a change._\n\n")
	}
	for i, r := range pm.Recommendations {
		m.printf("%d. **[%s]** %s  \n   _Because:_ %s (rule `%s`)\n", i+1, r.Priority, mdCell(r.Text), mdCell(r.Because), r.Rule)
	}
	if len(pm.Recommendations) > 0 {
		m.printf("\n")
	}

	m.printf("## Alerts\n\n")
	m.table(alertHeader(), cellsOf(pm.Alerts, alertCells))

	m.printf("## Actions and approvals\n\n")
	m.table(actionHeader(), cellsOf(pm.Actions, actionCells))

	m.printf("## Evidence\n\n")
	m.table(evidenceHeader(), cellsOf(pm.Evidence, evidenceCells))

	m.printf("## Timeline\n\n")
	m.table(timelineHeader(), cellsOf(pm.Timeline, timelineCells))
	if m.err != nil {
		return m.err
	}
	return m.w.Flush()
}

// cellsOf renders each of xs as table cells.
func cellsOf[T any](xs []T, cells func(*T) []string) [][]string {
	rows := make([][]string, len(xs))
	for i := range xs {
		rows[i] = cells(&xs[i])
	}
	return rows
}

func alertHeader() []string {
	return []string{"Alert", "Time", "Scenario", "Source", "Target", "Users", "Events", "Risk", "Conf.", "Risk factors"}
}

func alertCells(a *AlertRow) []string {
	return []string{a.ID, fmtTime(a.Time), a.Scenario, a.Source, dash(a.Target), dash(strings.Join(a.Users, ", ")),
		strconv.Itoa(a.Events), fmt.Sprintf("%.1f", a.Risk), fmt.Sprintf("%.2f", a.Confidence), strings.Join(a.Factors, "; ")}
}

func timelineHeader() []string {
	return []string{"Time", "Kind", "What", "Subject", "Source", "Summary"}
}

func timelineCells(e *TimelineRow) []string {
	return []string{fmtTime(e.Time), e.Kind, e.What, e.Subject, e.Ref, e.Summary}
}

func actionHeader() []string {
	return []string{"Decision", "Time", "Action", "Target", "TTL", "State", "Approved by", "Waited", "Applied", "Gateways", "Ended"}
}

// actionCells is one action as table cells, shared by every format.
func actionCells(a *Action) []string {
	approved := dash(a.ApprovedBy)
	if a.RejectedBy != "" {
		approved = "rejected by " + a.RejectedBy
	}
	applied := fmtTime(a.Applied)
	switch {
	case a.DryRun:
		applied += " (dry run)"
	case a.Failed != "":
		applied += " (failed: " + a.Failed + ")"
	}
	ended := fmtTime(a.Ended)
	if a.EndedBy != "" {
		ended += " by " + a.EndedBy
	}
	ttl := "permanent"
	if a.TTL > 0 {
		ttl = fmtDuration(a.TTL)
	}
	wait := "-"
	if a.Wait > 0 {
		wait = fmtDuration(a.Wait)
	}
	return []string{a.Decision, fmtTime(a.Time), a.Action, a.Target, ttl, a.State, approved, wait, applied, strings.Join(a.Gateways, ", "), ended}
}

func evidenceHeader() []string {
	return []string{"SHA-256", "Type", "Source", "Collected", "Collector", "Bytes", "Audit"}
}

func evidenceCells(e *EvidenceRow) []string {
	return []string{e.SHA256, e.Type, e.Source, fmtTime(e.Collected), e.Collector, strconv.FormatInt(e.Size, 10), fmt.Sprintf("#%d", e.Audit)}
}
