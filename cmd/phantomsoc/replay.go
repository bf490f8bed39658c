package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/engine/ingest"
	"github.com/phantomsoc/phantomsoc/engine/parse"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

// inputOptions are the flags that say how to read recorded input.
type inputOptions struct {
	format string
	year   int
	tz     string
}

func (o *inputOptions) addFlags(cmd *cobra.Command, format string) {
	cmd.Flags().StringVar(&o.format, "type", format, "input format: auto, sshd, eve, syslog or json")
	cmd.Flags().IntVar(&o.year, "year", 0, "year of yearless timestamps (default: closest to, not after, the file's mtime)")
	cmd.Flags().StringVar(&o.tz, "tz", "", "time zone of zoneless timestamps, e.g. Europe/Berlin (default: the config's, UTC)")
}

// apply overrides the config's time settings and returns the format.
func (o *inputOptions) apply(cfg *Config) (parse.Format, error) {
	f, err := parse.ParseFormat(o.format)
	if err != nil {
		return "", fmt.Errorf("--type: %w", err)
	}
	if o.year != 0 {
		cfg.Year = o.year
	}
	if o.tz != "" {
		if _, err := time.LoadLocation(o.tz); err != nil {
			return "", fmt.Errorf("--tz: %w", err)
		}
		cfg.Timezone = o.tz
	}
	return f, nil
}

// replayOptions are replay's own flags.
type replayOptions struct {
	playbooks []string
	approve   string
}

