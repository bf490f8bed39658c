package route

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Label names derived from an alert. Matchers, group_by, inhibition's equal
// and silences name them.
const (
	LabelScenario    = "scenario"
	LabelSeverity    = "severity"
	LabelRisk        = "risk"
	LabelConfidence  = "confidence"
	LabelPropose     = "propose"
	LabelKey         = "key"
	LabelSource      = "source"
	LabelPrefixes    = "prefixes"
	LabelHost        = "host"
	LabelAsset       = "asset"
	LabelRole        = "role"
	LabelCriticality = "criticality"
	LabelExposure    = "exposure"
	LabelOwner       = "owner"
	LabelGateway     = "gateway"
	LabelCountry     = "country"
	LabelASN         = "asn"
	LabelOrg         = "org"
)

// Labels derives the routing labels of a: scenario, severity and risk (as
// numbers: "8.5"), confidence, propose, key, source (or prefixes for a
// campaign, comma-separated), host; from enrichment the most critical
// asset's name, role, criticality, exposure and owner; gateway (the
// blast radius's gateways, sorted, comma-separated); and country, asn and
// org of the source. The alert's own Labels are added first, so a scenario
// label can never override a derived one (a scenario cannot claim risk=10).
// Empty values are left out.
func Labels(a *engine.Alert) map[string]string {
	l := make(map[string]string, len(a.Labels)+16)
	for k, v := range a.Labels {
		if v != "" {
			l[k] = v
		}
	}
	set := func(k, v string) {
		if v != "" {
			l[k] = v
		}
	}
	set(LabelScenario, a.Scenario)
	set(LabelSeverity, num(a.Severity))
	set(LabelRisk, num(a.Risk))
	set(LabelConfidence, num(a.Confidence))
	set(LabelPropose, a.Propose)
	set(LabelKey, a.Key)
	if a.Source.IsValid() {
		set(LabelSource, a.Source.String())
	}
	if len(a.Prefixes) > 0 {
		set(LabelPrefixes, prefixes(a))
	}
	set(LabelHost, a.Host)
	if as := topAsset(a); as != nil {
		set(LabelAsset, as.Name)
		set(LabelRole, as.Role)
		if as.Criticality > 0 {
			set(LabelCriticality, strconv.Itoa(as.Criticality))
		}
		set(LabelExposure, as.Exposure)
		set(LabelOwner, as.Owner)
	}
	if len(a.Blast.Gateways) > 0 {
		gws := slices.Clone(a.Blast.Gateways)
		slices.Sort(gws)
		set(LabelGateway, strings.Join(slices.Compact(gws), ","))
	}
	if g := sourceGeo(a); g != nil {
		set(LabelCountry, g.Country)
		if g.ASN != 0 {
			set(LabelASN, strconv.FormatUint(uint64(g.ASN), 10))
		}
		set(LabelOrg, g.Org)
	}
	return l
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func prefixes(a *engine.Alert) string {
	ps := make([]string, len(a.Prefixes))
	for i, p := range a.Prefixes {
		ps[i] = p.String()
	}
	slices.Sort(ps)
	return strings.Join(slices.Compact(ps), ",")
}

// topAsset is the most critical asset in the evidence (the first by name
// on a tie), the one assessment scored the alert by.
func topAsset(a *engine.Alert) *engine.Asset {
	var top *engine.Asset
	for i := range a.Evidence {
		as := a.Evidence[i].Asset
		if as == nil {
			continue
		}
		if top == nil || as.Criticality > top.Criticality || (as.Criticality == top.Criticality && as.Name < top.Name) {
			top = as
		}
	}
	return top
}

// sourceGeo is the geo enrichment of an evidence event from the alert's
// source, or of the first enriched event when none is from it (campaigns).
func sourceGeo(a *engine.Alert) *engine.Geo {
	var first *engine.Geo
	for i := range a.Evidence {
		e := &a.Evidence[i]
		if e.Geo == nil {
			continue
		}
		if a.Source.IsValid() && e.Source == a.Source {
			return e.Geo
		}
		if first == nil {
			first = e.Geo
		}
	}
	return first
}

// Fingerprint identifies what an alert is about — scenario, key, source
// and prefixes — and not when it fired or its ID, so the same attack
// firing again maps to the same fingerprint and is deduplicated. It is 16
// hex digits of a SHA-256, stable across versions and restarts (it is
// persisted in State).
func Fingerprint(a *engine.Alert) string {
	h := sha256.New()
	w := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	w(a.Scenario)
	w(a.Key)
	if a.Source.IsValid() {
		w(a.Source.String())
	} else {
		w("")
	}
	w(prefixes(a))
	return hex.EncodeToString(h.Sum(nil)[:8])
}
