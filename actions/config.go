package actions

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is the `enforcement:` section of the config file.
type Config struct {
	// MaxPerMinute caps automatic new actions; the excess waits for
	// approval.
	MaxPerMinute   int           `yaml:"max_per_minute"`
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// Approval per action type: `isolate: {always: true}`,
	// `block: {auto_min_risk: 7}`.
	Approval map[string]ApprovalConfig `yaml:"approval"`
	// MinPrefixV4 and MinPrefixV6 are the widest ranges acted on without
	// --force.
	MinPrefixV4 int `yaml:"min_prefix_v4"`
	MinPrefixV6 int `yaml:"min_prefix_v6"`
	RateLimit   struct {
		PerMinute int `yaml:"per_minute"`
		Burst     int `yaml:"burst"`
	} `yaml:"rate_limit"`
	// Management addresses are never acted on and still reach isolated and
	// quarantined hosts.
	Management []string `yaml:"management"`
	// QuarantineAllow lists where a quarantined host may go:
	// "198.51.100.53 udp/53".
	QuarantineAllow []string        `yaml:"quarantine_allow"`
	Gateways        []GatewayConfig `yaml:"gateways"`
	// RulesetEvidence records phantomsoc's table on a gateway before and
	// after every action there, as evidence of the decision's incident.
	// Each action then reads the table twice: leave it off where the
	// sets hold tens of thousands of elements.
	RulesetEvidence bool `yaml:"ruleset_evidence"`
}

// ApprovalConfig is Approval in YAML.
type ApprovalConfig struct {
	Always      bool    `yaml:"always"`
	AutoMinRisk float64 `yaml:"auto_min_risk"`
}

// GatewayConfig is one gateway.
type GatewayConfig struct {
	Name string `yaml:"name"`
	// Type is local (netlink) or ssh.
	Type string `yaml:"type"`
	// NetNS is a named network namespace (ip netns) for a local gateway;
	// empty is phantomsoc's own.
	NetNS string `yaml:"netns"`
	// Address is host:port of an ssh gateway.
	Address    string `yaml:"address"`
	User       string `yaml:"user"`
	KnownHosts string `yaml:"known_hosts"`
	// KeyFile is the private key; empty uses the SSH agent.
	KeyFile string `yaml:"key_file"`
	Sudo    bool   `yaml:"sudo"`
	// Management addresses of this gateway: never acted on.
	Management []string `yaml:"management"`
}

// Gateway types.
const (
	GatewayLocal = "local"
	GatewaySSH   = "ssh"
)

var namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`) })

// Validate checks c; errors start with the field path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field string, f string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(f, a...)))
	}
	if c.MaxPerMinute < 0 {
		bad("enforcement.max_per_minute", "must not be negative")
	}
	if c.ReconcileEvery != 0 && c.ReconcileEvery < time.Second {
		bad("enforcement.reconcile_every", "%s is under a second", c.ReconcileEvery)
	}
	for t := range c.Approval {
		if !slices.Contains(Types(), t) {
			bad("enforcement.approval."+t, "unknown action type; want one of %s", strings.Join(Types(), ", "))
		}
	}
	if c.MinPrefixV4 < 0 || c.MinPrefixV4 > 32 {
		bad("enforcement.min_prefix_v4", "want 0-32")
	}
	if c.MinPrefixV6 < 0 || c.MinPrefixV6 > 128 {
		bad("enforcement.min_prefix_v6", "want 0-128")
	}
	if _, err := prefixes(c.Management); err != nil {
		bad("enforcement.management", "%v", err)
	}
	if _, err := c.quarantineAllow(); err != nil {
		bad("enforcement.quarantine_allow", "%v", err)
	}
	seen := map[string]bool{}
	for i, g := range c.Gateways {
		f := fmt.Sprintf("enforcement.gateways[%d]", i)
		if !namePattern().MatchString(g.Name) || g.Name == "all" {
			bad(f+".name", "%q: want 1-63 of [a-z0-9_.-] (and not \"all\")", g.Name)
		}
		if seen[g.Name] {
			bad(f+".name", "%q is used twice", g.Name)
		}
		seen[g.Name] = true
		if _, err := prefixes(g.Management); err != nil {
			bad(f+".management", "%v", err)
		}
		switch g.Type {
		case GatewayLocal:
			if g.NetNS != "" && !namePattern().MatchString(g.NetNS) {
				bad(f+".netns", "%q is not a namespace name", g.NetNS)
			}
		case GatewaySSH:
			if g.Address == "" {
				bad(f+".address", "an ssh gateway needs host:port")
			}
			if g.User == "" {
				bad(f+".user", "an ssh gateway needs a user")
			}
			if g.KnownHosts == "" {
				bad(f+".known_hosts", "host keys are always verified: give a known_hosts file")
			}
		default:
			bad(f+".type", "%q: want local or ssh", g.Type)
		}
	}
	if c.RateLimit.PerMinute < 0 || c.RateLimit.Burst < 0 {
		bad("enforcement.rate_limit", "must not be negative")
	}
	return errors.Join(errs...)
}

// Layout is the table layout c asks for.
func (c *Config) Layout() (*Layout, error) {
	mgmt, err := prefixes(c.Management)
	if err != nil {
		return nil, err
	}
	qa, err := c.quarantineAllow()
	if err != nil {
		return nil, err
	}
	l := &Layout{Mgmt: mgmt, QuarantineAllow: qa, RatePerMinute: c.RateLimit.PerMinute, RateBurst: c.RateLimit.Burst}
	return l, l.Validate()
}

// Options turns c into Enforcer options (guard limits, cap, approvals).
func (c *Config) Options() Options {
	o := Options{MaxPerMinute: c.MaxPerMinute, ReconcileEvery: c.ReconcileEvery,
		Guard: Guard{MinBits4: c.MinPrefixV4, MinBits6: c.MinPrefixV6}}
	if c.Approval != nil {
		o.Approval = DefaultApproval()
		for t, a := range c.Approval {
			o.Approval[t] = Approval{Always: a.Always, AutoMinRisk: a.AutoMinRisk}
		}
	}
	return o
}

// ManagementShield is the shield of gateway g: the global and its own
// management addresses.
func (c *Config) ManagementShield(g GatewayConfig) Shield {
	var sh Shield
	all, _ := prefixes(append(slices.Clone(c.Management), g.Management...))
	for _, p := range all {
		sh.Protected = append(sh.Protected, Protected{Prefix: p, Why: "management address of gateway " + g.Name})
	}
	return sh
}

func prefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (c *Config) quarantineAllow() ([]Service, error) {
	var out []Service
	for _, s := range c.QuarantineAllow {
		addr, port, ok := strings.Cut(strings.TrimSpace(s), " ")
		if !ok {
			return nil, fmt.Errorf("%q: want \"ADDRESS|CIDR PROTO/PORT\", e.g. \"198.51.100.53 udp/53\"", s)
		}
		p, err := ParseTarget(addr)
		if err != nil {
			return nil, err
		}
		proto, n, err := ParsePort(port)
		if err != nil {
			return nil, err
		}
		out = append(out, Service{Prefix: p, Proto: proto, Port: n})
	}
	return out, nil
}
