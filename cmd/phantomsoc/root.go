package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the persistent flags every command sees.
type globals struct {
	db        string
	config    string
	output    string
	logFormat string
	logLevel  string
	// logLevelSet reports that --log-level was given explicitly.
	logLevelSet bool
	daemon      bool
	cpuProf     string
	peakRSS     bool
	stopProf    func() error
	info        buildInfo
}

func newRootCmd(info buildInfo) *cobra.Command {
	g := &globals{info: info}
	root := &cobra.Command{
		Use:   "phantomsoc",
		Short: "A terminal-first security-operations console: detect, decide, remediate, audit",
		Long: `phantomsoc reads sshd auth logs, Suricata EVE JSON, syslog and JSON lines,
detects attacks with scenarios (fast, slow and distributed brute force, user
enumeration, scanners, compromise after failures, IDS alerts), scores each
alert 0-10 with its confidence and blast radius, turns alerts into decisions
by policy, and persists everything in a bbolt file with a hash-chained audit
trail.

With no subcommand phantomsoc runs the engine in the foreground on the
configured sources and prints what it decides (the interactive console will
take this place). Start with:

  phantomsoc --demo                    bundled demo traffic, own temp database, dry-run
  phantomsoc parse /var/log/auth.log   what would be recognised, line by line
  phantomsoc replay /var/log/auth.log  what would be decided, by event time
  phantomsoc --config FILE --daemon    follow the configured sources headless`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(g.output); err != nil {
				return err
			}
			g.logLevelSet = cmd.Flags().Changed("log-level")
			return g.startProfile()
		},
		PersistentPostRunE: func(cmd *cobra.Command, _ []string) error {
			if g.peakRSS {
				// bench reads this: a parent cannot measure an exec'd
				// child's peak itself (see peakRSSKB).
				fmt.Fprintf(cmd.ErrOrStderr(), "%s %d\n", peakRSSMarker, peakRSSKB())
			}
			return g.stopProfile()
		},
	}
	fs := root.PersistentFlags()
	fs.StringVar(&g.db, "db", "", "bbolt database file (default $XDG_DATA_HOME/phantomsoc/phantomsoc.db)")
	fs.StringVar(&g.config, "config", "", "YAML config file (default: embedded defaults)")
	fs.StringVarP(&g.output, "output", "o", outputTable, "output format: table or json")
	fs.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&g.cpuProf, "cpuprofile", "", "write a CPU profile of the command to this file")
	_ = fs.MarkHidden("cpuprofile")
	fs.BoolVar(&g.peakRSS, "report-peak-rss", false, "print this process's peak resident memory to stderr at exit")
	_ = fs.MarkHidden("report-peak-rss")

	run := newRunOptions()
	root.Flags().BoolVar(&g.daemon, "daemon", false, "run the engine headless (same as `phantomsoc daemon`)")
	run.addFlags(root)
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		mode := "foreground"
		switch {
		case g.daemon:
			mode = "daemon"
		case g.output != outputJSON && cmd.OutOrStdout() == os.Stdout && isTerminal(os.Stdin) && isTerminal(os.Stdout):
			// A person at a terminal gets the console; a pipe or a
			// script gets the decisions printed, as before.
			return runConsole(cmd.Context(), g, run, false)
		}
		return runEngine(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), g, run, mode)
	}

	root.AddCommand(
		newVersionCmd(g),
		newDocsCmd(func() *cobra.Command { return newRootCmd(info) }),
		newDaemonCmd(g),
		newParseCmd(g),
		newReplayCmd(g),
		newIngestCmd(g),
		newStatusCmd(g),
		newAlertsCmd(g),
		newDecisionsCmd(g),
		newAuditCmd(g),
		newBenchCmd(g),
		newScenariosCmd(g),
		newConfigCmd(g),
		newSynthCmd(g),
		newPruneCmd(g),
		newRejectsCmd(g),
		newBlockCmd(g),
		newUnblockCmd(g),
		newRemediateCmd(g),
		newGatewaysCmd(g),
		newConsoleCmd(g),
		newRoutesCmd(g),
		newSilencesCmd(g),
		newPlaybooksCmd(g),
		newIncidentsCmd(g),
		newReportCmd(g),
		newEvidenceCmd(g),
	)
	return root
}

// dbPath resolves --db, then the config, then the XDG default.
func (g *globals) dbPath(fromConfig string) (string, error) {
	if g.db != "" {
		return g.db, nil
	}
	if fromConfig != "" {
		return fromConfig, nil
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --db and no home directory for the default: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "phantomsoc", "phantomsoc.db"), nil
}

// startProfile starts a CPU profile when --cpuprofile asks for one.
func (g *globals) startProfile() error {
	if g.cpuProf == "" {
		return nil
	}
	f, err := os.Create(g.cpuProf)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	g.stopProf = func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}
	return nil
}

func (g *globals) stopProfile() error {
	if g.stopProf == nil {
		return nil
	}
	err := g.stopProf()
	g.stopProf = nil
	return err
}

// resolveDB loads the config and returns the database path it and the
// flags name.
func (g *globals) resolveDB() (string, error) {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return "", err
	}
	return g.dbPath(cfg.DB)
}

// socketPath is the control socket that belongs to a database file.
func socketPath(db string) string { return db + ".sock" }

// logger builds the process logger; w is stderr unless a test says otherwise.
func (g *globals) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", g.logFormat)
}
