package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/ingest"
	"github.com/phantomsoc/phantomsoc/engine/parse"
	"github.com/phantomsoc/phantomsoc/engine/synth"
	"github.com/phantomsoc/phantomsoc/store"
	"github.com/phantomsoc/phantomsoc/tui"
)

// demoFeed is the bundled demo traffic: a synthetic auth log (written by
// `phantomsoc synth`, documentation addresses only) and a few EVE alerts.
//
//go:embed demo
var demoFeed embed.FS

// runOptions are the flags of commands that run the engine.
type runOptions struct {
	demo   bool
	dryRun bool
	// ui, when set, owns the terminal while the engine runs: the engine's
	// output goes nowhere but the database (and the log to a file), and
	// the run ends when ui returns.
	ui func(ctx context.Context, src *consoleSource) error
}

func newRunOptions() *runOptions { return &runOptions{} }

func (r *runOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&r.demo, "demo", false, "feed the bundled demo traffic into a fresh temporary database (always a dry run)")
	cmd.Flags().BoolVar(&r.dryRun, "dry-run", false, "print the nft batches enforcement would apply and apply none, whatever the config's dry_run says")
}

func newDaemonCmd(g *globals) *cobra.Command {
	run := newRunOptions()
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the engine headless on the configured sources until SIGINT/SIGTERM",
		Long: `daemon runs the engine without a terminal: it follows the sources in the
config (files with persisted offsets, syslog listeners, stdin), logs with
log/slog (--log-format json for machines), serves its status on the control
socket next to the database, and shuts down cleanly on SIGINT or SIGTERM,
committing everything already read. ` + "`phantomsoc --daemon`" + ` is the same.`,
		Example: "  phantomsoc --config /etc/phantomsoc.yaml daemon --log-format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEngine(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), g, run, "daemon")
		},
	}
	run.addFlags(cmd)
	return cmd
}

