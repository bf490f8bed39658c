package tui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// Options tune the console. The zero value is usable.
type Options struct {
	// Refresh is how often the console asks for a snapshot (default
	// 500ms). Polling, not pushing, is what makes a slow terminal skip
	// snapshots instead of queueing them.
	Refresh time.Duration
	// FPS caps frames per second (default 30). However fast events
	// arrive, the data on screen changes only as often as the console
	// polls (Refresh), a few times a second, and an unchanged frame is
	// never sent: the cap is for keys, whose frame waits for the next
	// tick, at most 1/FPS (33 ms at 30; 15 made the key-to-screen p99
	// 65 ms).
	FPS int
	// Timeout bounds each Console call (default 10s).
	Timeout time.Duration
	// Actor is who the console acts as, shown in the header; empty means
	// the snapshot's Actor.
	Actor string
	// Now is the console's clock (default time.Now); tests fix it.
	Now func() time.Time
	// NoColor draws without colour (the caller's reading of NO_COLOR):
	// meaning is never carried by colour alone, so nothing is lost.
	NoColor bool
	// Mouse reports the mouse: the wheel scrolls, a click on a tab
	// switches to it. Off by default, so the terminal's own text selection
	// works (over SSH, copying an address is what the mouse is for).
	Mouse bool
	// Program are extra bubbletea options, applied last: the terminal
	// (tea.WithInput/WithOutput over SSH), another colour profile.
	Program []tea.ProgramOption
}

func (o Options) withDefaults() Options {
	if o.Refresh <= 0 {
		o.Refresh = 500 * time.Millisecond
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Run shows the console over c until the analyst quits or ctx ends.
func Run(ctx context.Context, c Console, opts Options) error {
	_, err := program(ctx, New(c, opts)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		// ctx ending is how the caller asks us to stop, not a failure.
		return nil
	}
	return err
}

// program is the bubbletea program Run runs m in: the frame cap, the
// colour profile, then the caller's options.
func program(ctx context.Context, m *Model) *tea.Program {
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithFPS(m.opts.FPS)}
	if m.opts.NoColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	popts = append(popts, m.opts.Program...)
	return tea.NewProgram(m, popts...)
}
