package evidence

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// decisionSummary is a decision as a snapshot records it.
type decisionSummary struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	Target   string    `json:"target"`
	State    string    `json:"state"`
	Scenario string    `json:"scenario,omitempty"`
	AlertID  string    `json:"alert_id,omitempty"`
}

// enrichmentSnapshot is the content of an enrichment item.
type enrichmentSnapshot struct {
	Target    string            `json:"target"`
	Taken     time.Time         `json:"taken"`
	Asset     *engine.Asset     `json:"asset"`
	Geo       *engine.Geo       `json:"geo"`
	Alerts    []alertSummary    `json:"alerts"`
	Decisions []decisionSummary `json:"decisions"`
}

// enrichment snapshots what is known about the target now: the asset it
// is (if it is one of ours), its GeoIP/ASN, and the store's alerts and
// decisions about it.
func (c *Collector) enrichment(r Request, now time.Time) (capture, error) {
	p, err := checkTarget(r.Target)
	if err != nil {
		return capture{}, err
	}
	snap := enrichmentSnapshot{Target: p.String(), Taken: now, Alerts: []alertSummary{}, Decisions: []decisionSummary{}}
	if c.o.Enricher != nil {
		ev := engine.Event{Source: p.Addr(), Dest: p.Addr()}
		c.o.Enricher.Enrich(&ev)
		snap.Asset, snap.Geo = ev.Asset, ev.Geo
	}
	if c.o.History != nil {
		alerts, decisions, err := c.o.History.SourceHistory(p, historyLimit)
		if err != nil {
			return capture{}, err
		}
		snap.Alerts = summarizeAlerts(alerts)
		for _, d := range decisions {
			snap.Decisions = append(snap.Decisions, decisionSummary{
				ID: d.ID, Time: d.Time.UTC(), Action: d.Action, Target: d.TargetString(),
				State: d.StateAt(now), Scenario: d.Scenario, AlertID: d.AlertID,
			})
		}
	}
	content, err := json.MarshalIndent(&snap, "", "  ")
	if err != nil {
		return capture{}, err
	}
	return capture{content: append(content, '\n'), source: "store", meta: map[string]string{
		"target":    p.String(),
		"alerts":    strconv.Itoa(len(snap.Alerts)),
		"decisions": strconv.Itoa(len(snap.Decisions)),
		"asset":     strconv.FormatBool(snap.Asset != nil),
		"geo":       strconv.FormatBool(snap.Geo != nil),
	}}, nil
}
