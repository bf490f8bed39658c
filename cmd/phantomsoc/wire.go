package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/assess"
	"github.com/phantomsoc/phantomsoc/engine/decide"
	"github.com/phantomsoc/phantomsoc/engine/detect"
	"github.com/phantomsoc/phantomsoc/engine/enrich"
	"github.com/phantomsoc/phantomsoc/engine/ingest"
	"github.com/phantomsoc/phantomsoc/engine/parse"
	"github.com/phantomsoc/phantomsoc/store"
)

// The concrete stages must satisfy the engine's interfaces.
var (
	_ engine.Store      = (*store.DB)(nil)
	_ engine.Detector   = (*detect.Detector)(nil)
	_ engine.Assessor   = (*assess.Assessor)(nil)
	_ engine.Decider    = (*decide.Policy)(nil)
	_ engine.Enricher   = (*enrich.Enricher)(nil)
	_ ingest.LineParser = (*parse.Parser)(nil)
	_ engine.Source     = (*ingest.File)(nil)
	_ engine.Source     = (*ingest.Syslog)(nil)
	_ engine.Source     = (*ingest.Reader)(nil)
	_ engine.Source     = (*ingest.Merge)(nil)
)

// stages is a built pipeline and what must be closed after it.
type stages struct {
	pipeline *engine.Pipeline
	detector *detect.Detector
	policy   *decide.Policy
	enricher *enrich.Enricher
	// feeds records what each event fed, for the consoles' live view;
	// nil unless built by buildFeedingStages.
	feeds *feedRecorder
}

func (s *stages) Close() error {
	if s.enricher != nil {
		return s.enricher.Close()
	}
	return nil
}

// loadScenarios returns the bundled scenarios merged with the configured
// directory's.
func loadScenarios(cfg *Config) ([]detect.Scenario, error) {
	defaults, err := detect.LoadDefaults()
	if err != nil {
		return nil, fmt.Errorf("bundled scenarios: %w", err)
	}
	if cfg.ScenariosDir == "" {
		return defaults, nil
	}
	user, err := detect.LoadDir(cfg.ScenariosDir)
	if err != nil {
		return nil, err
	}
	return detect.Merge(defaults, user), nil
}

// buildStages wires detect → assess → decide from the config. db may be nil
// (no offender history, IDs from 1).
func buildStages(cfg *Config, db *store.DB, logger *slog.Logger) (*stages, error) {
	return buildStagesFeeding(cfg, db, logger, false)
}

