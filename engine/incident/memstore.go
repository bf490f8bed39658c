package incident

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// MemoryStore keeps incidents in memory only: for a run whose database is
// thrown away at the end (a replay without --db), where writing incidents
// nobody can read back afterwards was most of what they cost. It keeps no
// audit trail; each History entry gets a sequence of its own.
type MemoryStore struct {
	incs  map[string]engine.Incident
	last  uint64
	audit uint64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{incs: map[string]engine.Incident{}}
}

// LoadIncidents returns the open incidents, oldest first.
func (s *MemoryStore) LoadIncidents() ([]engine.Incident, uint64, error) {
	var open []engine.Incident
	for _, inc := range s.incs {
		if inc.IsOpen() {
			open = append(open, clone(&inc))
		}
	}
	slices.SortFunc(open, func(a, b engine.Incident) int { return strings.Compare(a.ID, b.ID) })
	return open, s.last, nil
}

// Incident returns a copy of incident id.
func (s *MemoryStore) Incident(id string) (engine.Incident, error) {
	inc, ok := s.incs[id]
	if !ok {
		return inc, fmt.Errorf("incident %s: not found", id)
	}
	return clone(&inc), nil
}

// SaveIncidents keeps ch's incidents. It keeps their lists without
// copying them: the manager never changes a saved list in place (see
// editable), and copying a busy incident's lists at every commit would
// cost what writing them did.
func (s *MemoryStore) SaveIncidents(ctx context.Context, ch *engine.IncidentChange) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save incidents: %w", err)
	}
	for i := range ch.Incidents {
		inc := &ch.Incidents[i]
		seq, ok := IDSeq(inc.ID)
		if !ok {
			return fmt.Errorf("incident %q: IDs look like in-00000042", inc.ID)
		}
		s.last = max(s.last, seq)
		for j := range inc.History {
			if inc.History[j].Audit == 0 {
				s.audit++
				inc.History[j].Audit = s.audit
			}
		}
		s.incs[inc.ID] = *inc
	}
	return nil
}
