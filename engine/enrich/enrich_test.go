package enrich

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/phantomsoc/phantomsoc/engine"
)

const inventoryYAML = `
assets:
  - match: 192.0.2.0/24
    name: dmz
    criticality: 2
    exposure: internet
    gateways: [edge1]
  - match: 192.0.2.0/28
    name: core
    criticality: 4
    exposure: internal
    gateways: [edge1, core1]
  - match: 192.0.2.10
    name: gw1
    role: bastion
    criticality: 5
    exposure: internet
    owner: netops
    gateways: [edge1]
  - match: 198.51.100.128/25
    name: lab
    criticality: 1
    exposure: internal
  - match: 2001:db8:1::/48
    name: v6net
    criticality: 3
  - match: GW2
    name: gw2
    criticality: 3
  - match: db1
    criticality: 4
`

func newTestEnricher(t testing.TB, geo GeoIPConfig) *Enricher {
	t.Helper()
	var cfg Config
	if err := yaml.UnmarshalWithOptions([]byte(inventoryYAML), &cfg, yaml.Strict()); err != nil {
		t.Fatalf("decode inventory: %v", err)
	}
	cfg.GeoIP = geo
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestAssetMatching(t *testing.T) {
	e := newTestEnricher(t, GeoIPConfig{})
	tests := []struct {
		name string
		dest string
		host string
		want string // asset name, "" for none
	}{
		{"exact address beats both prefixes", "192.0.2.10", "", "gw1"},
		{"/28 beats /24", "192.0.2.11", "", "core"},
		{"/28 lower edge", "192.0.2.0", "", "core"},
		{"/24 outside the /28", "192.0.2.16", "", "dmz"},
		{"/24 upper edge", "192.0.2.255", "", "dmz"},
		{"sibling prefix", "198.51.100.200", "", "lab"},
		{"below sibling prefix", "198.51.100.127", "", ""},
		{"unknown address", "203.0.113.9", "", ""},
		{"IPv6 prefix", "2001:db8:1::42", "", "v6net"},
		{"IPv6 outside", "2001:db8:2::1", "", ""},
		{"IPv4-mapped IPv6", "::ffff:192.0.2.10", "", "gw1"},
		{"address wins over host", "192.0.2.10", "db1", "gw1"},
		{"host fallback when address unknown", "203.0.113.9", "db1", "db1"},
		{"host fallback without address", "", "db1", "db1"},
		{"host case-insensitive", "", "Gw2", "gw2"},
		{"host FQDN first label", "", "db1.example.net", "db1"},
		{"host FQDN with capitals", "", "DB1.Example.NET", "db1"},
		{"host FQDN itself with capitals", "", "GW2.", "gw2"},
		{"unknown FQDN", "", "web9.example.net", ""},
		{"leading dot", "", ".db1", ""},
		{"unknown host", "", "web9", ""},
		{"nothing", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := engine.Event{Host: tc.host}
			if tc.dest != "" {
				ev.Dest = netip.MustParseAddr(tc.dest)
			}
			e.Enrich(&ev)
			got := ""
			if ev.Asset != nil {
				got = ev.Asset.Name
			}
			if got != tc.want {
				t.Errorf("Enrich(dest %q, host %q).Asset = %q, want %q", tc.dest, tc.host, got, tc.want)
			}
		})
	}
}

func TestAssetFields(t *testing.T) {
	e := newTestEnricher(t, GeoIPConfig{})
	a := e.Asset(netip.MustParseAddr("192.0.2.10"), "")
	want := engine.Asset{Name: "gw1", Role: "bastion", Criticality: 5, Owner: "netops", Exposure: "internet", Gateways: []string{"edge1"}}
	if fmt.Sprint(*a) != fmt.Sprint(want) {
		t.Errorf("Asset(192.0.2.10) = %+v, want %+v", *a, want)
	}
}

