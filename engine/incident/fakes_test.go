package incident

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// memStore is a MemoryStore that also records audit notes, can be made to
// fail, counts saves, and checks the Grown contract.
type memStore struct {
	*MemoryStore
	alerts    map[string]engine.Alert
	decisions map[string]engine.Decision
	audit     []engine.AuditNote
	fail      error
	saves     int // SaveIncidents calls that got through
}

func newMemStore() *memStore {
	return &memStore{MemoryStore: NewMemoryStore(), alerts: map[string]engine.Alert{}, decisions: map[string]engine.Decision{}}
}

func (s *memStore) SaveIncidents(ctx context.Context, ch *engine.IncidentChange) error {
	if s.fail != nil {
		return s.fail
	}
	for i := range ch.Incidents {
		inc := &ch.Incidents[i]
		if old, ok := s.incs[inc.ID]; ok && ch.Grown[inc.ID] && !grownFrom(&old, inc) {
			return fmt.Errorf("incident %s saved as grown, but its lists are not the stored ones with items appended", inc.ID)
		}
	}
	s.saves++
	for i := range ch.Incidents {
		inc := &ch.Incidents[i]
		for j := range inc.History {
			if inc.History[j].Audit == 0 {
				s.audit = append(s.audit, engine.AuditNote{Time: inc.History[j].Time, Actor: inc.History[j].Actor, Action: "incident." + inc.History[j].Action, Subject: inc.ID})
				inc.History[j].Audit = uint64(len(s.audit))
			}
		}
	}
	s.audit = append(s.audit, ch.Notes...)
	return s.MemoryStore.SaveIncidents(ctx, ch)
}

func (s *memStore) Alert(id string) (engine.Alert, error) {
	a, ok := s.alerts[id]
	if !ok {
		return a, fmt.Errorf("alert %s: not found", id)
	}
	return a, nil
}

func (s *memStore) Decision(id string) (engine.Decision, error) {
	d, ok := s.decisions[id]
	if !ok {
		return d, fmt.Errorf("decision %s: not found", id)
	}
	return d, nil
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// alert builds a test alert: src "" makes a campaign alert on key.
func alert(id string, at time.Duration, scenario, src, host string, risk float64) engine.Alert {
	a := engine.Alert{ID: id, Time: t0.Add(at), First: t0.Add(at - time.Minute), Scenario: scenario, Host: host, Risk: risk, Count: 5, Sources: 1}
	if src != "" {
		a.Source = netip.MustParseAddr(src)
		a.Key = src
	} else {
		a.Key = "host=" + host
		a.Sources = 40
		a.Prefixes = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	}
	return a
}
