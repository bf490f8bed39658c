//go:build unix

package tui

import (
	"context"
	"io"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/phantomsoc/phantomsoc/engine"
)

// loadRate is the load: events per second flowing through the
// engine while the analyst works the console.
const loadRate = 50_000

// loadRetained is what the console retains of the live stream (the ring
// cmd/phantomsoc keeps): at loadRate most events are gone before the next
// poll, as they would be.
const loadRetained = 2000

// loadConsole is a Console under loadRate events per second of wall time:
// each Events call makes up what arrived since the start (the newest
// loadRetained of it), and every Snapshot differs from the one before.
type loadConsole struct {
	// staticConsole answers the actions, which change nothing here.
	staticConsole
	start time.Time
	base  Snapshot
	mix   []engine.Event

	mu    sync.Mutex
	polls int
}

func newLoadConsole() *loadConsole {
	c := &loadConsole{start: time.Now(), base: largeSnapshot()}
	for i := range 210 {
		c.mix = append(c.mix, fixtureEvent(i))
	}
	return c
}

// arrived is how many events the engine has seen by now.
func (c *loadConsole) arrived() uint64 { return uint64(time.Since(c.start).Seconds() * loadRate) }

func (c *loadConsole) Events(_ context.Context, after uint64) ([]LiveEvent, error) {
	last := c.arrived()
	if after >= last {
		return nil, nil
	}
	first := after + 1
	if last-first >= loadRetained {
		first = last - loadRetained + 1
	}
	now := t0.Add(time.Since(c.start))
	out := make([]LiveEvent, 0, last-first+1)
	for s := first; s <= last; s++ {
		ev := c.mix[s%uint64(len(c.mix))]
		ev.Time = now
		out = append(out, LiveEvent{Seq: s, Event: ev})
	}
	return out, nil
}

func (c *loadConsole) Snapshot(context.Context) (Snapshot, error) {
	c.mu.Lock()
	c.polls++
	n := c.polls
	c.mu.Unlock()
	s := c.base
	s.Taken = t0.Add(time.Since(c.start))
	ev := c.arrived()
	s.Stats.Lines, s.Stats.Events, s.Stats.Indicators = ev+ev/50, ev, ev/3
	s.Stats.Rejected = uint64(n / 4)
	s.Queues = []engine.Queue{{Stage: "process", Depth: n % 64, Cap: 64}, {Stage: "store", Depth: (n * 7) % 64, Cap: 64}}
	s.Rates = slices.Clone(s.Rates)
	for i := range s.Rates {
		r := slices.Clone(s.Rates[i].PerSecond[1:])
		s.Rates[i].PerSecond = append(r, float64(loadRate/len(s.Rates)+n%100))
	}
	return s, nil
}

// wire is the terminal: it notes when each frame was written.
type wire struct {
	mu     sync.Mutex
	writes []time.Time
	bytes  int
}

func (w *wire) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	w.writes = append(w.writes, now)
	w.bytes += len(p)
	w.mu.Unlock()
	return len(p), nil
}

// firstAfter is the first write after t, false when there was none.
func (w *wire) firstAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearchFunc(w.writes, t, func(a, b time.Time) int { return a.Compare(b) })
	for ; i < len(w.writes); i++ {
		if w.writes[i].After(t) {
			return w.writes[i], true
		}
	}
	return time.Time{}, false
}

// total is the writes and bytes so far.
func (w *wire) total() (writes, bytes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.writes), w.bytes
}

// keyProbe is a tea filter that notes when a key reached the program and
// when the frame showing it was handed to the renderer: on a key it sends
// itself a marker, which the loop takes only once the key's Update and
// render are done; any write after that carries the key's frame.
type keyProbe struct {
	prog *tea.Program

	mu       sync.Mutex
	arrived  []time.Time
	rendered []time.Time
	ready    chan struct{}
	once     sync.Once
}

type renderedMsg struct{}

func (p *keyProbe) filter(_ tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.KeyPressMsg:
		p.mu.Lock()
		p.arrived = append(p.arrived, time.Now())
		p.mu.Unlock()
		go p.prog.Send(renderedMsg{})
	case renderedMsg:
		p.mu.Lock()
		p.rendered = append(p.rendered, time.Now())
		p.mu.Unlock()
		return nil
	case eventsMsg:
		p.once.Do(func() { close(p.ready) })
	}
	return msg
}

// loadKeys change the screen every time: a view switch, pause/follow,
// or a cursor move in a list longer than the moves. (Not a move in the
// live list: at 50,000 events/s a paused list is trimmed to its top
// within a poll, where k changes nothing.)
var loadKeys = []string{"2", "p", "3", "j", "4", "j", "5", "j", "6", "1"}

// loadResult is one run of the load scenario.
type loadResult struct {
	// latencies are key written → frame written; input, update and
	// frame split them: key written → key in Update, → frame handed to
	// the renderer, → frame written.
	latencies, input, update, frame []time.Duration
	missed                          int
	wall, cpu                       time.Duration
	frames, bytes                   int
}

