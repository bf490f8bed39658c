// Package assess scores alerts: a CVSS-inspired risk (0–10), a confidence
// (0–1) from the evidence, and the blast radius, each contribution explained
// in words.
package assess

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Factor names. They are a contract: `alerts show` and reports print them.
const (
	FactorSeverity    = "severity"
	FactorCriticality = "criticality"
	FactorExposure    = "exposure"
	FactorCompromise  = "compromise"
	FactorConfidence  = "confidence"
	FactorClamp       = "clamp"

	ReasonBase       = "base"
	ReasonVolume     = "volume"
	ReasonUsers      = "users"
	ReasonInvalid    = "invalid_users"
	ReasonSource     = "source"
	ReasonSources    = "sources"
	ReasonIDS        = "ids_severity"
	ReasonCompromise = "compromise"
)

// Assessor implements engine.Assessor. It holds no mutable state, so it is
// safe for concurrent use.
type Assessor struct {
	cfg Config
}

// New validates cfg.
func New(cfg Config) (*Assessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Criticality = slices.Clone(cfg.Criticality)
	return &Assessor{cfg: cfg}, nil
}

// evidence is what one pass over an alert's evidence found.
type evidence struct {
	assets     []*engine.Asset // distinct by name, sorted by name
	users      []string        // distinct, sorted
	attempts   int             // authentication attempts (failures, invalid users, max-attempts)
	invalid    int             // attempts naming a user that does not exist
	failures   int             // attempts before the first success
	success    *engine.Event   // first success after at least one failure
	idsSev     int             // most severe IDS alert (1 highest); 0 none
	idsSig     string
	sourceHost string // a host name seen instead of an address
}

func scan(a *engine.Alert) evidence {
	var ev evidence
	users := slices.Clone(a.Users)
	for i := range a.Evidence {
		e := &a.Evidence[i]
		n := e.N()
		if e.Asset != nil && !slices.ContainsFunc(ev.assets, func(x *engine.Asset) bool { return x.Name == e.Asset.Name }) {
			ev.assets = append(ev.assets, e.Asset)
		}
		if e.User != "" {
			users = append(users, e.User)
		}
		if e.SourceHost != "" && ev.sourceHost == "" {
			ev.sourceHost = e.SourceHost
		}
		switch e.Type {
		case engine.TypeSSHAuthFailure, engine.TypeSSHMaxAttempts:
			ev.attempts += n
		case engine.TypeSSHInvalidUser:
			ev.attempts += n
			ev.invalid += n
		case engine.TypeSSHAuthSuccess:
			if ev.success == nil && ev.attempts > 0 {
				ev.success = e
				ev.failures = ev.attempts
			}
		case engine.TypeIDSAlert:
			if e.Severity > 0 && (ev.idsSev == 0 || e.Severity < ev.idsSev) {
				ev.idsSev, ev.idsSig = e.Severity, e.Signature
			}
		}
	}
	slices.SortFunc(ev.assets, func(x, y *engine.Asset) int { return strings.Compare(x.Name, y.Name) })
	slices.Sort(users)
	ev.users = slices.Compact(users)
	return ev
}

// Assess fills a.Risk, a.Confidence, a.Factors, a.Reasons and a.Blast.
func (s *Assessor) Assess(a *engine.Alert) {
	ev := scan(a)
	conf, reasons := s.confidence(a, &ev)
	a.Confidence = conf
	a.Reasons = reasons
	a.Risk, a.Factors = s.risk(a, &ev, conf)
	a.Blast = blast(a, &ev)
}

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return max(lo, min(hi, v))
}

