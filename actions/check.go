package actions

import (
	"errors"
	"fmt"
)

// Check validates e against the set's key kind, family and timeout rule.
// Both backends call it on every element before anything is sent, so no
// malformed element reaches a kernel (or an nft script) or panics on the
// way.
func (s SetSpec) Check(e Element) error {
	p := e.Prefix
	switch {
	case !p.IsValid():
		return fmt.Errorf("set %s: no address", s.Name)
	case p.Addr().Is4In6():
		return fmt.Errorf("set %s: %s is IPv4-mapped IPv6: use the IPv4 form", s.Name, p)
	case p.Addr().Is6() != s.V6:
		return fmt.Errorf("set %s: address family of %s does not fit %s", s.Name, p, s.NftType())
	case p.Masked() != p:
		return fmt.Errorf("set %s: prefix %s has host bits set (want %s)", s.Name, p, p.Masked())
	case e.Timeout < 0:
		return fmt.Errorf("set %s: timeout %s is negative", s.Name, e.Timeout)
	case e.Timeout > MaxTTL:
		return fmt.Errorf("set %s: timeout %s exceeds %s", s.Name, e.Timeout, MaxTTL)
	case e.Timeout > 0 && !s.Timeout:
		return fmt.Errorf("set %s: elements take no timeout", s.Name)
	}
	switch s.Key {
	case KeyAddr:
		if e.Proto != 0 || e.Port != 0 || e.Iface != "" {
			return fmt.Errorf("set %s takes an address only, no protocol, port or interface", s.Name)
		}
	case KeyAddrProtoPort:
		if e.Proto != ProtoTCP && e.Proto != ProtoUDP {
			return fmt.Errorf("set %s: protocol %d: want tcp or udp", s.Name, e.Proto)
		}
		if e.Port == 0 {
			return fmt.Errorf("set %s needs a port 1-65535", s.Name)
		}
		if e.Iface != "" {
			return fmt.Errorf("set %s takes no interface", s.Name)
		}
	case KeyIfaceAddr:
		if !ValidIface(e.Iface) {
			return fmt.Errorf("set %s: interface %q: want 1-15 of [A-Za-z0-9_.-], starting with a letter or digit", s.Name, e.Iface)
		}
		if e.Proto != 0 || e.Port != 0 {
			return fmt.Errorf("set %s takes no protocol or port", s.Name)
		}
	default:
		return fmt.Errorf("set %s: unknown key kind %q", s.Name, s.Key)
	}
	return nil
}

// maxReported bounds the errors listed for one batch: a 10,000-element
// batch built wrong should say so in a few lines.
const maxReported = 10

// CheckElements checks every element against the table's action sets; what
// names the elements in errors ("add", "delete").
func CheckElements(what string, elems []Element) error {
	sets := map[string]SetSpec{}
	for _, s := range ActionSets() {
		sets[s.Name] = s
	}
	var errs []error
	bad := 0
	for i, e := range elems {
		s, ok := sets[e.Set]
		err := fmt.Errorf("set %q is not an action set of table %s %s", e.Set, TableFamily, TableName)
		if ok {
			err = s.Check(e)
		}
		if err == nil {
			continue
		}
		if bad++; bad <= maxReported {
			errs = append(errs, fmt.Errorf("%s %d: %w", what, i, err))
		}
	}
	if bad > maxReported {
		errs = append(errs, fmt.Errorf("and %d more bad elements", bad-maxReported))
	}
	return errors.Join(errs...)
}