// TestPrefixTableManyEntries cross-checks the sorted table against a
// brute-force most-specific scan.
func TestPrefixTableManyEntries(t *testing.T) {
	var cfg Config
	for i := range 256 {
		cfg.Assets = append(cfg.Assets, AssetConfig{Match: fmt.Sprintf("198.51.100.%d", i), Criticality: 1})
	}
	for i := 0; i < 256; i += 16 {
		cfg.Assets = append(cfg.Assets, AssetConfig{Match: fmt.Sprintf("203.0.113.%d/28", i), Criticality: 2})
	}
	for i := 0; i < 256; i += 64 {
		cfg.Assets = append(cfg.Assets, AssetConfig{Match: fmt.Sprintf("203.0.113.%d/26", i), Criticality: 3})
	}
	cfg.Assets = append(cfg.Assets,
		AssetConfig{Match: "203.0.113.0/24", Criticality: 4},
		AssetConfig{Match: "203.0.113.77", Criticality: 5},
		AssetConfig{Match: "2001:db8::/32", Criticality: 4},
		AssetConfig{Match: "2001:db8::/64", Criticality: 4},
	)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	brute := func(ip netip.Addr) string {
		best := ""
		bits := -1
		for _, a := range cfg.Assets {
			m, _ := parseMatch(a.Match)
			if m.prefix.Contains(ip) && m.prefix.Bits() > bits {
				best, bits = a.Match, m.prefix.Bits()
			}
		}
		return best
	}
	var probes []netip.Addr
	for i := range 256 {
		probes = append(probes,
			netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", i)),
			netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i)),
			netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i)))
	}
	probes = append(probes, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:5::1"), netip.MustParseAddr("2001:db9::1"))
	for _, ip := range probes {
		got := ""
		if a := e.Asset(ip, ""); a != nil {
			got = a.Name
		}
		if want := brute(ip); got != want {
			t.Errorf("Asset(%s) = %q, want %q", ip, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		asset AssetConfig
		want  string
	}{
		{"empty match", AssetConfig{Criticality: 3}, "assets[0].match: must not be empty"},
		{"bad cidr", AssetConfig{Match: "192.0.2.0/33", Criticality: 3}, "assets[0].match: invalid CIDR"},
		{"host bits", AssetConfig{Match: "192.0.2.5/28", Criticality: 3}, "did you mean 192.0.2.0/28"},
		{"criticality low", AssetConfig{Match: "gw1"}, "assets[0].criticality: must be 1–5, got 0"},
		{"criticality high", AssetConfig{Match: "gw1", Criticality: 6}, "assets[0].criticality: must be 1–5, got 6"},
		{"exposure", AssetConfig{Match: "gw1", Criticality: 3, Exposure: "dmz"}, "assets[0].exposure: must be"},
		{"gateway", AssetConfig{Match: "gw1", Criticality: 3, Gateways: []string{""}}, "assets[0].gateways[0]: must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Assets: []AssetConfig{tc.asset}}
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate(%+v) = %v, want error containing %q", tc.asset, err, tc.want)
			}
		})
	}
	dup := Config{Assets: []AssetConfig{{Match: "192.0.2.1", Criticality: 1}, {Match: "192.0.2.1", Criticality: 2}}}
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "assets[1].match: \"192.0.2.1\" already matched by assets[0]") {
		t.Errorf("Validate(duplicate) = %v", err)
	}
}

func TestStrictYAML(t *testing.T) {
	var cfg Config
	err := yaml.UnmarshalWithOptions([]byte("assets:\n  - match: gw1\n    critcality: 3\n"), &cfg, yaml.Strict())
	if err == nil || !strings.Contains(err.Error(), "critcality") {
		t.Errorf("strict decode of misspelt field = %v, want unknown field error", err)
	}
}

