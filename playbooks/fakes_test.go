package playbooks

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// world is an in-memory implementation of every interface the executor
// consumes. It records each call in order, can fail a step's first few
// attempts, and can hang a step until its context ends.
type world struct {
	mu    sync.Mutex
	calls []string
	// fail[step] attempts fail before one succeeds.
	fail map[string]int
	// hang makes the step's calls block until their context ends.
	hang map[string]bool
	// states are the incident states Get returns, one per call; the last
	// repeats.
	states []string
	inc    Incident
	seq    int
}

func newWorld() *world { return &world{fail: map[string]int{}, hang: map[string]bool{}} }

func (w *world) call(ctx context.Context, step, what string) error {
	w.mu.Lock()
	w.calls = append(w.calls, what)
	hang := w.hang[step]
	failing := w.fail[step] > 0
	if failing {
		w.fail[step]--
	}
	w.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if failing {
		return errors.New("gateway unreachable")
	}
	return nil
}

func (w *world) next(prefix string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return fmt.Sprintf("%s%d", prefix, w.seq)
}

func (w *world) Apply(ctx context.Context, r Remediation) (string, error) {
	if err := w.call(ctx, r.Step, fmt.Sprintf("apply %s %s %s", r.Step, r.Action, prefixList(r.Targets))); err != nil {
		return "", err
	}
	return w.next("r"), nil
}

func (w *world) Revert(ctx context.Context, ref string) error {
	return w.call(ctx, "revert:"+ref, "revert "+ref)
}

func (w *world) Notify(ctx context.Context, n Notification) error {
	kind := "notify"
	if n.Escalation {
		kind = "page"
	}
	return w.call(ctx, n.Step, fmt.Sprintf("%s %s %s: %s", kind, n.Step, n.Receiver, n.Message))
}

func (w *world) Collect(ctx context.Context, r EvidenceRequest) (string, error) {
	if err := w.call(ctx, r.Step, fmt.Sprintf("collect %s %s %s", r.Step, r.Type, prefixList(r.Targets))); err != nil {
		return "", err
	}
	return w.next("e"), nil
}

func (w *world) Change(ctx context.Context, c IncidentChange) (Incident, error) {
	if err := w.call(ctx, "incident", fmt.Sprintf("incident %s %s", c.Op, c.ID)); err != nil {
		return Incident{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch c.Op {
	case "open":
		w.inc = Incident{ID: "inc-1", State: "new", Severity: c.Severity, Tags: c.Tags, Alerts: 1}
	case "update":
		if c.State != "" {
			w.inc.State = c.State
		}
	case "close":
		w.inc.State = "closed"
	}
	return w.inc, nil
}

func (w *world) Get(ctx context.Context, id string) (Incident, error) {
	if err := w.call(ctx, "get", "get "+id); err != nil {
		return Incident{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.states) > 0 {
		w.inc.State = w.states[0]
		if len(w.states) > 1 {
			w.states = w.states[1:]
		}
	}
	return w.inc, nil
}

func (w *world) log() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}
