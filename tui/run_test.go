package tui

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// polled tells when the console first asked for a snapshot: the program
// is up.
type polled struct {
	Console
	once sync.Once
	up   chan struct{}
}

func (p *polled) Snapshot(ctx context.Context) (Snapshot, error) {
	p.once.Do(func() { close(p.up) })
	return p.Console.Snapshot(ctx)
}

func TestRunReturns(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		cancel bool
	}{
		{name: "q quits", input: "q"},
		{name: "ctrl+c quits", input: "\x03"},
		{name: "ctx ends", cancel: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			c := &polled{Console: newFixture(), up: make(chan struct{})}
			// A pipe that never yields input keeps the ctx case from
			// quitting on EOF.
			in, w := io.Pipe()
			defer w.Close()
			opts := Options{Now: fixedNow, Program: []tea.ProgramOption{
				tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24), tea.WithoutSignals(),
			}}
			done := make(chan error, 1)
			go func() { done <- Run(ctx, c, opts) }()
			<-c.up
			if tc.cancel {
				cancel()
			} else {
				go io.Copy(w, strings.NewReader(tc.input))
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run() = %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
		})
	}
}