// writeMMDB builds a tiny MaxMind DB of the given type at dir/name.
func writeMMDB(t *testing.T, dir, name, dbType string, records map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func testGeoDBs(tt *testing.T) GeoIPConfig {
	dir := tt.TempDir()
	country := func(iso string) mmdbtype.Map {
		return mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String(iso),
				"names":    mmdbtype.Map{"en": mmdbtype.String("Test " + iso)},
			},
		}
	}
	return GeoIPConfig{
		CountryDB: writeMMDB(tt, dir, "GeoLite2-Country.mmdb", "GeoLite2-Country", map[string]mmdbtype.Map{
			"203.0.113.0/24": country("NL"),
			"2001:db8::/32":  country("DE"),
			"198.51.100.0/24": {
				"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("US")},
			},
		}),
		ASNDB: writeMMDB(tt, dir, "GeoLite2-ASN.mmdb", "GeoLite2-ASN", map[string]mmdbtype.Map{
			"203.0.113.0/25": {
				"autonomous_system_number":       mmdbtype.Uint32(64500),
				"autonomous_system_organization": mmdbtype.String("Example Transit"),
			},
			"2001:db8::/32": {
				"autonomous_system_number":       mmdbtype.Uint32(64501),
				"autonomous_system_organization": mmdbtype.String("Example v6"),
			},
		}),
	}
}

func TestGeoLookup(t *testing.T) {
	e := newTestEnricher(t, testGeoDBs(t))
	tests := []struct {
		name   string
		source string
		want   *engine.Geo
	}{
		{"country and ASN", "203.0.113.7", &engine.Geo{Country: "NL", ASN: 64500, Org: "Example Transit"}},
		{"country only", "203.0.113.200", &engine.Geo{Country: "NL"}},
		{"registered country fallback", "198.51.100.9", &engine.Geo{Country: "US"}},
		{"IPv6", "2001:db8::5", &engine.Geo{Country: "DE", ASN: 64501, Org: "Example v6"}},
		{"IPv4-mapped", "::ffff:203.0.113.7", &engine.Geo{Country: "NL", ASN: 64500, Org: "Example Transit"}},
		{"not in DB", "192.0.2.1", nil},
		{"no source", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // second pass is served from the cache
				var ev engine.Event
				if tc.source != "" {
					ev.Source = netip.MustParseAddr(tc.source)
				}
				e.Enrich(&ev)
				if fmt.Sprint(ev.Geo) != fmt.Sprint(tc.want) {
					t.Errorf("Enrich(source %s).Geo = %+v, want %+v", tc.source, ev.Geo, tc.want)
				}
			}
		})
	}
}

func TestMissingGeoDB(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.mmdb")
	tests := []struct {
		name string
		geo  GeoIPConfig
		want string
	}{
		{"country", GeoIPConfig{CountryDB: missing}, "geoip.country_db: open " + missing},
		{"asn", GeoIPConfig{ASNDB: missing}, "geoip.asn_db: open " + missing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{GeoIP: tc.geo})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v, want error containing %q", tc.geo, err, tc.want)
			}
		})
	}
}

func TestEnrichNoMatchDoesNotAllocate(t *testing.T) {
	e := newTestEnricher(t, GeoIPConfig{})
	ev := engine.Event{Dest: netip.MustParseAddr("203.0.113.9"), Host: "Web9.Example.Net"}
	allocs := testing.AllocsPerRun(100, func() {
		ev.Asset = nil
		e.Enrich(&ev)
	})
	if allocs != 0 {
		t.Errorf("Enrich with no match: %v allocs, want 0", allocs)
	}
}

func BenchmarkEnrich(b *testing.B) {
	var cfg Config
	for i := range 4096 {
		cfg.Assets = append(cfg.Assets, AssetConfig{
			Match: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}).String() + "/24", Criticality: 3,
		})
	}
	cfg.Assets = append(cfg.Assets, AssetConfig{Match: "192.0.2.10", Name: "gw1", Criticality: 5}, AssetConfig{Match: "gw1", Criticality: 5})
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	evs := []engine.Event{
		{Dest: netip.MustParseAddr("192.0.2.10")},
		{Dest: netip.MustParseAddr("10.3.7.1")},
		{Host: "gw1"},
		{Dest: netip.MustParseAddr("203.0.113.9"), Host: "web9"},
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ev := &evs[n%len(evs)]
		ev.Asset = nil
		e.Enrich(ev)
		n++
	}
}

func TestEmptyInventory(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ev := engine.Event{Host: "gw1", Dest: netip.MustParseAddr("192.0.2.10")}
	e.Enrich(&ev)
	if ev.Asset != nil || ev.Geo != nil {
		t.Errorf("enriched without an inventory: %+v %+v", ev.Asset, ev.Geo)
	}
}
