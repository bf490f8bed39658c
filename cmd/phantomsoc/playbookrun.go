package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/enrich"
	"github.com/phantomsoc/phantomsoc/engine/incident"
	"github.com/phantomsoc/phantomsoc/evidence"
	"github.com/phantomsoc/phantomsoc/playbooks"
	"github.com/phantomsoc/phantomsoc/store"
)

// PlaybooksConfig is the playbooks: section: which playbooks the daemon
// and the in-process console run on committed alerts. None by default.
type PlaybooksConfig struct {
	// Dirs are directories (or files) of playbooks.
	Dirs []string `yaml:"dirs"`
	// Starter adds the bundled starter set.
	Starter bool `yaml:"starter"`
	// Queue bounds the runs waiting to start; beyond it a run is dropped,
	// counted and logged. 0 means defaultPlaybookQueue.
	Queue int `yaml:"queue"`
	// MaxRunning bounds the runs in progress (a wait step holds its run).
	// 0 means defaultPlaybookRunning.
	MaxRunning int `yaml:"max_running"`
}

const (
	defaultPlaybookQueue   = 1024
	defaultPlaybookRunning = 64
	// auditPlaybookStep is the audit action of a playbook's trace record.
	auditPlaybookStep = "playbook.step"
)

func (c *PlaybooksConfig) enabled() bool { return c.Starter || len(c.Dirs) > 0 }

// validate loads the configured playbooks and checks the receivers and
// gateways they name against cfg. Errors start with the field path, so the
// config loader can place them; a playbook's own error keeps its
// file:line:col after it.
func (c *PlaybooksConfig) validate(cfg *Config) error {
	var errs []error
	if c.Queue < 0 {
		errs = append(errs, errors.New("playbooks.queue: must not be negative"))
	}
	if c.MaxRunning < 0 {
		errs = append(errs, errors.New("playbooks.max_running: must not be negative"))
	}
	if !c.enabled() {
		return errors.Join(errs...)
	}
	_, err := c.load(configuredNames(cfg))
	return errors.Join(append(errs, err)...)
}

// load returns the starter set (when asked for) and the playbooks of each
// directory as one set; names must be unique across all of them.
func (c *PlaybooksConfig) load(known playbooks.Known) (*playbooks.Set, error) {
	var errs []error
	set := &playbooks.Set{}
	field := map[*playbooks.Playbook]string{}
	add := func(f string, s *playbooks.Set, err error) {
		if err != nil {
			for _, e := range flatten(err) {
				errs = append(errs, fmt.Errorf("%s: %w", f, e))
			}
		}
		for _, pb := range s.Playbooks {
			field[pb] = f
		}
		set.Playbooks = append(set.Playbooks, s.Playbooks...)
	}
	if c.Starter {
		s, err := playbooks.LoadFS(playbooks.Starter(), "starter")
		add("playbooks.starter", s, err)
	}
	for i, dir := range c.Dirs {
		s, err := playbooks.LoadDirs(dir)
		add(fmt.Sprintf("playbooks.dirs[%d]", i), s, err)
	}
	first := map[string]*playbooks.Playbook{}
	for _, pb := range set.Playbooks {
		if f, dup := first[pb.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: %s:%d: name: duplicate playbook name %q (first in %s:%d)", field[pb], pb.File, pb.Pos.Line, pb.Name, f.File, f.Pos.Line))
			continue
		}
		first[pb.Name] = pb
	}
	for _, pb := range set.Playbooks {
		one := &playbooks.Set{Playbooks: []*playbooks.Playbook{pb}}
		if err := one.Validate(known); err != nil {
			for _, e := range flatten(err) {
				errs = append(errs, fmt.Errorf("%s: %w", field[pb], e))
			}
		}
	}
	return set, errors.Join(errs...)
}

// playbookJob is one playbook to run for one committed alert.
type playbookJob struct {
	pb       *playbooks.Playbook
	alert    engine.Alert
	incident *playbooks.Incident
}

// playbookRuns are the runner's counters, as `status` shows them.
type playbookRuns struct {
	Running int64 `json:"running"`
	Queued  int64 `json:"queued"`
	Done    int64 `json:"done"`
	Failed  int64 `json:"failed"`
	Dropped int64 `json:"dropped"`
}

