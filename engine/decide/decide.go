// Package decide turns assessed alerts into decisions: which action on which
// target for how long, with safety refusals (allowlist, special addresses)
// and escalating TTLs for repeat offenders.
package decide

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// DefaultSweepEvery is how often, in alert time, expired memory is dropped.
const DefaultSweepEvery = time.Hour

// Options are a Policy's dependencies beyond its Config.
type Options struct {
	// Protected are further never-act ranges chosen at wiring time: the
	// administering SSH client's address, each gateway's management address.
	Protected []Protected
	// SweepEvery is how often (in alert time) expired offenders and
	// decisions are forgotten; DefaultSweepEvery when zero.
	SweepEvery time.Duration
	// Logger receives Debug records; discarded when nil.
	Logger *slog.Logger
}

// Protected is a range that is never acted on, with the reason in words
// ("gateway edge1 management address").
type Protected struct {
	Prefix netip.Prefix
	Why    string
}

// Policy implements engine.Decider. It keeps offender and recent-decision
// memory and must be used from one goroutine.
type Policy struct {
	cfg        Config
	guards     []guard
	sweepEvery time.Duration
	logger     *slog.Logger

	offenders map[netip.Prefix]engine.Offender
	// recent holds the expiry of the latest decision per target and action,
	// for duplicate suppression.
	recent    map[recentKey]time.Time
	nextSweep time.Time
}

type recentKey struct {
	target netip.Prefix
	action string
}

// guard is a range that refuses decisions overlapping it.
type guard struct {
	prefix netip.Prefix
	why    string
}

// forever stands in for the expiry of a permanent decision.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func specialGuards() []guard {
	g := func(s, why string) guard { return guard{netip.MustParsePrefix(s), why} }
	return []guard{
		g("0.0.0.0/32", "the unspecified address"),
		g("::/128", "the unspecified address"),
		g("127.0.0.0/8", "loopback 127.0.0.0/8"),
		g("::1/128", "loopback ::1"),
		g("169.254.0.0/16", "link-local 169.254.0.0/16"),
		g("fe80::/10", "link-local fe80::/10"),
		g("224.0.0.0/4", "multicast 224.0.0.0/4"),
		g("ff00::/8", "multicast ff00::/8"),
		g("255.255.255.255/32", "the broadcast address"),
	}
}

// New validates cfg and o.
func New(cfg Config, o Options) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{
		cfg:        cfg,
		guards:     specialGuards(),
		sweepEvery: cmp.Or(o.SweepEvery, DefaultSweepEvery),
		logger:     o.Logger,
		offenders:  make(map[netip.Prefix]engine.Offender),
		recent:     make(map[recentKey]time.Time),
	}
	if p.sweepEvery < 0 {
		return nil, fmt.Errorf("decide options: sweep interval %v must be > 0", o.SweepEvery)
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	p.cfg.Rules = slices.Clone(cfg.Rules)
	for i, s := range cfg.Allowlist {
		pr, _ := parseAllowEntry(s) // validated above
		p.guards = append(p.guards, guard{pr, fmt.Sprintf("allowlist[%d] %s", i, strings.TrimSpace(s))})
	}
	for i, pr := range o.Protected {
		if !pr.Prefix.IsValid() {
			return nil, fmt.Errorf("decide options: protected[%d]: invalid prefix", i)
		}
		p.guards = append(p.guards, guard{normalize(pr.Prefix), cmp.Or(pr.Why, "protected "+pr.Prefix.String())})
	}
	return p, nil
}

