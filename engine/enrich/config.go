package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Config is the inventory and GeoIP configuration. The top-level config
// embeds it inline, so its fields are the `assets:` and `geoip:` sections.
type Config struct {
	Assets []AssetConfig `yaml:"assets"`
	GeoIP  GeoIPConfig   `yaml:"geoip"`
}

// AssetConfig is one inventory entry. Match is an address ("192.0.2.10"), a
// CIDR ("192.0.2.0/28") or a host name ("gw1").
type AssetConfig struct {
	Match string `yaml:"match"`
	// Name defaults to Match.
	Name string `yaml:"name"`
	Role string `yaml:"role"`
	// Criticality is 1 (lab box) to 5 (crown jewels).
	Criticality int    `yaml:"criticality"`
	Owner       string `yaml:"owner"`
	// Exposure is "internet", "internal" or empty (unknown).
	Exposure string   `yaml:"exposure"`
	Gateways []string `yaml:"gateways"`
}

// GeoIPConfig names optional MaxMind databases (GeoLite2-Country and
// GeoLite2-ASN shaped). Either may be empty.
type GeoIPConfig struct {
	CountryDB string `yaml:"country_db"`
	ASNDB     string `yaml:"asn_db"`
}

// Exposure values.
const (
	ExposureInternet = "internet"
	ExposureInternal = "internal"
)

// FieldError is a configuration error at a field path such as
// "assets[2].criticality".
type FieldError struct {
	Field string
	Msg   string
}

// Error renders "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Defaults returns an empty inventory without GeoIP.
func Defaults() Config { return Config{} }

// matcher is the parsed form of AssetConfig.Match.
type matcher struct {
	prefix netip.Prefix // valid for address and CIDR matches
	host   string       // lower-case, for host name matches
}

func parseMatch(s string) (matcher, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return matcher{}, errors.New("must not be empty")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return matcher{}, fmt.Errorf("address %q must not have a zone", s)
		}
		a = a.Unmap()
		return matcher{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return matcher{}, fmt.Errorf("invalid CIDR %q", s)
		}
		if p.Masked() != p {
			return matcher{}, fmt.Errorf("%q has host bits set; did you mean %s", s, p.Masked())
		}
		return matcher{prefix: p}, nil
	}
	if strings.ContainsAny(s, " \t,;:*?[]") {
		return matcher{}, fmt.Errorf("%q is neither an address, a CIDR nor a host name", s)
	}
	return matcher{host: strings.ToLower(s)}, nil
}

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	seen := make(map[matcher]int, len(c.Assets))
	for i, a := range c.Assets {
		f := fmt.Sprintf("assets[%d]", i)
		m, err := parseMatch(a.Match)
		if err != nil {
			errs = append(errs, fieldErr(f+".match", "%v", err))
		} else if j, dup := seen[m]; dup {
			errs = append(errs, fieldErr(f+".match", "%q already matched by assets[%d]", a.Match, j))
		} else {
			seen[m] = i
		}
		if a.Criticality < 1 || a.Criticality > 5 {
			errs = append(errs, fieldErr(f+".criticality", "must be 1–5, got %d", a.Criticality))
		}
		switch a.Exposure {
		case "", ExposureInternet, ExposureInternal:
		default:
			errs = append(errs, fieldErr(f+".exposure", "must be %q or %q, got %q", ExposureInternet, ExposureInternal, a.Exposure))
		}
		for j, g := range a.Gateways {
			if strings.TrimSpace(g) == "" {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.gateways[%d]", f, j), "must not be empty"))
			}
		}
	}
	return errors.Join(errs...)
}