// runLoad runs the real program at 132×40 over a loadConsole for d after
// a second of warm-up, pressing a key every so often (never when 0).
func runLoad(tb testing.TB, d, every time.Duration, opts Options) loadResult {
	tb.Helper()
	ctx, cancel := context.WithCancel(tb.Context())
	defer cancel()
	c := newLoadConsole()
	in, keys := io.Pipe()
	defer keys.Close()
	out := &wire{}
	probe := &keyProbe{ready: make(chan struct{})}
	opts.Program = append(opts.Program,
		tea.WithInput(in), tea.WithOutput(out), tea.WithWindowSize(132, 40), tea.WithoutSignals(),
		// A 16-colour terminal over SSH: styles are rendered, as they
		// would be.
		tea.WithColorProfile(colorprofile.ANSI), tea.WithFilter(probe.filter))
	m := New(c, opts)
	prog := program(ctx, m)
	probe.prog = prog
	done := make(chan error, 1)
	go func() {
		_, err := prog.Run()
		done <- err
	}()
	select {
	case <-probe.ready:
	case err := <-done:
		tb.Fatalf("program ended before the first events: %v", err)
	}
	// Warm up: the live buffer fills, the snapshot is large.
	time.Sleep(time.Second)

	var sent []time.Time
	ru0 := rusage(tb)
	start := time.Now()
	framesBefore, bytesBefore := out.total()
	if every > 0 {
		tick := time.NewTicker(every)
		for i := 0; time.Since(start) < d; i++ {
			<-tick.C
			sent = append(sent, time.Now())
			if _, err := keys.Write([]byte(loadKeys[i%len(loadKeys)])); err != nil {
				tb.Fatalf("press key: %v", err)
			}
		}
		tick.Stop()
	} else {
		time.Sleep(d)
	}
	// The last key's frame.
	time.Sleep(200 * time.Millisecond)
	wall := time.Since(start)
	ru1 := rusage(tb)
	frames, bytes := out.total()

	if _, err := keys.Write([]byte("q")); err != nil {
		tb.Fatalf("quit: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			tb.Fatalf("program: %v", err)
		}
	case <-time.After(10 * time.Second):
		tb.Fatal("program did not quit")
	}

	r := loadResult{wall: wall, cpu: ru1 - ru0, frames: frames - framesBefore, bytes: bytes - bytesBefore}
	probe.mu.Lock()
	rendered, arrived := probe.rendered, probe.arrived
	probe.mu.Unlock()
	for i, s := range sent {
		if i >= len(rendered) {
			r.missed++
			continue
		}
		w, ok := out.firstAfter(rendered[i])
		if !ok {
			r.missed++
			continue
		}
		r.latencies = append(r.latencies, w.Sub(s))
		r.input = append(r.input, arrived[i].Sub(s))
		r.update = append(r.update, rendered[i].Sub(arrived[i]))
		r.frame = append(r.frame, w.Sub(rendered[i]))
	}
	for _, l := range [][]time.Duration{r.latencies, r.input, r.update, r.frame} {
		slices.Sort(l)
	}
	return r
}

// rusage is the CPU time the process has used so far, user and system.
func rusage(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkKeyToScreenUnderLoad is the responsiveness target: with
// 50,000 events/s flowing and the snapshot changing every poll, a key
// press reaches the terminal as a frame in p99 < 50 ms, and the console
// (the whole test process: the load generator, the program, the
// renderer) stays under 25% of one core. Each iteration is a 5 s session;
// run with -benchtime=1x. "keys" presses a key every 50 ms at the default
// frame cap, "keys-fps15" at the old cap of 15 for comparison, "idle"
// presses none: the frames and bytes the load alone puts on the wire.
func BenchmarkKeyToScreenUnderLoad(b *testing.B) {
	for _, tc := range []struct {
		name  string
		every time.Duration
		opts  Options
	}{
		{"keys", 50 * time.Millisecond, Options{}},
		{"keys-fps15", 50 * time.Millisecond, Options{FPS: 15}},
		{"idle", 0, Options{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var r loadResult
			for b.Loop() {
				r = runLoad(b, 5*time.Second, tc.every, tc.opts)
			}
			if r.missed > 0 {
				b.Errorf("%d of %d key presses never reached the screen", r.missed, r.missed+len(r.latencies))
			}
			if tc.every > 0 {
				b.ReportMetric(ms(percentile(r.latencies, 0.50)), "p50-ms")
				b.ReportMetric(ms(percentile(r.latencies, 0.99)), "p99-ms")
				b.ReportMetric(ms(percentile(r.latencies, 1)), "max-ms")
				b.ReportMetric(float64(len(r.latencies)), "keys")
				b.ReportMetric(ms(percentile(r.update, 0.99)), "p99-update-ms")
				b.ReportMetric(ms(percentile(r.frame, 0.99)), "p99-frame-wait-ms")
			}
			b.ReportMetric(100*r.cpu.Seconds()/r.wall.Seconds(), "cpu-%")
			b.ReportMetric(float64(r.frames)/r.wall.Seconds(), "frames/s")
			b.ReportMetric(float64(r.bytes)/1024/r.wall.Seconds(), "KiB/s")
		})
	}
}
