package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/assess"
	"github.com/phantomsoc/phantomsoc/store"
)

// parseSince accepts a duration back from now ("24h") or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want a duration like 24h or an RFC 3339 time", s)
	}
	return t, nil
}

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List alerts and explain one",
	}
	var q store.AlertQuery
	var since, source string
	list := &cobra.Command{
		Use:   "list",
		Short: "List alerts, newest first",
		Example: `  phantomsoc alerts list --since 24h
  phantomsoc alerts list --scenario ssh-compromise-suspected --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if q.Since, err = parseSince(since, time.Now()); err != nil {
				return err
			}
			if source != "" {
				if q.Source, err = netip.ParseAddr(source); err != nil {
					return fmt.Errorf("--source: %w", err)
				}
			}
			return withReader(cmd.Context(), g, func(db reader) error { return listAlerts(cmd.OutOrStdout(), g, db, q) })
		},
	}
	list.Flags().StringVar(&q.Scenario, "scenario", "", "only this scenario")
	list.Flags().StringVar(&source, "source", "", "only alerts blaming this address (or a campaign covering it)")
	list.Flags().StringVar(&since, "since", "", "only alerts after this (duration back from now, or RFC 3339)")
	list.Flags().IntVar(&q.Limit, "limit", 50, "at most this many (0: all)")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Explain one alert: every risk factor, confidence reason, blast radius and evidence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withReader(cmd.Context(), g, func(db reader) error { return showAlert(cmd.OutOrStdout(), g, db, args[0]) })
		},
	}
	cmd.AddCommand(list, show, newAlertsAckCmd(g))
	return cmd
}

func listAlerts(w io.Writer, g *globals, db reader, q store.AlertQuery) error {
	alerts, err := db.Alerts(q)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		for i := range alerts {
			if err := writeJSON(w, alertRecord(&alerts[i])); err != nil {
				return err
			}
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tTIME\tSCENARIO\tSOURCE\tRISK\tCONF\tEVENTS")
	for _, a := range alerts {
		src := a.Source.String()
		if !a.Source.IsValid() {
			src = fmt.Sprintf("%d sources on %s", a.Sources, a.Key)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%.2f\t%d\n", a.ID, a.Time.UTC().Format(time.RFC3339), a.Scenario, src, a.Risk, a.Confidence, a.Count)
	}
	return tw.Flush()
}

func showAlert(w io.Writer, g *globals, db reader, id string) error {
	a, err := db.Alert(id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("alert %s: not found", id)
	}
	if err != nil {
		return err
	}
	decs, err := db.Decisions(store.DecisionQuery{AlertID: id, Oldest: true})
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		return writeJSON(w, struct {
			engine.Alert
			Decisions []engine.Decision `json:"decisions"`
		}{a, decs})
	}
	if _, err := io.WriteString(w, assess.Explain(a)); err != nil {
		return err
	}
	if len(decs) > 0 {
		fmt.Fprintln(w, "\nDecisions:")
		for _, d := range decs {
			fmt.Fprintf(w, "  %s %s %s ttl %s %s — %s\n", d.ID, d.Action, d.TargetString(), d.TTL, d.State, d.Reason)
		}
	}
	if len(a.Evidence) > 0 {
		fmt.Fprintf(w, "\nEvidence (%d of %d events):\n", len(a.Evidence), a.Count)
		for _, ev := range a.Evidence {
			raw := ev.Raw
			if raw == "" {
				raw = fmt.Sprintf("%s %s %s", ev.Type, ev.Source, ev.User)
			}
			fmt.Fprintf(w, "  %s:%d  %s\n", ev.Origin, ev.Line, raw)
		}
	}
	return nil
}

func newDecisionsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "decisions", Short: "List decisions (what policy made of alerts)"}
	var q store.DecisionQuery
	var since, target string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List decisions, newest first",
		Example: "  phantomsoc decisions list --state pending --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if q.Since, err = parseSince(since, time.Now()); err != nil {
				return err
			}
			if target != "" {
				if q.Target, err = parseTarget(target); err != nil {
					return fmt.Errorf("--target: %w", err)
				}
			}
			switch q.State {
			case "", engine.StatePending, engine.StateActive, engine.StateRefused, engine.StateExpired, engine.StateRolledBack:
			default:
				return fmt.Errorf("--state %q: want pending, active, refused, expired or rolled-back", q.State)
			}
			q.Now = time.Now()
			return withReader(cmd.Context(), g, func(db reader) error { return listDecisions(cmd.OutOrStdout(), g, db, q) })
		},
	}
	list.Flags().StringVar(&q.State, "state", "", "only this state now: pending, active, refused or expired (an active decision past its TTL is expired)")
	list.Flags().StringVar(&q.Scenario, "scenario", "", "only this scenario")
	list.Flags().StringVar(&target, "target", "", "only decisions overlapping this address or CIDR")
	list.Flags().StringVar(&since, "since", "", "only decisions after this (duration back from now, or RFC 3339)")
	list.Flags().IntVar(&q.Limit, "limit", 50, "at most this many (0: all)")
	cmd.AddCommand(list, newRollbackCmd(g), newApproveCmd(g), newExtendCmd(g))
	return cmd
}

// listedDecision is a decision as `decisions list --output json` writes it:
// the replay record plus where it is enforced and the time it has left.
type listedDecision struct {
	record
	Proto            string               `json:"proto,omitempty"`
	Port             uint16               `json:"port,omitempty"`
	Iface            string               `json:"iface,omitempty"`
	Gateways         []string             `json:"gateways,omitempty"`
	Remaining        string               `json:"remaining,omitempty"`
	RemainingSeconds int64                `json:"remaining_seconds,omitempty"`
	Enforcement      []engine.Enforcement `json:"enforcement"`
}

func parseTarget(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func listDecisions(w io.Writer, g *globals, db reader, q store.DecisionQuery) error {
	decs, err := db.Decisions(q)
	if err != nil {
		return err
	}
	ids := make([]string, len(decs))
	for i := range decs {
		decs[i].State = decs[i].StateAt(q.Now)
		ids[i] = decs[i].ID
	}
	var enf map[string][]engine.Enforcement
	if len(ids) > 0 {
		if enf, err = db.Enforcements(ids); err != nil {
			return err
		}
	}
	if g.output == outputJSON {
		for i := range decs {
			d := &decs[i]
			r := listedDecision{record: decisionRecord(d), Enforcement: enf[d.ID], Proto: d.Proto, Port: d.Port, Iface: d.Iface, Gateways: d.Gateways}
			if r.Enforcement == nil {
				r.Enforcement = []engine.Enforcement{}
			}
			if d.State == engine.StateActive || d.State == engine.StatePending {
				if d.Expires.IsZero() {
					r.Remaining = "permanent"
				} else {
					left := d.Expires.Sub(q.Now).Truncate(time.Second)
					r.Remaining, r.RemainingSeconds = left.String(), int64(left/time.Second)
				}
			}
			if err := writeJSON(w, r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tTIME\tACTION\tTARGET\tTTL\tLEFT\tSTATE\tGATEWAYS\tALERT\tSCENARIO")
	for _, d := range decs {
		left := "-"
		if d.State == engine.StateActive || d.State == engine.StatePending {
			left = "permanent"
			if !d.Expires.IsZero() {
				left = d.Expires.Sub(q.Now).Truncate(time.Second).String()
			}
		}
		var gws []string
		for _, e := range enf[d.ID] {
			gws = append(gws, e.Gateway+":"+e.State)
		}
		if len(gws) == 0 {
			gws = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Time.UTC().Format(time.RFC3339), d.Action, targetOrEveryone(&d), d.TTL, left, d.State, strings.Join(gws, ","), d.AlertID, d.Scenario)
	}
	return tw.Flush()
}

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Browse and verify the hash-chained audit trail"}
	var from uint64
	var limit int
	list := &cobra.Command{
		Use:     "list",
		Short:   "List audit records, oldest first",
		Example: "  phantomsoc audit list --from 100 --limit 20 --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withReader(cmd.Context(), g, func(db reader) error { return listAudit(cmd.OutOrStdout(), g, db, from, limit) })
		},
	}
	list.Flags().Uint64Var(&from, "from", 1, "first sequence number")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many (0: all)")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit chain and name the first broken record",
		Long: `verify recomputes every audit record's SHA-256 and its link to the previous
record. It exits non-zero and names the first broken record when any record
was edited, removed or reordered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withReader(cmd.Context(), g, func(db reader) error { return verifyAudit(cmd.OutOrStdout(), g, db) })
		},
	}
	cmd.AddCommand(list, verify)
	return cmd
}

