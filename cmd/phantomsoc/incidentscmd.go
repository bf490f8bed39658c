package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/store"
)

// metricsView is an incident's response times in seconds; null until the
// incident gets there.
type metricsView struct {
	TTD *float64 `json:"ttd_seconds"`
	TTA *float64 `json:"tta_seconds"`
	TTC *float64 `json:"ttc_seconds"`
	TTR *float64 `json:"ttr_seconds"`
}

// incidentView is an incident as `incidents list|show --output json`
// write it; show adds the timeline.
type incidentView struct {
	ID           string                 `json:"id"`
	Title        string                 `json:"title"`
	State        string                 `json:"state"`
	Severity     string                 `json:"severity"`
	Risk         float64                `json:"risk"`
	Owner        string                 `json:"owner"`
	Tags         []string               `json:"tags"`
	Detected     time.Time              `json:"detected"`
	Opened       time.Time              `json:"opened"`
	Acknowledged *time.Time             `json:"acknowledged"`
	Contained    *time.Time             `json:"contained"`
	Resolved     *time.Time             `json:"resolved"`
	Closed       *time.Time             `json:"closed"`
	CloseReason  string                 `json:"close_reason,omitempty"`
	MergedInto   string                 `json:"merged_into,omitempty"`
	Alerts       []string               `json:"alerts"`
	Decisions    []string               `json:"decisions"`
	Sources      []string               `json:"sources"`
	Assets       []string               `json:"assets"`
	Metrics      metricsView            `json:"metrics"`
	Timeline     []engine.TimelineEntry `json:"timeline,omitempty"`
}

// viewOf renders inc; tl (nil for a listing) may show an earlier
// containment.
func viewOf(inc *engine.Incident, tl []engine.TimelineEntry) incidentView {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	secs := func(d *time.Duration) *float64 {
		if d == nil {
			return nil
		}
		s := d.Seconds()
		return &s
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	m := incident.MetricsOf(inc, tl)
	return incidentView{
		ID: inc.ID, Title: inc.Title, State: inc.State, Severity: inc.Severity, Risk: inc.Risk, Owner: inc.Owner, Tags: nonNil(inc.Tags),
		Detected: inc.Detected.UTC(), Opened: inc.Opened.UTC(), Acknowledged: opt(inc.Acknowledged), Contained: opt(incident.ContainedAt(inc, tl)),
		Resolved: opt(inc.Resolved), Closed: opt(inc.Closed), CloseReason: inc.CloseReason, MergedInto: inc.MergedInto,
		Alerts: nonNil(inc.Alerts), Decisions: nonNil(inc.Decisions), Sources: nonNil(inc.Sources), Assets: nonNil(inc.Assets),
		Metrics:  metricsView{TTD: secs(m.TTD), TTA: secs(m.TTA), TTC: secs(m.TTC), TTR: secs(m.TTR)},
		Timeline: tl,
	}
}

func newIncidentsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "Incidents: alerts merged by source, campaign or asset, through new → acknowledged → contained → eradicated → recovered → closed",
		Long: `An alert joins an open incident that shares its source, its campaign (scenario
and key) or its target asset, when it comes within the incidents.window
(default 1h, event time) of the incident's alerts; otherwise it opens one.
Closed incidents are never reopened. States only move forward; close needs
a reason. While a daemon or console owns the database, every command goes
through it; the actor in the audit trail is the OS user.`,
	}
	var q store.IncidentQuery
	list := &cobra.Command{
		Use:     "list",
		Short:   "List incidents, newest first",
		Example: "  phantomsoc incidents list --open\n  phantomsoc incidents list --state new --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if q.State != "" && engine.IncidentStateRank(q.State) < 0 {
				return fmt.Errorf("--state %q: want one of %s", q.State, strings.Join(engine.IncidentStates(), ", "))
			}
			ctx := cmd.Context()
			return withIncidents(ctx, g, false, func(o incidentOps) error { return listIncidents(ctx, cmd.OutOrStdout(), g, o, q) })
		},
	}
	list.Flags().StringVar(&q.State, "state", "", "only this state")
	list.Flags().BoolVar(&q.Open, "open", false, "only incidents that are not closed")
	list.Flags().IntVar(&q.Limit, "limit", 50, "at most this many (0: all)")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an incident: what it holds, its metrics and its timeline with source references",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withIncidents(ctx, g, false, func(o incidentOps) error { return showIncident(ctx, cmd.OutOrStdout(), g, o, args[0]) })
		},
	}
	metrics := &cobra.Command{
		Use:   "metrics",
		Short: "Mean and median time to detect, acknowledge, contain and resolve over all incidents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return withIncidents(ctx, g, false, func(o incidentOps) error { return incidentMetrics(ctx, cmd.OutOrStdout(), g, o) })
		},
	}
	cmd.AddCommand(list, show, metrics, newIncidentsBackfillCmd(g))
	cmd.AddCommand(incidentChangeCmds(g)...)
	return cmd
}

