package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/notifiers"
	"github.com/phantomsoc/phantomsoc/store"
)

// reportSent is what `report send` prints; the JSON names are stable for
// scripts.
type reportSent struct {
	Report     string    `json:"report"`
	Receiver   string    `json:"receiver"`
	Attachment string    `json:"attachment"`
	Format     string    `json:"format"`
	Bytes      int       `json:"bytes"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	MessageID  string    `json:"message_id,omitempty"`
	// Audit is the sequence of the report.sent audit record.
	Audit uint64 `json:"audit"`
}

// reportSendCall asks the owning daemon to send a report now.
type reportSendCall struct {
	Name  string    `json:"name"`
	Actor string    `json:"actor"`
	Until time.Time `json:"until"`
}

func newReportSendCmd(g *globals) *cobra.Command {
	var until string
	cmd := &cobra.Command{
		Use:   "send NAME",
		Short: "Mail a report of the reports section now, for the period ending now (its schedule is unchanged)",
		Long: `send builds the configured report NAME (see the reports section of the
config) for its period ending now, or at --until, and mails it to its
receiver, as the daemon does when it is due: to check a new schedule, or to
send a week early. The schedule itself is unchanged: the next due report
still goes out. The send is an audit record (report.sent) signed by you.

When a daemon owns the database, it sends the report with its own config
and mail settings.`,
		Example: "  phantomsoc report send weekly\n  phantomsoc report send weekly --until 2026-03-01T00:00:00Z -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			to := now
			if until != "" {
				var err error
				if to, err = parseSince(parseDays(until), now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			call := reportSendCall{Name: args[0], Actor: actor(), Until: to}
			ctx := cmd.Context()
			var sent reportSent
			path, c, err := owner(ctx, g)
			if err != nil {
				return err
			}
			if c != nil {
				err = remote{ctx: ctx, c: c}.call("report-send", call, &sent)
			} else {
				sent, err = sendReportLocal(ctx, g, path, call, now)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.output == outputJSON {
				return writeJSON(w, sent)
			}
			fmt.Fprintf(w, "sent report %s to %s: %s (%d bytes, %s to %s), audit record %d\n", sent.Report, sent.Receiver, sent.Attachment, sent.Bytes,
				sent.Since.Format(time.RFC3339), sent.Until.Format(time.RFC3339), sent.Audit)
			return nil
		},
	}
	cmd.Flags().StringVar(&until, "until", "", "end of the period: a duration back from now (24h, 7d) or an RFC 3339 time (default now)")
	return cmd
}

// sendReportLocal sends with this command's config on a database no
// daemon holds.
func sendReportLocal(ctx context.Context, g *globals, path string, call reportSendCall, now time.Time) (reportSent, error) {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return reportSent{}, err
	}
	logger, err := g.logger(os.Stderr)
	if err != nil {
		return reportSent{}, err
	}
	db, err := openExisting(path, store.Options{Logger: logger})
	if err != nil {
		return reportSent{}, err
	}
	defer db.Close()
	return sendReportNow(ctx, &cfg, db, call, now, logger)
}

// sendReportNow mails the configured report call.Name for the period
// ending at call.Until and records it, signed by call.Actor; the
// schedule's state is left alone.
func sendReportNow(ctx context.Context, cfg *Config, db *store.DB, call reportSendCall, now time.Time, logger *slog.Logger) (reportSent, error) {
	i := slices.IndexFunc(cfg.Reports, func(r ReportSchedule) bool { return r.Name == call.Name })
	if i < 0 {
		names := make([]string, len(cfg.Reports))
		for j := range cfg.Reports {
			names[j] = cfg.Reports[j].Name
		}
		return reportSent{}, fmt.Errorf("report %q: %w: not in the config's reports section (have %v)", call.Name, control.ErrNotFound, names)
	}
	rc := cfg.Reports[i]
	rcv, err := emailReceiver(cfg.Receivers, rc.Receiver)
	if err != nil {
		return reportSent{}, fmt.Errorf("report %s: %w", rc.Name, err)
	}
	mail, err := notifiers.NewEmail(*rcv.Email, notifiers.Options{Receiver: rcv.Name, Logger: logger})
	if err != nil {
		return reportSent{}, fmt.Errorf("report %s: %w", rc.Name, err)
	}
	t, errs := rc.times()
	if len(errs) > 0 {
		return reportSent{}, fmt.Errorf("report %s: %w", rc.Name, errs[0])
	}
	j := &reportJob{cfg: rc, t: t, mail: mail}
	// Sent by hand: its own Message-ID, never the scheduled one's.
	m, err := mailReport(ctx, db, cfg.location(), j, call.Until, now, "manual-"+now.UTC().Format("20060102T150405.000000000Z"))
	if err != nil {
		return reportSent{}, err
	}
	detail := m.detail(&rc)
	detail["on_demand"] = true
	rec, err := db.AppendAudit(ctx, store.AuditRecord{Time: now, Actor: call.Actor, Action: auditReportSent, Subject: rc.Name, Detail: mustJSON(detail)})
	if err != nil {
		return reportSent{}, fmt.Errorf("report %s was mailed (message %s) but not recorded: %w", rc.Name, m.res.Remote, err)
	}
	return reportSent{Report: rc.Name, Receiver: rc.Receiver, Attachment: m.name, Format: rc.Format, Bytes: m.bytes,
		Since: m.from, Until: m.until, MessageID: m.res.Remote, Audit: rec.Seq}, nil
}
