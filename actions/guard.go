package actions

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/phantomsoc/phantomsoc/engine"
)

// ErrRefused marks a remediation a safety rule forbids. The refusal is
// audited; it is never applied, whoever asked.
var ErrRefused = errors.New("refused")

// Protected is a range never acted on, with the reason in words.
type Protected struct {
	Prefix netip.Prefix
	Why    string
}

// Guard holds the safety rules every remediation passes before it becomes a
// plan: never the allowlist, loopback, a gateway's management address or
// the session administering it; no oversize range without force.
type Guard struct {
	// Protected are the allowlist and the other never-act ranges known at
	// wiring time (the administering SSH client of this host included).
	Protected []Protected
	// MinBits4 and MinBits6 are the shortest prefixes accepted without
	// force: a /8 block is a policy mistake far more often than intent.
	MinBits4, MinBits6 int
}

// Defaults for Guard's prefix limits.
const (
	DefaultMinBits4 = 16
	DefaultMinBits6 = 32
)

// always are ranges no remediation may ever touch, whatever the config says.
var always = []Protected{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified address"},
	{netip.MustParsePrefix("::/128"), "unspecified address"},
}

// Shield is what one gateway adds to the guard: its management addresses,
// the address its administering session comes from, and the port that
// session uses.
type Shield struct {
	Protected []Protected
	// SSHPort is the gateway's SSH port (0: none); a firewall rule that
	// closes it for everyone would cut phantomsoc's own session.
	SSHPort uint16
}

// Check returns an error wrapping ErrRefused when s must not be applied on a
// gateway with shield sh.
func (g *Guard) Check(s Spec, force bool, sh Shield) error {
	if !s.Target.IsValid() {
		// A firewall rule for everyone.
		if sh.SSHPort != 0 && s.Proto == ProtoTCP && s.Port == sh.SSHPort {
			return fmt.Errorf("%w: %s would close the SSH port the gateway is administered through", ErrRefused, s)
		}
		return nil
	}
	t := s.Target
	minBits, def := g.MinBits4, DefaultMinBits4
	if t.Addr().Is6() {
		minBits, def = g.MinBits6, DefaultMinBits6
	}
	if minBits == 0 {
		minBits = def
	}
	if t.Bits() < minBits && !force {
		return fmt.Errorf("%w: %s covers more than a /%d; pass --force if you mean it", ErrRefused, engine.PrefixString(t), minBits)
	}
	for _, list := range [][]Protected{always, g.Protected, sh.Protected} {
		for _, p := range list {
			if p.Prefix.Overlaps(t) {
				return fmt.Errorf("%w: %s overlaps %s (%s)", ErrRefused, engine.PrefixString(t), engine.PrefixString(p.Prefix), p.Why)
			}
		}
	}
	return nil
}