func (s *Assessor) risk(a *engine.Alert, ev *evidence, conf float64) (float64, []engine.Factor) {
	sev := clamp(a.Severity, 0, 10)
	fs := make([]engine.Factor, 0, 6)
	fs = append(fs, engine.Factor{Name: FactorSeverity, Value: sev,
		Why: fmt.Sprintf("scenario %s base severity %s/10", a.Scenario, num(sev, 1))})

	crit, critWhy := s.cfg.UnknownCriticality, ""
	var top *engine.Asset
	for _, as := range ev.assets {
		if top == nil || as.Criticality > top.Criticality {
			top = as
		}
	}
	if top != nil && top.Criticality >= 1 && top.Criticality <= 5 {
		crit = top.Criticality
		critWhy = fmt.Sprintf("asset %s criticality %d/5", assetLabel(top), crit)
		if len(ev.assets) > 1 {
			critWhy += fmt.Sprintf(", the highest of %d assets", len(ev.assets))
		}
	} else {
		critWhy = fmt.Sprintf("no inventory entry for the attacked host; assumed criticality %d/5", crit)
	}
	cf := s.cfg.Criticality[crit-1]
	fs = append(fs, engine.Factor{Name: FactorCriticality, Value: cf, Why: critWhy})

	xf, xWhy := s.cfg.Exposure.Unknown, "exposure of the attacked host unknown"
	if as := firstExposure(ev.assets, "internet"); as != nil {
		xf, xWhy = s.cfg.Exposure.Internet, fmt.Sprintf("asset %s is internet-facing", assetLabel(as))
	} else if as := firstExposure(ev.assets, "internal"); as != nil {
		xf, xWhy = s.cfg.Exposure.Internal, fmt.Sprintf("asset %s is internal only", assetLabel(as))
	}
	fs = append(fs, engine.Factor{Name: FactorExposure, Value: xf, Why: xWhy})

	raw := sev * cf * xf
	if ev.success != nil {
		raw *= s.cfg.Compromise
		fs = append(fs, engine.Factor{Name: FactorCompromise, Value: s.cfg.Compromise,
			Why: fmt.Sprintf("a login succeeded after %d failed attempts: likely compromise", ev.failures)})
	}
	adj := s.cfg.ConfidenceFloor + (1-s.cfg.ConfidenceFloor)*conf
	raw *= adj
	fs = append(fs, engine.Factor{Name: FactorConfidence, Value: round(adj, 2),
		Why: fmt.Sprintf("confidence %s keeps %d%% of the risk", num(conf, 2), int(math.Round(adj*100)))})

	risk := clamp(raw, 0, 10)
	if risk != raw {
		fs = append(fs, engine.Factor{Name: FactorClamp, Value: risk,
			Why: fmt.Sprintf("raw score %s clamped to %s", num(raw, 1), num(risk, 0))})
	}
	return round(risk, 1), fs
}

func firstExposure(assets []*engine.Asset, exposure string) *engine.Asset {
	for _, as := range assets {
		if as.Exposure == exposure {
			return as
		}
	}
	return nil
}

func assetLabel(as *engine.Asset) string {
	if as.Role != "" {
		return as.Name + " (" + as.Role + ")"
	}
	return as.Name
}

func num(v float64, places int) string {
	return strconv.FormatFloat(v, 'f', places, 64)
}

func signed(v float64) string {
	if v >= 0 {
		return "+" + num(v, 2)
	}
	return num(v, 2)
}

// threshold is the count the scenario normally fires at.
func (s *Assessor) threshold(a *engine.Alert) int {
	if v, err := strconv.Atoi(a.Labels["threshold"]); err == nil && v > 0 {
		return v
	}
	if v := s.cfg.Thresholds[a.Scenario]; v > 0 {
		return v
	}
	return s.cfg.Threshold
}