// runEngine runs the engine in the foreground (printing decisions) or as a
// daemon (logging them) until the sources end or ctx is cancelled.
func runEngine(ctx context.Context, stdout, stderr io.Writer, g *globals, run *runOptions, mode string) error {
	if run.demo && !g.logLevelSet {
		// The demo's output is its decisions; lifecycle logs would bury them.
		g.logLevel = "warn"
	}
	var logFile *os.File
	if run.ui != nil {
		// The console owns the terminal: logs go to a file beside the
		// database (opened below, once the database path is known).
		stderr = io.Discard
	}
	logger, err := g.logger(stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	cfg.DryRun = cfg.DryRun || run.dryRun || run.demo
	dbPath, err := g.dbPath(cfg.DB)
	if err != nil {
		return err
	}
	if run.demo && g.db == "" {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("phantomsoc-demo-%d", os.Getuid()))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("demo directory: %w", err)
		}
		dbPath = filepath.Join(dir, "demo.db")
		// The demo replays the same feed every time: start clean so its
		// output is the same every time too.
		if err := os.Remove(dbPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("demo database: %w", err)
		}
	}
	if run.ui != nil {
		if logFile, err = os.OpenFile(dbPath+".console.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
			return fmt.Errorf("console log: %w", err)
		}
		defer logFile.Close()
		if logger, err = g.logger(logFile); err != nil {
			return err
		}
	}
	db, err := openStore(dbPath, store.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer db.Close()

	st, err := buildStagesFeeding(&cfg, db, logger, true)
	if err != nil {
		return err
	}
	defer st.Close()

	var sources []engine.Source
	switch {
	case run.demo && run.ui != nil:
		sources, err = liveDemoSources(&cfg, time.Now())
	case run.demo:
		sources, err = demoSources(&cfg)
	default:
		sources, err = configuredSources(&cfg, db, logger)
	}
	if err != nil {
		return err
	}
	if len(sources) == 0 {
		return errors.New("no sources configured: add a `sources:` section to --config, or try --demo")
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name()
	}

	var sink engine.Sink
	switch {
	case run.ui != nil:
	case mode == "daemon":
		sink = &logSink{log: logger.With("component", "decisions"), dryRun: cfg.DryRun}
	default:
		sink = &printer{w: stdout, json: g.output == outputJSON, dryRun: cfg.DryRun}
	}
	// Dry-run batches go to the log, not stdout: stdout carries the
	// decisions (and their JSON) only.
	enf, err := buildEnforcement(&cfg, db, cfg.DryRun, &logWriter{log: logger.With("component", "enforce")}, logger)
	if err != nil {
		return err
	}
	defer enf.Close()
	incidents, err := buildIncidents(&cfg, db, logger)
	if err != nil {
		return err
	}
	sinks := []engine.Sink{enf.enf}
	if enf.rulesets != nil {
		// The rulesets around an action are evidence of its decision's
		// incident: the alert must be in it before the enforcer acts.
		// Otherwise the incident manager's save does not delay actions.
		sinks = []engine.Sink{incidents, enf.enf}
		col, err := liveCollector(&cfg, playbookDeps{db: db, enf: enf, enricher: st.enricher, dbPath: dbPath})
		if err != nil {
			return err
		}
		enf.recordRulesets(col)
	}
	enf.followIncidents(incidents)
	if sink != nil {
		sinks = append([]engine.Sink{sink}, sinks...)
	}
	notify, err := buildNotifying(ctx, &cfg, db, logger)
	if err != nil {
		return err
	}
	if notify != nil {
		sinks = append(sinks, notify)
		if err := notify.listenInbound(&cfg.Inbound, logger); err != nil {
			return err
		}
		defer notify.closeInbound()
	}
	if enf.rulesets == nil {
		sinks = append(sinks, incidents)
	}
	// After the incident manager: a run matches on the alert's incident.
	pbr, err := buildPlaybookRunner(&cfg, playbookDeps{db: db, enf: enf, notify: notify, incidents: incidents, enricher: st.enricher, dbPath: dbPath}, logger)
	if err != nil {
		return err
	}
	if pbr != nil {
		sinks = append(sinks, pbr)
	}
	// Every process that owns the database keeps recent events for consoles,
	// its own or attached ones.
	ring := newEventRing(st.feeds)
	e, err := engine.New(engine.Options{Sources: sources, Pipeline: st.pipeline, Store: db, Sinks: sinks, Logger: logger, Tap: ring.Add})
	if err != nil {
		return err
	}
	started := time.Now()
	srv, err := control.NewServer(socketPath(dbPath), func() control.Status {
		st := statusOf(e, mode, g.info.Version, started, dbPath, cfg.DryRun, names)
		st.Queues = pbr.queues(st.Queues)
		return st
	}, logger)
	if err != nil {
		return err
	}
	serveReader(srv, db)
	serveEnforcer(srv, enf.enf)
	serveIncidents(srv, db, incidents)
	serveReports(srv, db, &cfg, logger)
	serveEvidence(srv, &cfg, playbookDeps{db: db, enf: enf, enricher: st.enricher, dbPath: dbPath})
	if notify != nil {
		serveRouter(srv, notify)
	}
	if pbr != nil {
		servePlaybookRuns(srv, pbr)
	}
	srv.Handle("events", func(args []byte) (any, error) {
		var after uint64
		if err := json.Unmarshal(args, &after); err != nil {
			return nil, err
		}
		return ring.After(after), nil
	})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	ctlDone := make(chan error, 1)
	wg.Go(func() { ctlDone <- srv.Run(ctx) })
	// Without its control socket the process would run blind: status and
	// every listing command would think nobody owns the database.
	select {
	case <-srv.Ready():
	case err := <-ctlDone:
		cancel()
		wg.Wait()
		return err
	}
	if cfg.Retention > 0 && !run.demo {
		wg.Go(func() { pruneEvery(ctx, db, &cfg, time.Hour, logger) })
	}
	if mode == "daemon" && len(cfg.Reports) > 0 && !run.demo {
		wg.Go(func() { scheduleReports(ctx, &cfg, db, logger) })
	}
	enfCtx, stopEnf := context.WithCancel(context.WithoutCancel(ctx))
	// Enforcement outlives the engine by the last commit: it stops after
	// e.Run has returned and every sink was called.
	wg.Go(func() {
		if err := enf.run(enfCtx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("enforcement stopped", "err", err)
		}
	})
	if notify != nil {
		// Like enforcement, notification outlives the engine's last commit.
		wg.Go(func() { _ = notify.run(enfCtx) })
	}
	if pbr != nil {
		// So do playbook runs: they act through both.
		wg.Go(func() { _ = pbr.Run(enfCtx) })
	}
	defer stopEnf()
	logger.Info("engine started", "mode", mode, "db", dbPath, "sources", strings.Join(names, ","), "dry_run", cfg.DryRun)
	var runErr error
	if run.ui != nil {
		// The engine runs until the console quits, even after a finite
		// feed (the demo) has ended: the analyst is still looking at it.
		src := &consoleSource{mode: "in-process", source: dbPath, dryRun: cfg.DryRun, actor: consoleActor(),
			db: db, enf: enf.enf, incidents: localIncidents{db: db, m: incidents}, stats: func(context.Context) (engine.Stats, []engine.Queue, error) {
				return e.Stats(), pbr.queues(e.Queues()), nil
			}, now: time.Now,
			events:     func(_ context.Context, after uint64) ([]tui.LiveEvent, error) { return ring.After(after), nil },
			deliveries: func(context.Context) ([]tui.Delivery, error) { return receiverDeliveries(db) }}
		if notify != nil {
			src.router = notify
		}
		engDone := make(chan error, 1)
		go func() { engDone <- e.Run(ctx) }()
		runErr = run.ui(ctx, src)
		cancel()
		runErr = errors.Join(runErr, <-engDone)
	} else {
		runErr = e.Run(ctx)
	}
	cancel()
	stopEnf()
	wg.Wait()
	s := e.Stats()
	logger.Info("engine stopped", "lines", s.Lines, "events", s.Events, "alerts", s.Alerts, "decisions", s.Decisions, "rejected", s.Rejected)
	if p, ok := sink.(*printer); ok && p.err != nil {
		return fmt.Errorf("write output: %w", p.err)
	}
	if runErr != nil {
		return runErr
	}
	if err := <-ctlDone; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if run.demo && g.output != outputJSON {
		fmt.Fprintf(stdout, "\ndemo: %d lines, %d events, %d alerts, %d decisions (dry-run, nothing enforced); database %s\n",
			s.Lines, s.Events, s.Alerts, s.Decisions, dbPath)
		fmt.Fprintf(stdout, "explore it:  phantomsoc --db %[1]s alerts list   |   alerts show al-00000001   |   decisions list   |   audit verify\n", dbPath)
	}
	return nil
}

