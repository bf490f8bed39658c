// Package enrich attaches inventory (asset) and GeoIP/ASN context to events.
package enrich

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/phantomsoc/phantomsoc/engine"
)

// geoCacheMax bounds the per-source GeoIP cache; when full it is cleared, so
// memory stays bounded under a scan from many addresses.
const geoCacheMax = 1 << 16

// Enricher implements engine.Enricher. The *engine.Asset values it attaches
// are shared between events and must be treated as read-only.
type Enricher struct {
	// prefixes is sorted by (address, bits); parent[i] is the index of the
	// most specific other entry containing prefixes[i], or -1.
	prefixes []prefixEntry
	hosts    map[string]*engine.Asset

	country *maxminddb.Reader
	asn     *maxminddb.Reader

	mu       sync.Mutex
	geoCache map[netip.Addr]*engine.Geo
}

type prefixEntry struct {
	prefix netip.Prefix
	asset  *engine.Asset
	parent int
}

// New validates cfg, builds the lookup tables and opens the GeoIP databases.
func New(cfg Config) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Enricher{hosts: make(map[string]*engine.Asset)}
	for _, ac := range cfg.Assets {
		m, _ := parseMatch(ac.Match) // validated above
		name := ac.Name
		if name == "" {
			name = strings.TrimSpace(ac.Match)
		}
		a := &engine.Asset{
			Name:        name,
			Role:        ac.Role,
			Criticality: ac.Criticality,
			Owner:       ac.Owner,
			Exposure:    ac.Exposure,
			Gateways:    slices.Clone(ac.Gateways),
		}
		if m.prefix.IsValid() {
			e.prefixes = append(e.prefixes, prefixEntry{prefix: m.prefix, asset: a})
		} else {
			e.hosts[m.host] = a
		}
	}
	e.buildPrefixTable()

	var err error
	if p := cfg.GeoIP.CountryDB; p != "" {
		if e.country, err = maxminddb.Open(p); err != nil {
			return nil, fmt.Errorf("geoip.country_db: open %s: %w", p, err)
		}
	}
	if p := cfg.GeoIP.ASNDB; p != "" {
		if e.asn, err = maxminddb.Open(p); err != nil {
			e.Close()
			return nil, fmt.Errorf("geoip.asn_db: open %s: %w", p, err)
		}
	}
	if e.country != nil || e.asn != nil {
		e.geoCache = make(map[netip.Addr]*engine.Geo)
	}
	return e, nil
}

func (e *Enricher) buildPrefixTable() {
	slices.SortFunc(e.prefixes, func(a, b prefixEntry) int {
		if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.prefix.Bits(), b.prefix.Bits())
	})
	// Prefixes nest or are disjoint, so a stack of open ancestors yields
	// each entry's closest container.
	var stack []int
	for i := range e.prefixes {
		p := e.prefixes[i].prefix
		for len(stack) > 0 && !contains(e.prefixes[stack[len(stack)-1]].prefix, p) {
			stack = stack[:len(stack)-1]
		}
		e.prefixes[i].parent = -1
		if len(stack) > 0 {
			e.prefixes[i].parent = stack[len(stack)-1]
		}
		stack = append(stack, i)
	}
}

// contains reports whether outer covers all of inner.
func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// Close releases the GeoIP databases.
func (e *Enricher) Close() error {
	var err error
	if e.country != nil {
		err = e.country.Close()
		e.country = nil
	}
	if e.asn != nil {
		if cerr := e.asn.Close(); err == nil {
			err = cerr
		}
		e.asn = nil
	}
	return err
}

// Enrich sets ev.Asset (by destination address, most specific match, else
// by host name) and ev.Geo (by source address) when they are found. It
// leaves fields that are already set alone.
func (e *Enricher) Enrich(ev *engine.Event) {
	if ev.Asset == nil {
		ev.Asset = e.Asset(ev.Dest, ev.Host)
	}
	if ev.Geo == nil && ev.Source.IsValid() && e.geoCache != nil {
		ev.Geo = e.geo(ev.Source.Unmap())
	}
}

// Asset returns the inventory entry for dest (most specific prefix) or, when
// none matches, for host; nil when neither is known. It does not allocate.
func (e *Enricher) Asset(dest netip.Addr, host string) *engine.Asset {
	if dest.IsValid() {
		if a := e.byAddr(dest.Unmap()); a != nil {
			return a
		}
	}
	if host != "" {
		return e.byHost(host)
	}
	return nil
}

func (e *Enricher) byAddr(ip netip.Addr) *engine.Asset {
	if len(e.prefixes) == 0 {
		return nil
	}
	// The last entry starting at or before ip is either the answer or nested
	// inside it, so the answer is on its chain of containers.
	i, _ := slices.BinarySearchFunc(e.prefixes, ip, func(pe prefixEntry, ip netip.Addr) int {
		if c := pe.prefix.Addr().Compare(ip); c != 0 {
			return c
		}
		return -1 // entries starting exactly at ip sort before it
	})
	for i--; i >= 0; i = e.prefixes[i].parent {
		if e.prefixes[i].prefix.Contains(ip) {
			return e.prefixes[i].asset
		}
	}
	return nil
}

// byHost matches case-insensitively, and an FQDN by its first label when the
// full name is not in the inventory ("gw1.example.net" → "gw1").
func (e *Enricher) byHost(host string) *engine.Asset {
	// Every event asks, most of them about the same host or with no
	// inventory at all: the common answers must cost a lookup at most.
	if len(e.hosts) == 0 {
		return nil
	}
	if a, ok := e.hosts[host]; ok {
		return a
	}
	upper, dot := false, -1
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '.' && dot < 0:
			dot = i
		}
	}
	if !upper {
		if dot <= 0 {
			return nil
		}
		return e.hosts[host[:dot]]
	}
	var buf [256]byte
	if len(host) > len(buf) {
		return nil
	}
	b := buf[:len(host)]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if a, ok := e.hosts[string(b)]; ok { // no allocation: map index by converted bytes
		return a
	}
	if dot <= 0 {
		return nil
	}
	return e.hosts[string(b[:dot])]
}

// geoRecord is the subset of GeoLite2-Country and GeoLite2-ASN records used.
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
}

func (e *Enricher) geo(ip netip.Addr) *engine.Geo {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.geoCache[ip]; ok {
		return g
	}
	var g engine.Geo
	if e.country != nil {
		var r geoRecord
		if res := e.country.Lookup(ip); res.Found() && res.Decode(&r) == nil {
			g.Country = cmp.Or(r.Country.ISOCode, r.RegisteredCountry.ISOCode)
		}
	}
	if e.asn != nil {
		var r geoRecord
		if res := e.asn.Lookup(ip); res.Found() && res.Decode(&r) == nil {
			g.ASN, g.Org = r.ASN, r.Org
		}
	}
	var out *engine.Geo
	if g != (engine.Geo{}) {
		out = &g
	}
	if len(e.geoCache) >= geoCacheMax {
		clear(e.geoCache)
	}
	e.geoCache[ip] = out
	return out
}
