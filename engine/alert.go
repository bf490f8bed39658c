package engine

import (
	"net/netip"
	"time"
)

// Alert is a scenario firing. Detection fills the identity and evidence;
// assessment fills Risk, Confidence, Factors and Blast.
type Alert struct {
	// ID is time-ordered and unique within a store; the engine assigns it.
	ID string `json:"id"`
	// Time is the event time of the event that fired the alert.
	Time time.Time `json:"time"`
	// First is the event time of the earliest evidence.
	First    time.Time `json:"first"`
	Scenario string    `json:"scenario"`
	// Description is the scenario's one-line human description.
	Description string `json:"description,omitempty"`
	// Severity is the scenario's base severity, 0–10.
	Severity float64 `json:"severity"`
	// Key is the value of the scenario's group-by key ("198.51.100.7",
	// "host=gw1").
	Key string `json:"key"`
	// Source is the blamed address; invalid for campaign alerts, which set
	// Prefixes instead.
	Source netip.Addr `json:"source,omitzero"`
	// Prefixes are the dense covering prefixes a campaign proposes to act on.
	Prefixes []netip.Prefix `json:"prefixes,omitempty"`
	// Sources counts the distinct source addresses behind the alert.
	Sources int `json:"sources"`
	// Host and Dest name the attacked side when known.
	Host  string     `json:"host,omitempty"`
	Dest  netip.Addr `json:"dest,omitzero"`
	Users []string   `json:"users,omitempty"`
	// Count is the number of events that fed the alert.
	Count int `json:"count"`
	// Evidence is a bounded sample of the events behind the alert, oldest
	// first.
	Evidence []Event `json:"evidence,omitempty"`
	// Propose is what the scenario suggests doing: "block", "rate-limit" or
	// "alert" (notify only). Policy has the final word.
	Propose string            `json:"propose"`
	Labels  map[string]string `json:"labels,omitempty"`

	// Risk is 0–10.
	Risk float64 `json:"risk"`
	// Confidence is 0–1.
	Confidence float64 `json:"confidence"`
	// Factors explain Risk; Reasons explain Confidence.
	Factors []Factor    `json:"factors,omitempty"`
	Reasons []Factor    `json:"reasons,omitempty"`
	Blast   BlastRadius `json:"blast"`
}

// Factor is one named contribution to a score, with the reason in words.
type Factor struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Why   string  `json:"why"`
}

// BlastRadius is what an alert (and acting on it) touches.
type BlastRadius struct {
	Assets   []string `json:"assets,omitempty"`
	Users    []string `json:"users,omitempty"`
	Gateways []string `json:"gateways,omitempty"`
	// Addresses is how many addresses the proposed action would cover.
	Addresses uint64 `json:"addresses"`
}

// Feed records one event feeding one scenario, for `parse --explain`.
type Feed struct {
	Scenario string  `json:"scenario"`
	Key      string  `json:"key"`
	Level    float64 `json:"level"`
	Capacity float64 `json:"capacity"`
	Fired    bool    `json:"fired,omitempty"`
}

// Trace collects what detection did with one event. A nil *Trace records
// nothing and costs nothing.
type Trace struct {
	Feeds []Feed
}

// Add records a feed when t is not nil.
func (t *Trace) Add(f Feed) {
	if t != nil {
		t.Feeds = append(t.Feeds, f)
	}
}