func statusOf(e *engine.Engine, mode, version string, started time.Time, db string, dryRun bool, sources []string) control.Status {
	return control.Status{
		PID: os.Getpid(), Mode: mode, Version: version, Started: started, DB: db, DryRun: dryRun, Sources: sources,
		Stats: e.Stats(), LatencyP99: e.Latency().Quantile(0.99).String(), Queues: e.Queues(),
	}
}

// pruneEvery prunes what is older than the retention at start and then every
// interval until ctx ends. A failed prune is logged and retried next time:
// retention must never stop detection.
func pruneEvery(ctx context.Context, db *store.DB, cfg *Config, interval time.Duration, logger *slog.Logger) {
	log := logger.With("component", "retention")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c := pruneCutFor(cfg, time.Now(), cfg.Retention)
		rep, err := db.Prune(ctx, c.Before, c.OffendersBefore)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("prune failed", "err", err)
		case err == nil && rep.Alerts+rep.Decisions+rep.Sources+rep.Offenders > 0:
			log.Info("pruned", "before", rep.Before, "alerts", rep.Alerts, "decisions", rep.Decisions, "sources", rep.Sources, "offenders", rep.Offenders)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// demoSources replays the bundled feed by event time.
// liveDemoSources is the console's demo: the same synthetic attack mix as
// the bundled feed, generated to end at now, so its decisions are still in
// force (and waiting for approval) while the analyst looks at them.
func liveDemoSources(cfg *Config, now time.Time) ([]engine.Source, error) {
	o := synth.DefaultOptions()
	o.Duration = 8 * time.Hour
	o.Start = now.Add(-o.Duration).Truncate(time.Second)
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, o); err != nil {
		return nil, fmt.Errorf("demo feed: %w", err)
	}
	origin := "demo/auth.log"
	p, err := parse.New(parse.Options{Format: parse.FormatAuto, Origin: origin, Location: time.UTC})
	if err != nil {
		return nil, err
	}
	return []engine.Source{ingest.NewReader(origin, bytes.NewReader(buf.Bytes()), p, ingest.ReaderOptions{})}, nil
}

func demoSources(cfg *Config) ([]engine.Source, error) {
	entries, err := demoFeed.ReadDir("demo")
	if err != nil {
		return nil, err
	}
	var srcs []engine.Source
	for _, ent := range entries {
		data, err := demoFeed.ReadFile("demo/" + ent.Name())
		if err != nil {
			return nil, err
		}
		origin := "demo/" + ent.Name()
		p, err := parse.New(parse.Options{Format: parse.FormatAuto, Origin: origin, Year: cfg.Year, Location: cfg.location()})
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, ingest.NewReader(origin, bytes.NewReader(data), p, ingest.ReaderOptions{}))
	}
	return []engine.Source{ingest.NewMerge("demo", srcs...)}, nil
}

// logSink logs every durable decision (daemon mode).
type logSink struct {
	log    *slog.Logger
	dryRun bool
}

func (l *logSink) Committed(c *engine.Commit) {
	for i := range c.Alerts {
		a := &c.Alerts[i]
		l.log.Info("alert", "id", a.ID, "scenario", a.Scenario, "source", a.Source.String(), "key", a.Key, "risk", a.Risk, "confidence", a.Confidence, "count", a.Count)
	}
	for i := range c.Decisions {
		d := &c.Decisions[i]
		l.log.Info("decision", "id", d.ID, "alert_id", d.AlertID, "action", d.Action, "target", d.TargetString(), "ttl", d.TTL.String(), "state", d.State, "dry_run", l.dryRun, "reason", d.Reason)
	}
}