func (s *Assessor) confidence(a *engine.Alert, ev *evidence) (float64, []engine.Factor) {
	rs := make([]engine.Factor, 0, 8)
	add := func(name string, v float64, why string) {
		rs = append(rs, engine.Factor{Name: name, Value: round(v, 2), Why: why})
	}
	add(ReasonBase, s.cfg.BaseConfidence, "starting point before evidence")

	count := a.Count
	if count <= 0 {
		for i := range a.Evidence {
			count += a.Evidence[i].N()
		}
	}
	th := s.threshold(a)
	span := a.Time.Sub(a.First).Round(time.Second)
	volume := fmt.Sprintf("%d events", count)
	if !a.First.IsZero() && span > 0 {
		volume += " in " + span.String()
	}
	if len(ev.users) > 1 {
		volume += fmt.Sprintf(", %d distinct users", len(ev.users))
	}
	ratio := float64(count) / float64(th)
	if ratio < 1 {
		add(ReasonVolume, -0.1, fmt.Sprintf("%s, below the usual threshold of %d", volume, th))
	} else {
		add(ReasonVolume, min(0.05*(1+math.Log2(ratio)), 0.2),
			fmt.Sprintf("%s, %s× the threshold of %d", volume, num(ratio, 1), th))
	}

	switch u := len(ev.users); {
	case u >= 5:
		add(ReasonUsers, 0.1, fmt.Sprintf("%d distinct user names tried: a spray, not a typo", u))
	case u >= 2:
		add(ReasonUsers, 0.05, fmt.Sprintf("%d distinct user names tried", u))
	}

	if ev.invalid > 0 && ev.attempts > 0 {
		share := float64(ev.invalid) / float64(ev.attempts)
		v := 0.05
		if share >= 0.5 {
			v = 0.1
		}
		add(ReasonInvalid, v, fmt.Sprintf("%d of %d attempts (%d%%) named users that do not exist",
			ev.invalid, ev.attempts, int(math.Round(share*100))))
	}

	switch {
	case len(a.Prefixes) > 0:
		v := 0.0
		if a.Sources >= 10 {
			v = 0.1
		}
		add(ReasonSources, v, fmt.Sprintf("%d distinct source addresses in %d prefixes", a.Sources, len(a.Prefixes)))
	case a.Source.IsValid():
		add(ReasonSource, 0.05, fmt.Sprintf("source %s logged as an address", a.Source))
	default:
		who := ev.sourceHost
		if who == "" {
			who = a.Key
		}
		why := "no source address: attribution is uncertain"
		if who != "" {
			why = fmt.Sprintf("source known only by host name %q: attribution is uncertain", who)
		}
		add(ReasonSource, -0.2, why)
	}

	if ev.idsSev > 0 {
		v := 0.0
		switch ev.idsSev {
		case 1:
			v = 0.2
		case 2:
			v = 0.1
		}
		why := fmt.Sprintf("IDS severity %d (1 is highest)", ev.idsSev)
		if ev.idsSig != "" {
			why += ": " + ev.idsSig
		}
		add(ReasonIDS, v, why)
	}

	if ev.success != nil {
		why := fmt.Sprintf("login accepted after %d failed attempts", ev.failures)
		if ev.success.User != "" {
			why = fmt.Sprintf("login accepted for %s after %d failed attempts", ev.success.User, ev.failures)
		}
		if !ev.success.Time.IsZero() {
			why += " at " + ev.success.Time.UTC().Format(time.DateTime)
		}
		add(ReasonCompromise, 0.2, why)
	}

	sum := 0.0
	for _, r := range rs {
		sum += r.Value
	}
	return round(clamp(sum, 0, 1), 2), rs
}

func blast(a *engine.Alert, ev *evidence) engine.BlastRadius {
	var b engine.BlastRadius
	var gws []string
	for _, as := range ev.assets {
		b.Assets = append(b.Assets, as.Name)
		gws = append(gws, as.Gateways...)
	}
	slices.Sort(gws)
	b.Gateways = slices.Compact(gws)
	if len(ev.users) > 0 {
		b.Users = ev.users
	}
	switch {
	case len(a.Prefixes) > 0:
		for _, p := range a.Prefixes {
			b.Addresses = addSat(b.Addresses, PrefixSize(p))
		}
	case a.Source.IsValid():
		b.Addresses = 1
	}
	return b
}

// PrefixSize is how many addresses p covers, capped at math.MaxUint64; 0 for
// an invalid prefix.
func PrefixSize(p netip.Prefix) uint64 {
	if !p.IsValid() {
		return 0
	}
	host := p.Addr().BitLen() - p.Bits()
	if host >= 64 {
		return math.MaxUint64
	}
	return 1 << host
}

func addSat(x, y uint64) uint64 {
	s, carry := bits.Add64(x, y, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}
