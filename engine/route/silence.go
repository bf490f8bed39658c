package route

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned for an unknown silence, group or fingerprint.
var ErrNotFound = errors.New("not found")

// Silence mutes the alerts its matchers match between StartsAt and EndsAt.
// Silenced alerts are not notified as firing, but they still resolve: the
// resolution of an alert that was notified is sent, and that of one that
// never was is returned as a record (Notification.Silenced) for the
// caller to store.
type Silence struct {
	// ID is assigned by AddSilence when empty: "s1", "s2", …
	ID        string    `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`

	matchers []Matcher
}

// Active reports whether s mutes at t.
func (s *Silence) Active(t time.Time) bool {
	return !t.Before(s.StartsAt) && t.Before(s.EndsAt)
}

func (s *Silence) compile() error {
	if len(s.Matchers) == 0 {
		return errors.New("a silence needs at least one matcher")
	}
	ms, err := ParseMatchers(s.Matchers)
	if err != nil {
		return err
	}
	if !s.EndsAt.After(s.StartsAt) {
		return fmt.Errorf("ends_at %s must be after starts_at %s", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		return errors.New("a silence needs an author")
	}
	s.matchers = ms
	return nil
}

// AddSilence validates s, assigns its ID when empty and starts applying it
// from the next Tick. It returns the ID.
func (d *Dispatcher) AddSilence(s Silence) (string, error) {
	s.Matchers = slices.Clone(s.Matchers)
	if err := s.compile(); err != nil {
		return "", fmt.Errorf("add silence: %w", err)
	}
	if s.ID == "" {
		d.silenceSeq++
		s.ID = "s" + strconv.FormatUint(d.silenceSeq, 10)
	}
	if _, dup := d.silences[s.ID]; dup {
		return "", fmt.Errorf("add silence: id %s already exists", s.ID)
	}
	d.silences[s.ID] = &s
	d.markSilence(s.ID)
	d.log.Info("silence added", "silence", s.ID, "matchers", strings.Join(s.Matchers, ","), "ends_at", s.EndsAt, "by", s.CreatedBy)
	return s.ID, nil
}

// ExpireSilence ends silence id at at (no later than it would have ended).
func (d *Dispatcher) ExpireSilence(id string, at time.Time) error {
	s, ok := d.silences[id]
	if !ok {
		return fmt.Errorf("expire silence %s: %w", id, ErrNotFound)
	}
	if at.Before(s.EndsAt) {
		d.markSilence(id)
		s.EndsAt = at
		if s.StartsAt.After(at) {
			s.StartsAt = at
		}
	}
	d.log.Info("silence expired", "silence", id, "at", at)
	return nil
}

// Silences returns every silence kept (active, pending and recently
// expired), ordered by start then ID.
func (d *Dispatcher) Silences() []Silence {
	out := make([]Silence, 0, len(d.silences))
	for _, s := range d.silences {
		out = append(out, s.export())
	}
	sortSilences(out)
	return out
}

func sortSilences(ss []Silence) {
	slices.SortFunc(ss, func(a, b Silence) int {
		if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// silencedBy returns the ID of the first (by ID) active silence matching
// labels at t.
func (d *Dispatcher) silencedBy(labels map[string]string, t time.Time) string {
	best := ""
	for id, s := range d.silences {
		if s.Active(t) && matchAll(s.matchers, labels) && (best == "" || id < best) {
			best = id
		}
	}
	return best
}

// pruneSilences forgets silences that ended more than the retention ago.
func (d *Dispatcher) pruneSilences(now time.Time) {
	for id, s := range d.silences {
		if s.EndsAt.Add(d.silenceRetention).Before(now) {
			delete(d.silences, id)
			d.markSilence(id)
		}
	}
}
