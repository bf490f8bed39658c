package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/tui"
)

func newConsoleCmd(g *globals) *cobra.Command {
	run := newRunOptions()
	var attach, mouse bool
	var socket string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Open the interactive console (the default when phantomsoc runs in a terminal with no command)",
		Long: `console shows the engine live and acts on it with single keys: overview,
alerts, pending remediations (a approve, r reject), active decisions
(u rollback), the audit trail and incidents (K acknowledge, m assign to me,
s move forward, c close with a reason, M merge, S split). ? shows the keys
of the current view; every change is audited as console:USER.

By default the console runs the engine itself on the configured sources
(--demo: the bundled demo feed, always a dry run). With --attach it connects
to a running daemon over its control socket instead; quitting then leaves
the daemon running, and several consoles may attach at once. Logs go to
DB.console.log while the console owns the terminal. NO_COLOR is honoured.
--mouse lets the wheel scroll and a click switch tabs; it is off by default
so the terminal's own text selection keeps working (over SSH, too).`,
		Example: "  phantomsoc console --demo\n  phantomsoc --db /var/lib/phantomsoc/phantomsoc.db console --attach\n  ssh -t gw1 phantomsoc console --attach",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if attach || socket != "" {
				return attachConsole(cmd.Context(), g, socket, mouse)
			}
			return runConsole(cmd.Context(), g, run, mouse)
		},
	}
	run.addFlags(cmd)
	cmd.Flags().BoolVar(&attach, "attach", false, "attach to the daemon owning --db instead of running the engine")
	cmd.Flags().StringVar(&socket, "socket", "", "attach to this control socket (implies --attach)")
	cmd.Flags().BoolVar(&mouse, "mouse", false, "report the mouse: the wheel scrolls, a click on a tab switches to it (takes over the terminal's text selection)")
	return cmd
}

func consoleOptions(actor string, mouse bool) tui.Options {
	return tui.Options{Actor: actor, NoColor: os.Getenv("NO_COLOR") != "", Mouse: mouse}
}

// runConsole runs the engine in this process under the console.
func runConsole(ctx context.Context, g *globals, run *runOptions, mouse bool) error {
	run.ui = func(ctx context.Context, src *consoleSource) error {
		return tui.Run(ctx, src, consoleOptions(src.actor, mouse))
	}
	return runEngine(ctx, os.Stdout, os.Stderr, g, run, "console")
}

// attachConsole opens the console on a running daemon.
func attachConsole(ctx context.Context, g *globals, socket string, mouse bool) error {
	if socket == "" {
		path, err := g.resolveDB()
		if err != nil {
			return err
		}
		socket = socketPath(path)
	}
	c := control.NewClient(socket)
	st, err := c.Status(ctx)
	if errors.Is(err, control.ErrNotRunning) {
		return fmt.Errorf("no daemon answers on %s: start one with `phantomsoc --daemon`, or run the console without --attach", socket)
	}
	if err != nil {
		return err
	}
	return tui.Run(ctx, attachedSource(ctx, c, socket, st), consoleOptions(consoleActor(), mouse))
}

// attachedSource is the console's view of the daemon answering c on
// socket, whose status is st.
func attachedSource(ctx context.Context, c *control.Client, socket string, st control.Status) *consoleSource {
	return &consoleSource{mode: "attached", source: socket, dryRun: st.DryRun, actor: consoleActor(),
		db: remote{ctx: ctx, c: c}, enf: remoteEnforcer{c: c}, now: time.Now,
		incidents: remoteIncidents{remote{ctx: ctx, c: c}},
		stats: func(ctx context.Context) (engine.Stats, []engine.Queue, error) {
			st, err := c.Status(ctx)
			return st.Stats, st.Queues, err
		},
		events: func(ctx context.Context, after uint64) (out []tui.LiveEvent, err error) {
			return out, c.Call(ctx, "events", after, &out)
		},
		deliveries: func(ctx context.Context) (out []tui.Delivery, err error) {
			return out, c.Call(ctx, "deliveries", nil, &out)
		},
		// A daemon without routing answers these calls with an unknown
		// call error, which the console shows.
		router: remoteRouter{c: c}}
}

// isTerminal reports whether f is a character device: a person at a
// terminal, not a pipe or a file.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