// playbookRunner runs the playbooks committed alerts trigger, live: a Sink
// that matches each alert (with its incident) and queues a run per match,
// never waiting, and a Run loop that starts each queued run in a goroutine
// of its own, so a run waiting an hour for an acknowledgement holds no
// other. It owns those goroutines: they end with Run's context.
type playbookRunner struct {
	set  *playbooks.Set
	exec *playbooks.Executor
	inc  *incident.Manager
	db   *store.DB
	log  *slog.Logger
	jobs chan playbookJob
	// slots bounds the runs in progress.
	slots chan struct{}

	running, done, failed, dropped atomic.Int64
}

// playbookDeps are what live runs act on.
type playbookDeps struct {
	db        *store.DB
	enf       *enforcement
	notify    *notifying
	incidents *incident.Manager
	enricher  *enrich.Enricher
	dbPath    string
}

// buildPlaybookRunner returns nil when no playbooks are configured.
func buildPlaybookRunner(cfg *Config, d playbookDeps, logger *slog.Logger) (*playbookRunner, error) {
	pc := &cfg.Playbooks
	if !pc.enabled() {
		return nil, nil
	}
	set, err := pc.load(configuredNames(cfg))
	if err != nil {
		return nil, err
	}
	col, err := liveCollector(cfg, d)
	if err != nil {
		return nil, err
	}
	r := &playbookRunner{set: set, inc: d.incidents, db: d.db, log: logger.With("component", "playbooks"),
		jobs: make(chan playbookJob, orDefault(pc.Queue, defaultPlaybookQueue)), slots: make(chan struct{}, orDefault(pc.MaxRunning, defaultPlaybookRunning))}
	r.exec, err = playbooks.NewExecutor(playbooks.Options{
		Remediator: &liveRemediator{db: d.db, enf: d.enf, incidents: d.incidents, policy: cfg.Enforcement.Options().Approval},
		Notifier:   liveNotifier{n: d.notify, db: d.db},
		Collector:  evidence.Playbook{C: col},
		Incidents:  playbookIncidents{m: d.incidents, db: d.db},
		// Every remediation is answered yes here: the gate of a required
		// one is its decision, left pending for an analyst (see
		// liveRemediator), not a question this process could answer.
		Approver: playbooks.PolicyApprover{Answer: playbooks.ApproveAll},
		Clock:    playbooks.WallClock{},
		Logger:   logger,
		Observe:  r.audit,
	})
	if err != nil {
		return nil, err
	}
	r.log.Info("playbooks loaded", "count", len(set.Playbooks))
	return r, nil
}

// orDefault is v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// liveCollector builds the evidence collector runs use, as `evidence
// collect` builds it: the blob directory beside the database, the
// gateways' runners (the enforcement's own SSH connections), the store's
// history and the pipeline's enricher.
func liveCollector(cfg *Config, d playbookDeps) (*evidence.Collector, error) {
	blobs, err := evidence.OpenBlobs(evidence.DefaultDir(d.dbPath))
	if err != nil {
		return nil, err
	}
	opts := evidence.Options{Runners: map[string]evidence.Runner{}, History: d.db}
	if d.enricher != nil {
		opts.Enricher = d.enricher
	}
	for _, gc := range cfg.Enforcement.Gateways {
		if gc.Type == actions.GatewayLocal {
			opts.Runners[gc.Name] = evidence.Local{Netns: gc.NetNS}
		}
	}
	if d.enf != nil {
		for _, g := range d.enf.ssh {
			opts.Runners[g.Name()] = g
		}
	}
	for _, s := range cfg.Sources {
		if s.Type == "file" && opts.LogFile == "" {
			opts.LogFile = s.Path
		}
	}
	return evidence.New(blobs, d.db, opts)
}

// Committed queues a run for every playbook each alert triggers. It never
// blocks: a full queue drops the run, counted and logged.
func (r *playbookRunner) Committed(c *engine.Commit) {
	for i := range c.Alerts {
		a := &c.Alerts[i]
		// The incident manager is an earlier sink: the alert is in its
		// incident by now.
		inc := playbookIncidentOf(r.inc, a.ID)
		for _, pb := range r.set.Match(a, inc) {
			select {
			// Only a commit's indicators are reused by the engine; its
			// alerts stay as they are, so a copy of the value is enough.
			case r.jobs <- playbookJob{pb: pb, alert: *a, incident: inc}:
			default:
				n := r.dropped.Add(1)
				r.log.Warn("playbook run dropped: queue full", "playbook", pb.Name, "alert_id", a.ID, "queue", cap(r.jobs), "dropped", n)
			}
		}
	}
}