// incidentChangeCmds are the commands that change an incident.
func incidentChangeCmds(g *globals) []*cobra.Command {
	run := func(cmd *cobra.Command, c incidentCall) error {
		c.Actor, c.Time = actor(), time.Now()
		ctx, w := cmd.Context(), cmd.OutOrStdout()
		return withIncidents(ctx, g, true, func(o incidentOps) error {
			inc, err := o.Change(ctx, c)
			if err != nil {
				return err
			}
			if g.output == outputJSON {
				return writeJSON(w, viewOf(&inc, nil))
			}
			fmt.Fprintf(w, "%s %s (%s, owner %q, %d alerts)\n", inc.ID, inc.State, inc.Severity, inc.Owner, len(inc.Alerts))
			return nil
		})
	}
	ack := &cobra.Command{
		Use: "ack ID", Short: "Acknowledge an incident", Args: cobra.ExactArgs(1),
		Example: "  phantomsoc incidents ack in-00000003",
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, incidentCall{Op: "state", ID: args[0], State: engine.IncidentAcknowledged})
		},
	}
	var reason string
	closeCmd := &cobra.Command{
		Use: "close ID --reason TEXT", Short: "Close an incident (final: later alerts open a new one)", Args: cobra.ExactArgs(1),
		Example: "  phantomsoc incidents close in-00000003 --reason 'source blocked, no compromise'",
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason: say why, for whoever reads the incident later")
			}
			return run(cmd, incidentCall{Op: "state", ID: args[0], State: engine.IncidentClosed, Reason: reason})
		},
	}
	closeCmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	var stateReason string
	state := &cobra.Command{
		Use: "state ID STATE", Short: "Move an incident forward: acknowledged, contained, eradicated, recovered (or closed, with --reason)",
		Args:    cobra.ExactArgs(2),
		Example: "  phantomsoc incidents state in-00000003 contained",
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, incidentCall{Op: "state", ID: args[0], State: args[1], Reason: stateReason})
		},
	}
	state.Flags().StringVar(&stateReason, "reason", "", "a note (required for closed)")
	assign := &cobra.Command{
		Use: "assign ID OWNER", Short: "Set an incident's owner", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, incidentCall{Op: "assign", ID: args[0], Owner: args[1]})
		},
	}
	var remove bool
	var note string
	tag := &cobra.Command{
		Use: "tag ID [TAG...]", Short: "Add tags to an incident (--remove takes them off), or --note a remark", Args: cobra.MinimumNArgs(1),
		Example: "  phantomsoc incidents tag in-00000003 red-team false-positive-candidate",
		RunE: func(cmd *cobra.Command, args []string) error {
			c := incidentCall{Op: "update", ID: args[0], Note: note}
			if remove {
				c.Remove = args[1:]
			} else {
				c.Add = args[1:]
			}
			return run(cmd, c)
		},
	}
	tag.Flags().BoolVar(&remove, "remove", false, "remove the tags instead")
	tag.Flags().StringVar(&note, "note", "", "a remark for the incident's history")
	merge := &cobra.Command{
		Use: "merge INTO FROM", Short: "Merge incident FROM into INTO; FROM is closed as merged", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, incidentCall{Op: "merge", ID: args[0], From: args[1]})
		},
	}
	split := &cobra.Command{
		Use: "split ID ALERT...", Short: "Move alerts (and their decisions) out of an incident into a new one", Args: cobra.MinimumNArgs(2),
		Example: "  phantomsoc incidents split in-00000003 al-00000017 al-00000018",
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, incidentCall{Op: "split", ID: args[0], Alerts: args[1:]})
		},
	}
	return []*cobra.Command{ack, closeCmd, state, assign, tag, merge, split}
}