func newReplayCmd(g *globals) *cobra.Command {
	var in inputOptions
	var ro replayOptions
	cmd := &cobra.Command{
		Use:   "replay FILE...",
		Short: "Run recorded logs through the full pipeline by event time",
		Long: `replay runs recorded logs (sshd auth logs, Suricata EVE, syslog, JSON lines)
through parse → dedup → enrich → detect → assess → decide by their own
timestamps: an injected clock, no sleeping. Several files are merged by event
time. The same input gives byte-identical output on every run.

With --output json it writes one JSON object per alert and per decision, in
event-time order, each with "kind" (alert|decision), "scenario", "source"
(address or CIDR), "time", "risk", and for decisions "action" and "ttl".

Results go to a temporary database that is removed afterwards unless --db
names one to keep. Only a kept database gets the per-source index and the
incidents (phantomsoc incidents list --db FILE): a temporary one could
never be read back. Nothing is enforced.

With --playbooks, each alert's matching playbooks run after it, on the
alert's event time (a wait moves that clock; nothing sleeps). Remediations
are asked of --approve (all, none, or auto-only: approval: auto steps, and
approval: policy steps the enforcement policy would apply unasked) and
recorded, never applied; notifications and evidence are recorded, not sent
or collected; incident steps act on the replay's own incidents, which each
alert joins before its playbooks run. Each step is a line: with --output json an object with
"kind": "step", "playbook", "alert_id", "step", "name", "step_kind",
"time", "outcome" (ok, failed, skipped, denied, timeout), "detail" and
"ref". A summary of the runs ends the output (on stderr with --output json).
--playbooks starter uses the bundled starter set.

A replay lets its heap reach 10 MB before it collects garbage (fewer
collections, the same peak); GOGC in the environment, as for any Go
program, replaces that.`,
		Example: `  phantomsoc replay /var/log/auth.log
  phantomsoc replay --output json auth.log.1 eve.json | jq 'select(.kind=="decision")'
  zcat auth.log.2.gz | phantomsoc replay -
  phantomsoc replay --playbooks starter --approve none -o json auth.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cmd.InOrStdin(), g, &in, &ro, args)
		},
	}
	in.addFlags(cmd, "auto")
	cmd.Flags().StringSliceVar(&ro.playbooks, "playbooks", nil, "run these playbook directories (or \"starter\") on each alert")
	cmd.Flags().StringVar(&ro.approve, "approve", playbooks.ApproveAutoOnly, "how playbook approvals are answered: all, none or auto-only")
	return cmd
}

// replayResult is what a replay did, for the summary and for bench.
type replayResult struct {
	Stats   engine.Stats
	Elapsed time.Duration
	P99     time.Duration
	// Playbooks summarises the playbook runs of --playbooks.
	Playbooks string
}

func runReplay(ctx context.Context, w, stderr io.Writer, stdin io.Reader, g *globals, in *inputOptions, ro *replayOptions, files []string) error {
	res, err := replayWith(ctx, w, stdin, g, in, ro, files, g.db)
	if err != nil {
		return err
	}
	if g.output != outputJSON {
		s := res.Stats
		fmt.Fprintf(w, "\nreplayed %d lines in %v: %d events (%d indicators, %d folded as duplicates, %d rejected), %d alerts, %d decisions\n",
			s.Lines, res.Elapsed.Round(time.Millisecond), s.Events, s.Indicators, s.Deduped, s.Rejected, s.Alerts, s.Decisions)
	}
	if res.Playbooks != "" {
		if g.output == outputJSON {
			w = stderr
		}
		fmt.Fprintln(w, res.Playbooks)
	}
	return nil
}

// replay runs files through the pipeline into dbPath ("" = a temporary
// database removed afterwards).
func replay(ctx context.Context, w io.Writer, stdin io.Reader, g *globals, in *inputOptions, files []string, dbPath string) (replayResult, error) {
	return replayWith(ctx, w, stdin, g, in, &replayOptions{}, files, dbPath)
}

// replayWith is replay with replay's own options (playbooks).
func replayWith(ctx context.Context, w io.Writer, stdin io.Reader, g *globals, in *inputOptions, ro *replayOptions, files []string, dbPath string) (replayResult, error) {
	start := time.Now()
	cfg, err := loadConfig(g.config)
	if err != nil {
		return replayResult{}, err
	}
	format, err := in.apply(&cfg)
	if err != nil {
		return replayResult{}, err
	}
	var opts store.Options
	temp := dbPath == ""
	if temp {
		dir, err := os.MkdirTemp("", "phantomsoc-replay-")
		if err != nil {
			return replayResult{}, fmt.Errorf("temporary database: %w", err)
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "replay.db")
		// A throwaway file: durability buys nothing here.
		opts.NoSync = true
	}
	db, err := openStore(dbPath, opts)
	if err != nil {
		return replayResult{}, err
	}
	defer db.Close()
	st, err := buildStages(&cfg, db, nil)
	if err != nil {
		return replayResult{}, err
	}
	defer st.Close()
	// The incidents of a temporary database could never be read back:
	// without --db they are built only for playbooks, and in memory.
	var incidents *incident.Manager
	switch {
	case !temp:
		incidents, err = buildIncidents(&cfg, db, nil)
	case len(ro.playbooks) > 0:
		incidents, err = incident.New(cfg.Incidents, incident.NewMemoryStore(), db, nil)
	}
	if err != nil {
		return replayResult{}, err
	}

	np := parserFactory(&cfg, format, refMtime)
	var srcs []engine.Source
	for _, f := range files {
		if f == "-" {
			p, err := np("stdin")
			if err != nil {
				return replayResult{}, err
			}
			srcs = append(srcs, ingest.NewReader("stdin", stdin, p, ingest.ReaderOptions{}))
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return replayResult{}, fmt.Errorf("replay: %w", err)
		}
		src, err := ingest.NewFile(ingest.FileOptions{Path: f, Parser: np, BatchMax: replayBatch})
		if err != nil {
			return replayResult{}, err
		}
		srcs = append(srcs, src)
	}
	pr := &printer{w: w, json: g.output == outputJSON, dryRun: true, ctx: ctx}
	if len(ro.playbooks) > 0 {
		if pr.playbooks, err = newReplayPlaybooks(&cfg, ro.playbooks, ro.approve, g.config != "", incidents, db); err != nil {
			return replayResult{}, err
		}
	}
	// One file needs no merging (a merge stage costs a fifth of the run).
	src := srcs[0]
	if len(srcs) > 1 {
		src = ingest.NewMerge("replay", srcs...)
	}
	// With playbooks the printer feeds the incidents alert by alert (see
	// replayPlaybooks.run); without, they take each commit.
	sinks := []engine.Sink{pr}
	if incidents != nil && pr.playbooks == nil {
		sinks = append(sinks, incidents)
	}
	e, err := engine.New(engine.Options{
		Sources: []engine.Source{src}, Pipeline: st.pipeline, Store: db,
		Sinks: sinks, Queue: 2, GroupCommit: 8, CommitLines: 4096,
		// No one can list the sources of a temporary database.
		NoIndicators: temp,
	})
	if err != nil {
		return replayResult{}, err
	}
	defer startGCFloor(replayHeapFloor)()
	if err := e.Run(ctx); err != nil {
		return replayResult{}, err
	}
	if pr.err != nil {
		return replayResult{}, fmt.Errorf("write output: %w", pr.err)
	}
	res := replayResult{Stats: e.Stats(), Elapsed: time.Since(start), P99: e.Latency().Quantile(0.99)}
	if pr.playbooks != nil {
		res.Playbooks = pr.playbooks.summary()
	}
	return res, nil
}

// replayBatch is the events per batch of a replayed file: larger than a live
// source's, because every commit rewrites the index entry of each source it
// touches and a replay has no one waiting for the next decision.
const replayBatch = 1024