// normalize masks p and turns an IPv4-mapped prefix into plain IPv4.
func normalize(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	if p.Addr().Is6() && p.Bits() < 96 && p.Overlaps(v4Mapped) {
		// It covers all of the IPv4-mapped space: as a target it means
		// every IPv4 address, and the IPv4 guards must see it that way.
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return p.Masked()
}

// v4Mapped is where IPv6 spells IPv4 addresses (::ffff:a.b.c.d).
var v4Mapped = netip.MustParsePrefix("::ffff:0:0/96")

// targets are what an alert proposes to act on: its prefixes for a campaign,
// else its source address; none for a hostname-only source.
func targets(a *engine.Alert) []netip.Prefix {
	if len(a.Prefixes) > 0 {
		out := make([]netip.Prefix, 0, len(a.Prefixes))
		for _, p := range a.Prefixes {
			if p.IsValid() {
				if p = normalize(p); !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
		return out
	}
	if a.Source.IsValid() {
		s := a.Source.Unmap().WithZone("")
		return []netip.Prefix{netip.PrefixFrom(s, s.BitLen())}
	}
	return nil
}

// Decide returns the decisions for a: none for notify-only verdicts,
// hostname-only sources and targets that already have an unexpired decision
// with the same action (no renewal: the standing decision's expiry is kept,
// and the repeat is not counted as an offense). Refused decisions are
// returned with State refused so that they are recorded and audited.
func (p *Policy) Decide(a *engine.Alert) []engine.Decision {
	if a == nil {
		return nil
	}
	p.maybeSweep(a.Time)
	ts := targets(a)
	if len(ts) == 0 {
		return nil
	}
	idx, v := p.verdict(a)
	if v.Action == engine.ActionAlert {
		return nil
	}
	if idx < 0 && a.Propose == engine.ActionAlert {
		return nil
	}
	rule := p.ruleText(idx)
	var out []engine.Decision
	for _, t := range ts {
		k := recentKey{t, v.Action}
		if exp, ok := p.recent[k]; ok && a.Time.Before(exp) {
			p.logger.Debug("duplicate suppressed", "target", engine.PrefixString(t), "action", v.Action, "expires", exp, "alert_id", a.ID)
			continue
		}
		d := engine.Decision{
			Time:     a.Time,
			AlertID:  a.ID,
			Scenario: a.Scenario,
			Action:   v.Action,
			Target:   t,
			Risk:     a.Risk,
		}
		if why := p.refusal(t); why != "" {
			d.TTL = v.TTL
			d.Expires = a.Time.Add(v.TTL)
			d.State = engine.StateRefused
			d.Reason = fmt.Sprintf("refused: %s overlaps %s; never acted on (%s would %s for %s)",
				engine.PrefixString(t), why, rule, v.Action, fmtDur(v.TTL))
		} else {
			n, history := p.offense(t, a.Time)
			ttl, how := p.escalate(v.TTL, n, t)
			d.TTL, d.Expires, d.Offense = ttl, a.Time.Add(ttl), n
			d.Auto = v.Auto && a.Risk >= v.AutoMinRisk
			d.State = engine.StatePending
			approval := "waits for an analyst"
			if d.Auto {
				d.State = engine.StateActive
				approval = "applied automatically"
				if v.AutoMinRisk > 0 {
					approval += fmt.Sprintf(" (risk %s >= auto_min_risk %s)", fnum(a.Risk), fnum(v.AutoMinRisk))
				}
			} else if v.Auto {
				approval += fmt.Sprintf(" (risk %s < auto_min_risk %s)", fnum(a.Risk), fnum(v.AutoMinRisk))
			}
			d.Reason = fmt.Sprintf("%s: %s %s; offense %d%s; ttl %s; %s",
				rule, v.Action, engine.PrefixString(t), n, history, how, approval)
			p.offenders[t] = engine.Offender{
				Target:  t,
				Count:   n,
				Last:    a.Time,
				Expires: later(a.Time.Add(p.cfg.Escalation.ForgetAfter), d.Expires),
			}
		}
		p.recent[k] = d.Expires
		out = append(out, d)
	}
	return out
}

// verdict returns the first matching rule's index and verdict, or -1 and
// the default.
func (p *Policy) verdict(a *engine.Alert) (int, Verdict) {
	for i := range p.cfg.Rules {
		m := &p.cfg.Rules[i].Match
		if m.Scenario != "" {
			if ok, _ := path.Match(m.Scenario, a.Scenario); !ok {
				continue
			}
		}
		if m.Propose != "" && m.Propose != a.Propose {
			continue
		}
		if a.Risk < m.MinRisk || a.Confidence < m.MinConfidence {
			continue
		}
		return i, p.cfg.Rules[i].Verdict
	}
	return -1, p.cfg.Default
}

func (p *Policy) ruleText(i int) string {
	if i < 0 {
		return "no rule matched, default"
	}
	m := p.cfg.Rules[i].Match
	var parts []string
	if m.Scenario != "" {
		parts = append(parts, "scenario "+strconv.Quote(m.Scenario))
	}
	if m.Propose != "" {
		parts = append(parts, "propose "+m.Propose)
	}
	if m.MinRisk > 0 {
		parts = append(parts, "risk >= "+fnum(m.MinRisk))
	}
	if m.MinConfidence > 0 {
		parts = append(parts, "confidence >= "+fnum(m.MinConfidence))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("rules[%d] (any alert)", i)
	}
	return fmt.Sprintf("rules[%d] (%s)", i, strings.Join(parts, ", "))
}

// refusal names the guard t overlaps ("" when none). Overlap covers both a
// target inside a guarded range and a prefix containing a guarded address.
func (p *Policy) refusal(t netip.Prefix) string {
	for _, g := range p.guards {
		if g.prefix.Overlaps(t) {
			return g.why
		}
	}
	return ""
}

// offense returns the 1-based offense number for t at now and a note on the
// history behind it.
func (p *Policy) offense(t netip.Prefix, now time.Time) (int, string) {
	o, ok := p.offenders[t]
	switch {
	case !ok || o.Count < 1:
		return 1, ""
	case now.Sub(o.Last) >= p.cfg.Escalation.ForgetAfter:
		return 1, fmt.Sprintf(" (count reset: quiet since %s, forget_after %s)", o.Last.UTC().Format(time.RFC3339), fmtDur(p.cfg.Escalation.ForgetAfter))
	default:
		return o.Count + 1, fmt.Sprintf(" (previous %s)", o.Last.UTC().Format(time.RFC3339))
	}
}

// escalate computes the TTL for offense n: base × multiplier^(n-1), capped
// at max_ttl, then a deterministic jitter from a hash of target and n.
func (p *Policy) escalate(base time.Duration, n int, t netip.Prefix) (time.Duration, string) {
	e := p.cfg.Escalation
	ttl := float64(base)
	capped := false
	for i := 1; i < n && !capped; i++ {
		ttl *= e.Multiplier
		capped = ttl >= float64(e.MaxTTL)
	}
	if ttl >= float64(e.MaxTTL) {
		ttl, capped = float64(e.MaxTTL), true
	}
	how := fmtDur(base)
	if n > 1 && e.Multiplier != 1 {
		how += fmt.Sprintf(" × %s^%d", fnum(e.Multiplier), n-1)
	}
	if capped {
		how += " capped at max_ttl " + fmtDur(e.MaxTTL)
	} else if n > 1 && e.Multiplier != 1 {
		how += " = " + fmtDur(time.Duration(ttl))
	}
	if e.Jitter > 0 {
		j := e.Jitter * jitterUnit(t, n)
		ttl *= 1 + j
		how += fmt.Sprintf(", jitter %+.1f%%", j*100)
		// max_ttl is a ceiling: jitter spreads expiries below it, never past.
		if ttl > float64(e.MaxTTL) {
			ttl = float64(e.MaxTTL)
			how += ", back to max_ttl"
		}
	}
	d := max(time.Duration(math.Round(ttl/float64(time.Second)))*time.Second, time.Second)
	return d, how + " → " + fmtDur(d)
}

// jitterUnit maps (target, offense) to [-1, 1) with FNV-1a, so the same
// input always gets the same jitter.
func jitterUnit(t netip.Prefix, n int) float64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	b := t.Addr().As16()
	for _, c := range b {
		h = (h ^ uint64(c)) * prime
	}
	h = (h ^ uint64(t.Bits())) * prime
	if t.Addr().Is4() {
		h = (h ^ 4) * prime
	}
	for i := range 8 {
		h = (h ^ uint64(byte(n>>(8*i)))) * prime
	}
	// FNV's last rounds barely reach the high bits; fmix64 (MurmurHash3)
	// spreads neighbouring offenses over the whole range.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return 2*(float64(h>>11)/(1<<53)) - 1
}

func (p *Policy) maybeSweep(now time.Time) {
	if !p.nextSweep.IsZero() && now.Before(p.nextSweep) {
		return
	}
	p.Sweep(now)
	p.nextSweep = now.Add(p.sweepEvery)
}

// Sweep forgets offenders and decisions that expired by now. Decide calls
// it every SweepEvery of alert time.
func (p *Policy) Sweep(now time.Time) {
	for k, o := range p.offenders {
		if !now.Before(o.Expires) {
			delete(p.offenders, k)
		}
	}
	for k, exp := range p.recent {
		if !now.Before(exp) {
			delete(p.recent, k)
		}
	}
}

// Load seeds the offender memory (from the store at start) so escalation
// survives restarts. Invalid targets are skipped; for a target given twice
// the later Last wins. An entry without Expires gets Last+forget_after.
func (p *Policy) Load(offenders []engine.Offender) {
	for _, o := range offenders {
		if !o.Target.IsValid() || o.Count < 1 {
			continue
		}
		o.Target = normalize(o.Target)
		// The store keeps when the last decision ends; remembering the
		// offense for forget_after is this policy's business.
		o.Expires = later(o.Expires, o.Last.Add(p.cfg.Escalation.ForgetAfter))
		if old, ok := p.offenders[o.Target]; ok && old.Last.After(o.Last) {
			continue
		}
		p.offenders[o.Target] = o
	}
}

// Track seeds duplicate suppression with decisions that still stand (the
// store's active and pending decisions at start, or an analyst's manual
// ones). Decisions in other states are ignored; a permanent decision (zero
// Expires) suppresses duplicates for the life of the Policy.
func (p *Policy) Track(ds []engine.Decision) {
	for _, d := range ds {
		if d.State != engine.StateActive && d.State != engine.StatePending || !d.Target.IsValid() {
			continue
		}
		exp := d.Expires
		if exp.IsZero() {
			exp = forever
		}
		k := recentKey{normalize(d.Target), d.Action}
		p.recent[k] = later(p.recent[k], exp)
	}
}

// Offenders returns the offender memory sorted by target, for the store.
func (p *Policy) Offenders() []engine.Offender {
	out := make([]engine.Offender, 0, len(p.offenders))
	for _, o := range p.offenders {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b engine.Offender) int {
		if c := a.Target.Addr().Compare(b.Target.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Target.Bits(), b.Target.Bits())
	})
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// fmtDur drops zero minutes and seconds: 4h, 16h40m19s, 90m → 1h30m.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