func listIncidents(ctx context.Context, w io.Writer, g *globals, o incidentOps, q store.IncidentQuery) error {
	incs, err := o.List(ctx, q)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		for i := range incs {
			if err := writeJSON(w, viewOf(&incs[i], nil)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tOPENED\tSTATE\tSEVERITY\tRISK\tOWNER\tALERTS\tDECISIONS\tTITLE")
	for _, inc := range incs {
		owner := inc.Owner
		if owner == "" {
			owner = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\t%d\t%d\t%s\n", inc.ID, inc.Opened.UTC().Format(time.RFC3339), inc.State, inc.Severity, inc.Risk, owner, len(inc.Alerts), len(inc.Decisions), inc.Title)
	}
	return tw.Flush()
}

func showIncident(ctx context.Context, w io.Writer, g *globals, o incidentOps, id string) error {
	v, err := o.Show(ctx, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, control.ErrNotFound) {
		return fmt.Errorf("incident %s: not found", id)
	}
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		return writeJSON(w, v)
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	dur := func(s *float64) string {
		if s == nil {
			return "-"
		}
		return (time.Duration(*s * float64(time.Second))).String()
	}
	fmt.Fprintf(w, "%s  %s\nstate %s, severity %s (risk %.1f), owner %s, tags %s\n", v.ID, v.Title, v.State, v.Severity, v.Risk, orDash(v.Owner), orDash(strings.Join(v.Tags, ",")))
	fmt.Fprintf(w, "detected %s, opened %s, acknowledged %s, contained %s, resolved %s, closed %s\n",
		v.Detected.Format(time.RFC3339), v.Opened.Format(time.RFC3339), ts(v.Acknowledged), ts(v.Contained), ts(v.Resolved), ts(v.Closed))
	if v.CloseReason != "" {
		fmt.Fprintf(w, "close reason: %s\n", v.CloseReason)
	}
	fmt.Fprintf(w, "time to detect %s, acknowledge %s, contain %s, resolve %s\n", dur(v.Metrics.TTD), dur(v.Metrics.TTA), dur(v.Metrics.TTC), dur(v.Metrics.TTR))
	fmt.Fprintf(w, "sources: %s\nassets: %s\nalerts: %s\ndecisions: %s\n\nTimeline:\n", orDash(strings.Join(v.Sources, ", ")), orDash(strings.Join(v.Assets, ", ")),
		orDash(strings.Join(v.Alerts, ", ")), orDash(strings.Join(v.Decisions, ", ")))
	tw := newTable(w)
	for _, e := range v.Timeline {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Kind, e.What, orDash(e.Subject), timelineRef(&e), e.Summary)
	}
	return tw.Flush()
}

// timelineRef names where a timeline entry comes from.
func timelineRef(e *engine.TimelineEntry) string {
	var refs []string
	if e.Origin != "" {
		refs = append(refs, fmt.Sprintf("%s:%d", e.Origin, e.Line))
	}
	if e.Gateway != "" {
		refs = append(refs, "gw "+e.Gateway)
	}
	if e.Receiver != "" {
		refs = append(refs, "to "+e.Receiver)
	}
	if e.Audit != 0 {
		refs = append(refs, fmt.Sprintf("audit #%d", e.Audit))
	}
	if e.Actor != "" && e.Actor != incident.ActorEngine {
		refs = append(refs, "by "+e.Actor)
	}
	return orDash(strings.Join(refs, " "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statView is one metric over many incidents, in seconds.
type statView struct {
	N             int     `json:"n"`
	MeanSeconds   float64 `json:"mean_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
}

func incidentMetrics(ctx context.Context, w io.Writer, g *globals, o incidentOps) error {
	incs, err := o.List(ctx, store.IncidentQuery{})
	if err != nil {
		return err
	}
	ms := make([]incident.Metrics, len(incs))
	for i := range incs {
		ms[i] = incident.MetricsOf(&incs[i], nil)
	}
	s := incident.Summarize(ms)
	sv := func(st incident.Stat) statView {
		return statView{N: st.N, MeanSeconds: st.Mean.Seconds(), MedianSeconds: st.Median.Seconds()}
	}
	if g.output == outputJSON {
		return writeJSON(w, map[string]any{"incidents": s.Incidents, "ttd": sv(s.TTD), "tta": sv(s.TTA), "ttc": sv(s.TTC), "ttr": sv(s.TTR)})
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "%d incidents\nMETRIC\tN\tMEAN\tMEDIAN\n", s.Incidents)
	for _, r := range []struct {
		name string
		st   incident.Stat
	}{{"time to detect", s.TTD}, {"time to acknowledge", s.TTA}, {"time to contain", s.TTC}, {"time to resolve", s.TTR}} {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.name, r.st.N, r.st.Mean.Round(time.Second), r.st.Median.Round(time.Second))
	}
	return tw.Flush()
}

func newIncidentsBackfillCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backfill",
		Short: "Merge stored alerts that are in no incident into incidents, oldest first (a database from before incidents)",
		Long: `backfill applies the merge rules to every stored alert that no incident holds,
by event time, as the engine would have when it committed them: for a
database written before incidents existed or by a replay without them. It
needs the database to itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return backfillIncidents(cmd.Context(), cmd.OutOrStdout(), g)
		},
	}
}

func backfillIncidents(ctx context.Context, w io.Writer, g *globals) error {
	path, c, err := owner(ctx, g)
	if err != nil {
		return err
	}
	if c != nil {
		return errors.New("backfill: a phantomsoc process owns the database; stop it first (it merges new alerts itself)")
	}
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	db, err := openExisting(path, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := backfill(ctx, &cfg, db)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		return writeJSON(w, map[string]int{"opened": n})
	}
	fmt.Fprintf(w, "backfill: %d incidents opened\n", n)
	return nil
}

// backfill merges the alerts of db that no incident holds.
func backfill(ctx context.Context, cfg *Config, db *store.DB) (int, error) {
	m, err := buildIncidents(cfg, db, nil)
	if err != nil {
		return 0, err
	}
	incs, err := db.Incidents(store.IncidentQuery{})
	if err != nil {
		return 0, err
	}
	held := map[string]bool{}
	for _, inc := range incs {
		for _, a := range inc.Alerts {
			held[a] = true
		}
	}
	all, err := db.Alerts(store.AlertQuery{Oldest: true})
	if err != nil {
		return 0, err
	}
	alerts := all[:0]
	for _, a := range all {
		if !held[a.ID] {
			alerts = append(alerts, a)
		}
	}
	decs, err := db.Decisions(store.DecisionQuery{Oldest: true})
	if err != nil {
		return 0, err
	}
	byAlert := map[string][]engine.Decision{}
	for _, d := range decs {
		byAlert[d.AlertID] = append(byAlert[d.AlertID], d)
	}
	return m.Backfill(ctx, alerts, byAlert, 256)
}