// Run starts queued runs until ctx ends, then waits for those in progress:
// their waits and calls end with ctx. Runs still queued are counted as
// dropped and logged.
func (r *playbookRunner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		if n := len(r.jobs); n > 0 {
			r.dropped.Add(int64(n))
			r.log.Warn("playbook runs not started: shutting down", "count", n)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case job := <-r.jobs:
			select {
			case r.slots <- struct{}{}:
			case <-ctx.Done():
				r.dropped.Add(1)
				r.log.Warn("playbook run not started: shutting down", "playbook", job.pb.Name, "alert_id", job.alert.ID)
				return nil
			}
			r.running.Add(1)
			wg.Go(func() {
				defer func() { <-r.slots; r.running.Add(-1) }()
				r.run(ctx, &job)
			})
		}
	}
}

// run executes one job; its steps are audited as they are recorded.
func (r *playbookRunner) run(ctx context.Context, job *playbookJob) {
	start := time.Now()
	recs, err := r.exec.Run(ctx, job.pb, playbooks.Input{Alert: &job.alert, Incident: job.incident})
	bad := slices.ContainsFunc(recs, func(rec playbooks.Record) bool {
		return rec.Outcome == playbooks.OutcomeFailed || rec.Outcome == playbooks.OutcomeTimeout
	})
	switch {
	case err != nil:
		r.failed.Add(1)
		r.log.Info("playbook run interrupted", "playbook", job.pb.Name, "alert_id", job.alert.ID, "steps", len(recs), "err", err)
	case bad:
		r.failed.Add(1)
		r.log.Warn("playbook run had failures", "playbook", job.pb.Name, "alert_id", job.alert.ID, "steps", len(recs), "took", time.Since(start).String())
	default:
		r.done.Add(1)
		r.log.Debug("playbook run done", "playbook", job.pb.Name, "alert_id", job.alert.ID, "steps", len(recs), "took", time.Since(start).String())
	}
}

// audit records a trace record in the audit trail, about the alert, so the
// incident's timeline and `audit list` show what the playbook did. It
// outlives the run's context: the record of a step cut short by shutdown
// is kept too.
func (r *playbookRunner) audit(rec playbooks.Record) {
	if rec.Outcome == playbooks.OutcomeFailed || rec.Outcome == playbooks.OutcomeTimeout {
		r.log.Warn("playbook step "+rec.Outcome, "playbook", rec.Playbook, "alert_id", rec.AlertID, "step", rec.Name, "kind", rec.Kind, "detail", rec.Detail)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := engine.Change{Notes: []engine.AuditNote{{Time: rec.Time, Actor: "playbook:" + rec.Playbook, Action: auditPlaybookStep, Subject: rec.AlertID, Detail: rec}}}
	if err := r.db.Record(ctx, &ch); err != nil {
		r.log.Error("playbook step not audited", "playbook", rec.Playbook, "alert_id", rec.AlertID, "step", rec.Name, "err", err)
	}
}

// runs reports the counters.
func (r *playbookRunner) runs() playbookRuns {
	return playbookRuns{Running: r.running.Load(), Queued: int64(len(r.jobs)), Done: r.done.Load(), Failed: r.failed.Load(), Dropped: r.dropped.Load()}
}

// queues adds the runner's queue to the engine's, as status shows them;
// a nil runner adds nothing.
func (r *playbookRunner) queues(qs []engine.Queue) []engine.Queue {
	if r == nil {
		return qs
	}
	return append(qs, engine.Queue{Stage: "playbooks", Depth: len(r.jobs), Cap: cap(r.jobs)})
}

// servePlaybookRuns exposes the counters on the control socket.
func servePlaybookRuns(srv *control.Server, r *playbookRunner) {
	srv.Handle("playbook-runs", func([]byte) (any, error) { return r.runs(), nil })
}

// String renders the counters for `status`.
func (p playbookRuns) String() string {
	return fmt.Sprintf("playbooks: %d running, %d queued, %d done, %d failed, %d dropped", p.Running, p.Queued, p.Done, p.Failed, p.Dropped)
}
