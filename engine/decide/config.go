package decide

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Config is the decision policy: the `policy:` section of the config file,
// or a standalone policy file read with Parse.
type Config struct {
	// Allowlist holds addresses and CIDRs that are never decided against.
	Allowlist []string `yaml:"allowlist"`
	// Rules are tried in order; the first match wins.
	Rules []Rule `yaml:"rules"`
	// Default applies when no rule matches. It never upgrades an alert whose
	// scenario proposes "alert" (notify only): only an explicit rule can.
	Default Verdict `yaml:"default"`
	// Escalation lengthens TTLs for repeat offenders.
	Escalation Escalation `yaml:"escalation"`
}

// Rule is a match and the verdict it gives.
type Rule struct {
	Match   Match `yaml:"match"`
	Verdict `yaml:",inline"`
}

// Match selects alerts. Empty fields match anything.
type Match struct {
	// Scenario is a glob (path.Match syntax): "ssh-compromise-*".
	Scenario string `yaml:"scenario"`
	// Propose is the action the scenario proposes: block, rate-limit, alert.
	Propose       string  `yaml:"propose"`
	MinRisk       float64 `yaml:"min_risk"`
	MinConfidence float64 `yaml:"min_confidence"`
}

// Verdict is what to do with a matching alert.
type Verdict struct {
	// Action is one of the engine.Action* values; "alert" makes no decision.
	Action string        `yaml:"action"`
	TTL    time.Duration `yaml:"ttl"`
	// Auto applies the decision without an analyst; otherwise it waits
	// (pending).
	Auto bool `yaml:"auto"`
	// AutoMinRisk narrows Auto: applied automatically only when the alert's
	// risk reaches it, else pending.
	AutoMinRisk float64 `yaml:"auto_min_risk"`
}

// Escalation configures repeat-offender TTLs: offense n gets
// ttl × multiplier^(n-1), capped at MaxTTL, then ± Jitter×ttl.
type Escalation struct {
	Multiplier float64       `yaml:"multiplier"`
	MaxTTL     time.Duration `yaml:"max_ttl"`
	// Jitter is a fraction (0.1 = ±10%), derived from a hash of target and
	// offense so replays are identical.
	Jitter float64 `yaml:"jitter"`
	// ForgetAfter resets an offender's count after this long without an
	// offense.
	ForgetAfter time.Duration `yaml:"forget_after"`
}

// Defaults returns a policy that blocks automatically for 4h, escalating ×2
// per repeat offense up to a week, and forgets offenders after 30 days.
func Defaults() Config {
	return Config{
		Default: Verdict{Action: engine.ActionBlock, TTL: 4 * time.Hour, Auto: true},
		Escalation: Escalation{
			Multiplier:  2,
			MaxTTL:      168 * time.Hour,
			Jitter:      0.1,
			ForgetAfter: 720 * time.Hour,
		},
	}
}

// FieldError is a configuration error at a field path such as
// "policy.rules[2].ttl".
type FieldError struct {
	Field string
	Msg   string
}

// Error renders "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: "policy." + field, Msg: fmt.Sprintf(format, args...)}
}

var actions = []string{
	engine.ActionBlock, engine.ActionRateLimit, engine.ActionFirewall, engine.ActionIsolate,
	engine.ActionQuarantine, engine.ActionTunnel, engine.ActionAlert,
}

func validAction(a string) bool {
	for _, x := range actions {
		if a == x {
			return true
		}
	}
	return false
}

// parseAllowEntry accepts an address or a CIDR.
func parseAllowEntry(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("address %q must not have a zone", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR", s)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		if p.Bits() < 0 {
			return netip.Prefix{}, fmt.Errorf("%q: IPv4-mapped prefix shorter than /96", s)
		}
	}
	return p.Masked(), nil
}

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	for i, s := range c.Allowlist {
		if _, err := parseAllowEntry(s); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("allowlist[%d]", i), "%v", err))
		}
	}
	for i, r := range c.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if r.Match.Scenario != "" {
			if _, err := path.Match(r.Match.Scenario, ""); err != nil {
				errs = append(errs, fieldErr(f+".match.scenario", "bad glob %q", r.Match.Scenario))
			}
		}
		if p := r.Match.Propose; p != "" && !validAction(p) {
			errs = append(errs, fieldErr(f+".match.propose", "unknown action %q (want one of %s)", p, strings.Join(actions, ", ")))
		}
		if v := r.Match.MinRisk; !(v >= 0 && v <= 10) {
			errs = append(errs, fieldErr(f+".match.min_risk", "must be 0–10, got %v", v))
		}
		if v := r.Match.MinConfidence; !(v >= 0 && v <= 1) {
			errs = append(errs, fieldErr(f+".match.min_confidence", "must be 0–1, got %v", v))
		}
		errs = append(errs, r.Verdict.validate(f)...)
	}
	errs = append(errs, c.Default.validate("default")...)
	e := c.Escalation
	if !(e.Multiplier >= 1) || math.IsInf(e.Multiplier, 0) {
		errs = append(errs, fieldErr("escalation.multiplier", "must be >= 1, got %v", e.Multiplier))
	}
	if e.MaxTTL <= 0 {
		errs = append(errs, fieldErr("escalation.max_ttl", "must be > 0"))
	}
	if !(e.Jitter >= 0 && e.Jitter <= 0.5) {
		errs = append(errs, fieldErr("escalation.jitter", "must be 0–0.5, got %v", e.Jitter))
	}
	if e.ForgetAfter <= 0 {
		errs = append(errs, fieldErr("escalation.forget_after", "must be > 0"))
	}
	return errors.Join(errs...)
}

func (v *Verdict) validate(f string) []error {
	var errs []error
	if !validAction(v.Action) {
		errs = append(errs, fieldErr(f+".action", "unknown action %q (want one of %s)", v.Action, strings.Join(actions, ", ")))
	}
	if v.Action != engine.ActionAlert && v.TTL <= 0 {
		errs = append(errs, fieldErr(f+".ttl", "must be > 0"))
	}
	if !(v.AutoMinRisk >= 0 && v.AutoMinRisk <= 10) {
		errs = append(errs, fieldErr(f+".auto_min_risk", "must be 0–10, got %v", v.AutoMinRisk))
	} else if v.AutoMinRisk > 0 && !v.Auto {
		errs = append(errs, fieldErr(f+".auto_min_risk", "needs auto: true (it narrows automatic application)"))
	}
	return errs
}
