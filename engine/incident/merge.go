package incident

import (
	"fmt"
	"slices"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// matchKey is one thing an alert can share with an incident.
type matchKey struct {
	rule, value string
}

// alertKeys returns what a merges on under the configured rules, in rule
// order.
func (c *Config) alertKeys(a *engine.Alert) []matchKey {
	var out []matchKey
	for _, r := range c.MergeBy {
		for _, v := range alertValues(a, r) {
			out = append(out, matchKey{r, v})
		}
	}
	return out
}

// incidentKeys returns what alerts merge on into inc.
func (c *Config) incidentKeys(inc *engine.Incident) []matchKey {
	var out []matchKey
	for _, r := range c.MergeBy {
		var vs []string
		switch r {
		case BySource:
			vs = inc.Sources
		case ByCampaign:
			vs = inc.Campaigns
		case ByAsset:
			vs = inc.Assets
		}
		for _, v := range vs {
			out = append(out, matchKey{r, v})
		}
	}
	return out
}

// isCampaign reports an alert about many sources rather than one.
func isCampaign(a *engine.Alert) bool {
	return !a.Source.IsValid() && (len(a.Prefixes) > 0 || a.Sources > 1)
}

// alertValues returns a's values for one rule.
func alertValues(a *engine.Alert, rule string) []string {
	switch rule {
	case BySource:
		if a.Source.IsValid() {
			return []string{a.Source.String()}
		}
	case ByCampaign:
		if isCampaign(a) {
			return []string{a.Scenario + "|" + a.Key}
		}
	case ByAsset:
		var out []string
		if a.Host != "" {
			out = append(out, a.Host)
		}
		if a.Dest.IsValid() {
			out = append(out, a.Dest.String())
		}
		for _, n := range a.Blast.Assets {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	return nil
}

// within reports whether an alert at t is close enough in event time to
// inc to join it.
func (c *Config) within(inc *engine.Incident, t time.Time) bool {
	return !t.Before(inc.Opened.Add(-c.Window)) && !t.After(inc.LastSeen.Add(c.Window))
}

// addUnique appends the values of vs not in s yet.
func addUnique(s []string, vs ...string) []string {
	for _, v := range vs {
		if v != "" && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// members mirrors an incident's lists as sets for the manager's hot path:
// an incident on a busy gateway gathers thousands of alerts and sources,
// and a linear scan for each new one made folding alerts quadratic. A nil
// *members falls back to scanning.
type members struct {
	alerts, decisions, sources, campaigns, assets map[string]struct{}
}

func newMembers(inc *engine.Incident) *members {
	set := func(list []string) map[string]struct{} {
		m := make(map[string]struct{}, len(list))
		for _, v := range list {
			m[v] = struct{}{}
		}
		return m
	}
	return &members{alerts: set(inc.Alerts), decisions: set(inc.Decisions), sources: set(inc.Sources),
		campaigns: set(inc.Campaigns), assets: set(inc.Assets)}
}

// add appends the values of vs not in set (nil: not in list) to list.
func add(list []string, set map[string]struct{}, vs ...string) []string {
	if set == nil {
		return addUnique(list, vs...)
	}
	for _, v := range vs {
		if _, ok := set[v]; v != "" && !ok {
			set[v] = struct{}{}
			list = append(list, v)
		}
	}
	return list
}

// addAlert folds a into inc: its ID, risk, times and what later alerts
// merge on. Campaign prefixes count as sources for the reader but blamed
// addresses are what the source rule matches. ms may be nil.
func addAlert(inc *engine.Incident, a *engine.Alert, ms *members) {
	var mAlerts, mSources, mCampaigns, mAssets map[string]struct{}
	if ms != nil {
		mAlerts, mSources, mCampaigns, mAssets = ms.alerts, ms.sources, ms.campaigns, ms.assets
	}
	inc.Alerts = add(inc.Alerts, mAlerts, a.ID)
	if a.Risk > inc.Risk {
		inc.Risk = a.Risk
		inc.Severity = engine.SeverityOf(a.Risk)
	}
	first := a.First
	if first.IsZero() {
		first = a.Time
	}
	if inc.Detected.IsZero() || first.Before(inc.Detected) {
		inc.Detected = first
	}
	if inc.Opened.IsZero() || a.Time.Before(inc.Opened) {
		inc.Opened = a.Time
	}
	if a.Time.After(inc.LastSeen) {
		inc.LastSeen = a.Time
	}
	inc.Sources = add(inc.Sources, mSources, alertValues(a, BySource)...)
	for _, p := range a.Prefixes {
		inc.Sources = add(inc.Sources, mSources, engine.PrefixString(p))
	}
	inc.Campaigns = add(inc.Campaigns, mCampaigns, alertValues(a, ByCampaign)...)
	inc.Assets = add(inc.Assets, mAssets, alertValues(a, ByAsset)...)
}

// addDecision folds d into inc; a decision in force without waiting for
// approval marks the incident contained at its time. ms may be nil.
func addDecision(inc *engine.Incident, d *engine.Decision, ms *members, inForce bool) {
	var set map[string]struct{}
	if ms != nil {
		set = ms.decisions
	}
	inc.Decisions = add(inc.Decisions, set, d.ID)
	if inForce && (inc.Contained.IsZero() || d.Time.Before(inc.Contained)) {
		inc.Contained = d.Time
	}
}

// title names an incident after its first alert.
func title(a *engine.Alert) string {
	switch {
	case a.Source.IsValid():
		return fmt.Sprintf("%s from %s", a.Scenario, a.Source)
	case a.Key != "":
		return fmt.Sprintf("%s on %s (%d sources)", a.Scenario, a.Key, a.Sources)
	}
	return a.Scenario
}

// mergeInto folds from's alerts, decisions and merge values into into.
func mergeInto(into, from *engine.Incident) {
	into.Alerts = addUnique(into.Alerts, from.Alerts...)
	into.Decisions = addUnique(into.Decisions, from.Decisions...)
	into.Sources = addUnique(into.Sources, from.Sources...)
	into.Assets = addUnique(into.Assets, from.Assets...)
	into.Campaigns = addUnique(into.Campaigns, from.Campaigns...)
	into.Tags = addUnique(into.Tags, from.Tags...)
	if from.Risk > into.Risk {
		into.Risk, into.Severity = from.Risk, engine.SeverityOf(from.Risk)
	}
	earliest := func(dst *time.Time, t time.Time) {
		if !t.IsZero() && (dst.IsZero() || t.Before(*dst)) {
			*dst = t
		}
	}
	earliest(&into.Detected, from.Detected)
	earliest(&into.Opened, from.Opened)
	earliest(&into.Contained, from.Contained)
	if from.LastSeen.After(into.LastSeen) {
		into.LastSeen = from.LastSeen
	}
}