// buildStagesFeeding is buildStages; with feeds, detection also records
// which scenarios each event fed (stages.feeds), for the processes that
// keep recent events for consoles. Replays and benchmarks go without.
func buildStagesFeeding(cfg *Config, db *store.DB, logger *slog.Logger, feeds bool) (*stages, error) {
	scenarios, err := loadScenarios(cfg)
	if err != nil {
		return nil, err
	}
	det, err := detect.New(scenarios, detect.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	enr, err := enrich.New(cfg.Enrich)
	if err != nil {
		return nil, fmt.Errorf("enrichment: %w", err)
	}
	ass, err := assess.New(cfg.Assess)
	if err != nil {
		enr.Close()
		return nil, fmt.Errorf("assess: %w", err)
	}
	pol, err := decide.New(cfg.Policy, decide.Options{Protected: protectedRanges(), Logger: logger})
	if err != nil {
		enr.Close()
		return nil, fmt.Errorf("policy: %w", err)
	}
	var seq uint64
	if db != nil {
		offenders, err := db.Offenders()
		if err != nil {
			enr.Close()
			return nil, err
		}
		pol.Load(offenders)
		standing, err := db.Decisions(store.DecisionQuery{Oldest: true})
		if err != nil {
			enr.Close()
			return nil, err
		}
		pol.Track(standing)
		if seq, err = db.Seq(); err != nil {
			enr.Close()
			return nil, err
		}
	}
	var detector engine.Detector = det
	var rec *feedRecorder
	if feeds {
		rec = &feedRecorder{Detector: det}
		detector = rec
	}
	p, err := engine.NewPipeline(engine.PipelineOptions{
		Dedup: cfg.DedupWindow, Enricher: enr, Detector: detector, Assessor: ass, Decider: pol, FirstSeq: seq,
	})
	if err != nil {
		enr.Close()
		return nil, err
	}
	return &stages{pipeline: p, detector: det, policy: pol, enricher: enr, feeds: rec}, nil
}

// protectedRanges are never decided against whatever the policy says: the
// address of the SSH client administering this host (SSH_CONNECTION /
// SSH_CLIENT), so an operator cannot lock themselves out.
func protectedRanges() []decide.Protected {
	var out []decide.Protected
	for _, env := range []string{"SSH_CONNECTION", "SSH_CLIENT"} {
		fields := strings.Fields(os.Getenv(env))
		if len(fields) == 0 {
			continue
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		a = a.Unmap().WithZone("")
		out = append(out, decide.Protected{Prefix: netip.PrefixFrom(a, a.BitLen()), Why: "the administering SSH session's client address (" + env + ")"})
		break
	}
	return out
}

// refMode says what yearless timestamps are inferred against.
type refMode int

const (
	// refMtime: a recorded file — its mtime (deterministic replays).
	refMtime refMode = iota
	// refNow: live input — the wall clock.
	refNow
)

// parserFactory returns the ingest.NewParser for a format.
func parserFactory(cfg *Config, format parse.Format, mode refMode) ingest.NewParser {
	return func(origin string) (ingest.LineParser, error) {
		o := parse.Options{Format: format, Origin: origin, Year: cfg.Year, Location: cfg.location()}
		switch mode {
		case refMtime:
			if fi, err := os.Stat(origin); err == nil {
				o.Ref = fi.ModTime()
			}
		case refNow:
			o.Clock = time.Now
		}
		return parse.New(o)
	}
}

// openStore opens the database, turning the lock error into advice.
func openStore(path string, o store.Options) (*store.DB, error) {
	db, err := store.Open(path, o)
	if errors.Is(err, store.ErrNeedsMigration) {
		// A file from an older phantomsoc: a read-only command migrates it
		// as the daemon would at start (one transaction), then reads.
		rw := o
		rw.ReadOnly = false
		mdb, merr := store.Open(path, rw)
		if merr != nil {
			return nil, fmt.Errorf("%w\n(migrating it needs a read-write open, which failed: %v)", err, merr)
		}
		if cerr := mdb.Close(); cerr != nil {
			return nil, cerr
		}
		fmt.Fprintf(os.Stderr, "phantomsoc: migrated %s to this version's schema\n", path)
		db, err = store.Open(path, o)
	}
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w\n(a phantomsoc daemon or console owns %s; `phantomsoc status` talks to it)", err, path)
	}
	return db, err
}

// configuredSources builds the daemon's sources from the config.
func configuredSources(cfg *Config, db *store.DB, logger *slog.Logger) ([]engine.Source, error) {
	var out []engine.Source
	for i, sc := range cfg.Sources {
		format := parse.FormatAuto
		if sc.Format != "" {
			format = parse.Format(sc.Format)
		}
		np := parserFactory(cfg, format, refNow)
		switch sc.Type {
		case "file":
			cp, err := db.Checkpoint(sc.Path)
			if err != nil {
				return nil, fmt.Errorf("sources[%d] %s: checkpoint: %w", i, sc.Name, err)
			}
			f, err := ingest.NewFile(ingest.FileOptions{Path: sc.Path, Parser: np, Start: cp, Follow: true, FromEnd: sc.FromEnd, Logger: logger})
			if err != nil {
				return nil, fmt.Errorf("sources[%d] %s: %w", i, sc.Name, err)
			}
			out = append(out, f)
		case "syslog":
			s, err := ingest.NewSyslog(ingest.SyslogOptions{Network: sc.Network, Addr: sc.Listen, Parser: np, Logger: logger})
			if err != nil {
				return nil, fmt.Errorf("sources[%d] %s: %w", i, sc.Name, err)
			}
			out = append(out, s)
		case "stdin":
			p, err := np("stdin")
			if err != nil {
				return nil, err
			}
			out = append(out, ingest.NewReader("stdin", os.Stdin, p, ingest.ReaderOptions{}))
		}
	}
	return out, nil
}
