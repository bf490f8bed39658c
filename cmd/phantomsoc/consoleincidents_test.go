package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
	"github.com/phantomsoc/phantomsoc/tui"
)

// screenProbe keeps the frame the console would draw, from inside the
// program's loop, for a test to wait on.
type screenProbe struct {
	mu    sync.Mutex
	frame string
}

func (p *screenProbe) filter(m tea.Model, msg tea.Msg) tea.Msg {
	frame := ansi.Strip(m.View().Content)
	p.mu.Lock()
	p.frame = frame
	p.mu.Unlock()
	return msg
}

func (p *screenProbe) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frame
}

// startIncidentDaemon runs a daemon on a brute force until it has opened
// an incident, and returns the database, a client and the incident's ID.
func startIncidentDaemon(t *testing.T) (dbPath string, c *control.Client, id string) {
	t.Helper()
	_, dbPath, g, _ := daemonSetup(t, "incidents:\n  window: 30m\n")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- runEngine(ctx, io.Discard, io.Discard, g, newRunOptions(), "daemon") }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("daemon shutdown: %v", err)
		}
	})
	waitStatus(t, socketPath(dbPath), errc, func(s control.Status) bool { return s.Lines == 12 && s.Decisions > 0 })
	c = control.NewClient(socketPath(dbPath))
	r := remoteIncidents{remote{ctx: t.Context(), c: c}}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if incs, err := r.List(t.Context(), store.IncidentQuery{Open: true}); err == nil && len(incs) > 0 {
			return dbPath, c, incs[0].ID
		}
	}
	t.Fatal("the daemon opened no incident")
	return "", nil, ""
}

// TestConsoleIncidentsAttached drives the console attached to a daemon:
// the incidents view lists the incident the daemon opened, K acknowledges
// it, c closes it with a reason, and both are audit records by the
// console's actor that show in the incident's timeline.
func TestConsoleIncidentsAttached(t *testing.T) {
	_, c, id := startIncidentDaemon(t)
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	src := attachedSource(t.Context(), c, "test.sock", st)
	// The real program on a pipe: keys are the bytes a terminal sends.
	p := &screenProbe{}
	in, keys := io.Pipe()
	defer keys.Close()
	done := make(chan error, 1)
	go func() {
		done <- tui.Run(t.Context(), src, tui.Options{Refresh: 20 * time.Millisecond, NoColor: true, Program: []tea.ProgramOption{
			tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithWindowSize(132, 40), tea.WithFilter(p.filter), tea.WithoutSignalHandler(),
		}})
	}()
	wait := func(what string, parts ...string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			s := p.screen()
			if !slices.ContainsFunc(parts, func(part string) bool { return !strings.Contains(s, part) }) {
				return
			}
		}
		t.Fatalf("never saw %s; screen:\n%s", what, p.screen())
	}
	key := func(s string) {
		t.Helper()
		if _, err := io.WriteString(keys, s); err != nil {
			t.Fatal(err)
		}
	}
	wait("the console", "● live")
	key("7")
	wait("the incident", "[7 Incidents 1]", id+" new", "203.0.113.50")
	key("\r")
	wait("its timeline", "Incident "+id+" · NEW", "ssh.auth.failure", "auth.log:1")
	key("K")
	wait("the question", "? acknowledge "+id)
	key("y")
	wait("acknowledged", "✓ acknowledged "+id, "· ACKNOWLEDGED ·")
	key("c")
	wait("the reason prompt", "why? a reason is required")
	key("blocked; nobody logged in\r")
	wait("closed", "✓ closed "+id+": blocked; nobody logged in", "· CLOSED ·", "closed: blocked; nobody logged in")
	key("G")
	wait("both changes in the timeline", "incident.acknowledged by "+src.actor, "incident.closed by "+src.actor)
	key("q")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("console: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the console did not quit on q")
	}

	recs, err := remote{ctx: t.Context(), c: c}.AuditTail(20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.Subject == id && strings.HasPrefix(r.Action, "incident.") && r.Actor == src.actor {
			got = append(got, r.Action)
		}
	}
	if want := []string{"incident.closed", "incident.acknowledged"}; !slices.Equal(got, want) {
		t.Errorf("audit records of %s by %s = %v, want %v", id, src.actor, got, want)
	}
}

// TestConsoleIncidentsInProcess: the console running the engine itself
// reaches the incidents of its own process, and its changes are its
// actor's.
func TestConsoleIncidentsInProcess(t *testing.T) {
	_, _, g, _ := daemonSetup(t, "incidents:\n  window: 30m\n")
	run := newRunOptions()
	var got engine.Incident
	var detail tui.IncidentDetail
	run.ui = func(ctx context.Context, src *consoleSource) error {
		var id string
		for deadline := time.Now().Add(20 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if s, err := src.Snapshot(ctx); err == nil && len(s.Incidents) > 0 {
				id = s.Incidents[0].ID
			}
		}
		if id == "" {
			t.Error("the console's snapshot never had an incident")
			return nil
		}
		var err error
		if got, err = src.IncidentAct(ctx, tui.IncidentOp{ID: id, Op: tui.IncidentOpAssign}); err != nil {
			return err
		}
		detail, err = src.Incident(ctx, id)
		return err
	}
	if err := runEngine(t.Context(), io.Discard, io.Discard, g, run, "console"); err != nil {
		t.Fatal(err)
	}
	me := strings.TrimPrefix(consoleActor(), "console:")
	if got.Owner != me {
		t.Errorf("assigned to %q, want the console's user %q", got.Owner, me)
	}
	i := slices.IndexFunc(detail.Timeline, func(e engine.TimelineEntry) bool {
		return e.What == "incident.assigned" && e.Actor == consoleActor() && e.Audit > 0
	})
	if i < 0 {
		t.Errorf("timeline lacks the assignment by %s with its audit record: %+v", consoleActor(), detail.Timeline)
	}
	if detail.Metrics.TTD == nil || len(detail.Incident.Alerts) == 0 {
		t.Errorf("detail = %+v, want its alerts and a time to detect", detail)
	}
}
