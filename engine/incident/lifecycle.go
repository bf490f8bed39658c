package incident

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// ErrTransition is what a refused lifecycle change wraps.
var ErrTransition = errors.New("illegal incident transition")

// lifecycle is the states in order, for error messages.
var lifecycle = strings.Join(engine.IncidentStates(), " → ")

// Transition moves inc to state to at t on actor's behalf, recording it in
// inc's history. States only move forward (skipping is allowed: a false
// positive goes from new to closed); closing needs a reason; a closed
// incident stays closed. Any move past new also acknowledges.
func Transition(inc *engine.Incident, to string, t time.Time, actor, reason string) error {
	from := inc.State
	rf, rt := engine.IncidentStateRank(from), engine.IncidentStateRank(to)
	switch {
	case rt < 0:
		return fmt.Errorf("incident %s: %w: unknown state %q (states: %s)", inc.ID, ErrTransition, to, lifecycle)
	case from == engine.IncidentClosed:
		return fmt.Errorf("incident %s: %w: it is closed (%s); closed incidents are never reopened, a new alert opens a new one", inc.ID, ErrTransition, inc.CloseReason)
	case rt == rf:
		return fmt.Errorf("incident %s: %w: already %s", inc.ID, ErrTransition, to)
	case rt < rf:
		return fmt.Errorf("incident %s: %w: cannot go back from %s to %s (states only move forward: %s)", inc.ID, ErrTransition, from, to, lifecycle)
	case to == engine.IncidentClosed && strings.TrimSpace(reason) == "":
		return fmt.Errorf("incident %s: %w: closing needs a reason", inc.ID, ErrTransition)
	}
	inc.State = to
	stamp := func(at *time.Time) {
		if at.IsZero() {
			*at = t
		}
	}
	stamp(&inc.Acknowledged)
	if rt >= engine.IncidentStateRank(engine.IncidentContained) {
		stamp(&inc.Contained)
	}
	if rt >= engine.IncidentStateRank(engine.IncidentRecovered) {
		stamp(&inc.Resolved)
	}
	detail := from + " → " + to
	if to == engine.IncidentClosed {
		inc.Closed = t
		inc.CloseReason = reason
		detail += ": " + reason
	} else if reason != "" {
		detail += ": " + reason
	}
	inc.History = append(inc.History, engine.IncidentEntry{Time: t, Actor: actor, Action: to, Detail: detail})
	return nil
}