func listAudit(w io.Writer, g *globals, db reader, from uint64, limit int) error {
	recs, err := db.AuditList(from, limit)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		for _, r := range recs {
			if err := writeJSON(w, r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSUBJECT\tHASH")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.16s\n", r.Seq, r.Time.UTC().Format(time.RFC3339), r.Actor, r.Action, r.Subject, r.Hash)
	}
	return tw.Flush()
}

// errAuditBroken makes `audit verify` exit non-zero after printing.
var errAuditBroken = errors.New("audit chain is broken")

func verifyAudit(w io.Writer, g *globals, db reader) error {
	rep, err := db.VerifyAudit()
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		if err := writeJSON(w, rep); err != nil {
			return err
		}
	} else if rep.OK {
		fmt.Fprintf(w, "audit chain OK: %d records verified\n", rep.Records)
	} else {
		fmt.Fprintf(w, "audit chain BROKEN at record %d of %d: %s\n", rep.FirstBroken, rep.Records, rep.Reason)
	}
	if !rep.OK {
		return fmt.Errorf("%w at record %d: %s", errAuditBroken, rep.FirstBroken, rep.Reason)
	}
	return nil
}

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the running engine's state, or the database's when none runs",
		Long: `status asks the process that owns the database (daemon or console) over its
control socket; when none runs it opens the database itself and reports what
it holds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), cmd.OutOrStdout(), g)
		},
	}
}

// dbStatus is `status` when no process runs.
// Its counters sit at the top level, as in a running process's status.
type dbStatus struct {
	Running bool       `json:"running"`
	Info    store.Info `json:"db"`
	engine.Stats
}

func runStatus(ctx context.Context, w io.Writer, g *globals) error {
	path, err := g.resolveDB()
	if err != nil {
		return err
	}
	st, err := control.NewClient(socketPath(path)).Status(ctx)
	if err == nil {
		if g.output == outputJSON {
			return writeJSON(w, struct {
				Running bool `json:"running"`
				control.Status
			}{true, st})
		}
		fmt.Fprintf(w, "running: pid %d, %s, version %s, up %s, dry-run %v\ndb: %s\nsources: %s\n",
			st.PID, st.Mode, st.Version, time.Since(st.Started).Round(time.Second), st.DryRun, st.DB, strings.Join(st.Sources, ", "))
		fmt.Fprintf(w, "lines %d, events %d (indicators %d, duplicates %d), rejected %d, alerts %d, decisions %d, p99 arrival→decision %s\n",
			st.Lines, st.Events, st.Indicators, st.Deduped, st.Rejected, st.Alerts, st.Decisions, st.LatencyP99)
		var qs []string
		for _, q := range st.Queues {
			qs = append(qs, fmt.Sprintf("%s %d/%d", q.Stage, q.Depth, q.Cap))
		}
		if len(qs) > 0 {
			fmt.Fprintf(w, "queues: %s\n", strings.Join(qs, ", "))
		}
		var ob map[string]int
		if err := control.NewClient(socketPath(path)).Call(ctx, "outbox", nil, &ob); err == nil && len(ob) > 0 {
			fmt.Fprintf(w, "notifications: %d sent, %d waiting, %d failed, %d suppressed\n",
				ob[store.NoteSent], ob[store.NoteQueued]+ob[store.NoteSending], ob[store.NoteFailed], ob[store.NoteSuppressed])
		}
		var pr playbookRuns
		if err := control.NewClient(socketPath(path)).Call(ctx, "playbook-runs", nil, &pr); err == nil {
			fmt.Fprintln(w, pr)
		}
		var hs []actions.Health
		if err := control.NewClient(socketPath(path)).Call(ctx, "health", nil, &hs); err == nil {
			for _, h := range hs {
				state := "up"
				if !h.Up {
					state = "DOWN: " + h.Error
				}
				fmt.Fprintf(w, "gateway %s: %s, %d elements\n", h.Name, state, h.Elements)
			}
		}
		return nil
	}
	if !errors.Is(err, control.ErrNotRunning) {
		return err
	}
	return withReader(ctx, g, func(db reader) error {
		info, err := db.Info()
		if err != nil {
			return err
		}
		stats, err := db.Stats()
		if err != nil {
			return err
		}
		if g.output == outputJSON {
			return writeJSON(w, dbStatus{Info: info, Stats: stats})
		}
		fmt.Fprintf(w, "not running\ndb: %s (schema %d, %d bytes, created %s)\n", info.Path, info.Schema, info.Size, info.Created.UTC().Format(time.RFC3339))
		fmt.Fprintf(w, "lines %d, events %d (indicators %d, duplicates %d), rejected %d, alerts %d, decisions %d\n",
			stats.Lines, stats.Events, stats.Indicators, stats.Deduped, stats.Rejected, stats.Alerts, stats.Decisions)
		return nil
	})
}
