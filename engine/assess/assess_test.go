package assess

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/phantomsoc/phantomsoc/engine"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	gw1 = &engine.Asset{Name: "gw1", Role: "bastion", Criticality: 5, Exposure: "internet", Gateways: []string{"edge1"}}
	db1 = &engine.Asset{Name: "db1", Criticality: 4, Exposure: "internal", Gateways: []string{"core1", "edge1"}}
	lab = &engine.Asset{Name: "lab3", Role: "lab", Criticality: 1, Exposure: "internal"}
)

func newAssessor(t testing.TB) *Assessor {
	t.Helper()
	s, err := New(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// compromise is a brute force on a crown-jewel internet host that ends in an
// accepted login.
func compromise() engine.Alert {
	src := netip.MustParseAddr("198.51.100.7")
	a := engine.Alert{
		Time: t0.Add(3*time.Minute + 12*time.Second), First: t0,
		Scenario: "ssh-compromise", Severity: 9, Source: src, Key: src.String(),
		Count: 42, Propose: engine.ActionBlock,
	}
	for i := range 12 {
		a.Evidence = append(a.Evidence, engine.Event{
			Time: t0.Add(time.Duration(i) * time.Second), Type: engine.TypeSSHInvalidUser, Indicator: true,
			Source: src, User: fmt.Sprintf("user%02d", i), Host: "gw1", Asset: gw1, Count: 3,
		})
	}
	a.Evidence = append(a.Evidence, engine.Event{
		Time: a.Time, Type: engine.TypeSSHAuthSuccess, Source: src, User: "root", Host: "gw1", Asset: gw1,
	})
	return a
}

// scannerNoise is a handful of probes against an internal lab box.
func scannerNoise() engine.Alert {
	src := netip.MustParseAddr("203.0.113.5")
	return engine.Alert{
		Time: t0.Add(time.Minute), First: t0, Scenario: "ssh-scan", Severity: 3,
		Source: src, Key: src.String(), Count: 3, Propose: engine.ActionAlert,
		Evidence: []engine.Event{
			{Time: t0, Type: engine.TypeSSHNegotiation, Source: src, Host: "lab3", Asset: lab},
			{Time: t0.Add(time.Minute), Type: engine.TypeSSHPreauthClose, Source: src, Host: "lab3", Asset: lab, Count: 2},
		},
	}
}

func TestRiskOrdering(t *testing.T) {
	s := newAssessor(t)
	hi, lo := compromise(), scannerNoise()
	s.Assess(&hi)
	s.Assess(&lo)
	if !(hi.Risk > lo.Risk) {
		t.Fatalf("compromise risk %v <= scanner noise risk %v\n%s\n%s", hi.Risk, lo.Risk, Explain(hi), Explain(lo))
	}
	if hi.Risk < 8 || lo.Risk > 3 {
		t.Errorf("risk compromise %v, noise %v; want >= 8 and <= 3", hi.Risk, lo.Risk)
	}
	if !(hi.Confidence > lo.Confidence) {
		t.Errorf("confidence compromise %v <= noise %v", hi.Confidence, lo.Confidence)
	}
	wantWhy := map[string]string{
		FactorSeverity:    "scenario ssh-compromise base severity 9.0/10",
		FactorCriticality: "asset gw1 (bastion) criticality 5/5",
		FactorExposure:    "asset gw1 (bastion) is internet-facing",
		FactorCompromise:  "a login succeeded after 36 failed attempts",
		FactorClamp:       "clamped to 10",
	}
	for name, why := range wantWhy {
		f, ok := find(hi.Factors, name)
		if !ok || !strings.Contains(f.Why, why) {
			t.Errorf("factor %s = %+v, want Why containing %q", name, f, why)
		}
	}
	wantReason := map[string]string{
		ReasonVolume:     "42 events in 3m12s, 13 distinct users",
		ReasonUsers:      "13 distinct user names",
		ReasonInvalid:    "36 of 36 attempts (100%) named users that do not exist",
		ReasonSource:     "source 198.51.100.7 logged as an address",
		ReasonCompromise: "login accepted for root after 36 failed attempts",
	}
	for name, why := range wantReason {
		f, ok := find(hi.Reasons, name)
		if !ok || !strings.Contains(f.Why, why) {
			t.Errorf("reason %s = %+v, want Why containing %q", name, f, why)
		}
	}
	if f, _ := find(lo.Factors, FactorCriticality); !strings.Contains(f.Why, "lab3 (lab) criticality 1/5") {
		t.Errorf("noise criticality factor = %+v", f)
	}
	if f, _ := find(lo.Factors, FactorExposure); f.Value != Defaults().Exposure.Internal {
		t.Errorf("noise exposure factor = %+v, want internal", f)
	}
}

func find(fs []engine.Factor, name string) (engine.Factor, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return engine.Factor{}, false
}

func TestClampAndRounding(t *testing.T) {
	s := newAssessor(t)
	tests := []struct {
		name      string
		alert     engine.Alert
		wantRisk  float64
		wantClamp bool
	}{
		{"above 10 clamps", engine.Alert{Severity: 15, Source: netip.MustParseAddr("192.0.2.1"), Count: 100,
			Evidence: []engine.Event{{Asset: gw1, Type: engine.TypeIDSAlert, Severity: 1}}}, 10, true},
		{"negative severity clamps to 0", engine.Alert{Severity: -3, Source: netip.MustParseAddr("192.0.2.1")}, 0, false},
		{"NaN severity", engine.Alert{Severity: math.NaN(), Source: netip.MustParseAddr("192.0.2.1")}, 0, false},
		{"zero count no evidence", engine.Alert{Severity: 5}, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.alert
			s.Assess(&a)
			if a.Risk != tc.wantRisk {
				t.Errorf("Assess(%s).Risk = %v, want %v\n%s", tc.name, a.Risk, tc.wantRisk, Explain(a))
			}
			if _, ok := find(a.Factors, FactorClamp); ok != tc.wantClamp {
				t.Errorf("Assess(%s) clamp factor present = %v, want %v", tc.name, ok, tc.wantClamp)
			}
			if a.Confidence < 0 || a.Confidence > 1 || a.Confidence != math.Round(a.Confidence*100)/100 {
				t.Errorf("Assess(%s).Confidence = %v, want 0–1 with two decimals", tc.name, a.Confidence)
			}
			if a.Risk != math.Round(a.Risk*10)/10 {
				t.Errorf("Assess(%s).Risk = %v, want one decimal", tc.name, a.Risk)
			}
		})
	}
}

func TestConfidenceSignals(t *testing.T) {
	s := newAssessor(t)
	base := func() engine.Alert {
		return engine.Alert{Severity: 5, Source: netip.MustParseAddr("192.0.2.9"), Count: 5}
	}
	hostOnly := base()
	hostOnly.Source = netip.Addr{}
	hostOnly.Evidence = []engine.Event{{Type: engine.TypeSSHAuthFailure, SourceHost: "dyn.example.net"}}
	ids := base()
	ids.Evidence = []engine.Event{{Type: engine.TypeIDSAlert, Severity: 1, Signature: "ET SCAN test"}}
	few := base()
	few.Count = 1
	tests := []struct {
		name   string
		alert  engine.Alert
		reason string
		why    string
		cmp    int // sign of confidence − base confidence
	}{
		{"hostname-only source lowers", hostOnly, ReasonSource, `host name "dyn.example.net"`, -1},
		{"IDS severity 1 raises", ids, ReasonIDS, "IDS severity 1 (1 is highest): ET SCAN test", 1},
		{"below threshold lowers", few, ReasonVolume, "below the usual threshold of 5", -1},
	}
	ref := base()
	s.Assess(&ref)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.alert
			s.Assess(&a)
			f, ok := find(a.Reasons, tc.reason)
			if !ok || !strings.Contains(f.Why, tc.why) {
				t.Errorf("reason %s = %+v, want Why containing %q", tc.reason, f, tc.why)
			}
			d := a.Confidence - ref.Confidence
			if (tc.cmp < 0 && d >= 0) || (tc.cmp > 0 && d <= 0) {
				t.Errorf("confidence %v vs reference %v, want sign %d", a.Confidence, ref.Confidence, tc.cmp)
			}
		})
	}
	label := base()
	label.Count = 20
	label.Labels = map[string]string{"threshold": "20"}
	s.Assess(&label)
	if f, _ := find(label.Reasons, ReasonVolume); !strings.Contains(f.Why, "1.0× the threshold of 20") {
		t.Errorf("threshold label: volume reason = %+v", f)
	}
}

func TestBlastRadius(t *testing.T) {
	s := newAssessor(t)
	tests := []struct {
		name  string
		alert engine.Alert
		want  engine.BlastRadius
	}{
		{"single source", engine.Alert{Source: netip.MustParseAddr("198.51.100.7"), Users: []string{"root", "admin", "root"},
			Evidence: []engine.Event{{Asset: gw1, User: "oracle"}, {Asset: db1}, {Asset: gw1}}},
			engine.BlastRadius{Assets: []string{"db1", "gw1"}, Users: []string{"admin", "oracle", "root"}, Gateways: []string{"core1", "edge1"}, Addresses: 1}},
		{"campaign prefixes", engine.Alert{Prefixes: []netip.Prefix{
			netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.128/25"), netip.MustParsePrefix("192.0.2.7/32")}, Sources: 40},
			engine.BlastRadius{Addresses: 256 + 128 + 1}},
		{"IPv6 /64 saturates", engine.Alert{Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/64"), netip.MustParsePrefix("2001:db8:1::/120")}},
			engine.BlastRadius{Addresses: math.MaxUint64}},
		{"IPv6 /65 plus /65 saturates", engine.Alert{Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/65"), netip.MustParsePrefix("2001:db8:0:0:8000::/65")}},
			engine.BlastRadius{Addresses: math.MaxUint64}},
		{"IPv6 /96", engine.Alert{Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/96")}},
			engine.BlastRadius{Addresses: 1 << 32}},
		{"hostname only", engine.Alert{}, engine.BlastRadius{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.alert
			s.Assess(&a)
			if !reflect.DeepEqual(a.Blast, tc.want) {
				t.Errorf("Assess(%s).Blast = %+v, want %+v", tc.name, a.Blast, tc.want)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	s := newAssessor(t)
	a, b := compromise(), compromise()
	s.Assess(&a)
	s.Assess(&b)
	if !reflect.DeepEqual(a, b) || Explain(a) != Explain(b) {
		t.Error("two assessments of the same alert differ")
	}
}

func TestExplain(t *testing.T) {
	s := newAssessor(t)
	a := compromise()
	a.ID = "al-00000007"
	s.Assess(&a)
	out := Explain(a)
	t.Log("\n" + out)
	for _, want := range []string{
		"alert al-00000007: ssh-compromise at 2026-03-01T12:03:12Z",
		"risk 10.0/10 = product of:",
		"criticality",
		"asset gw1 (bastion) criticality 5/5",
		"confidence " + num(a.Confidence, 2) + " = sum of:",
		"42 events in 3m12s",
		"addresses 1 (198.51.100.7)",
		"assets    1: gw1",
		"gateways  1: edge1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Explain missing %q:\n%s", want, out)
		}
	}
	for _, f := range append(a.Factors, a.Reasons...) {
		if !strings.Contains(out, f.Why) {
			t.Errorf("Explain misses factor %s (%q)", f.Name, f.Why)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"criticality length", func(c *Config) { c.Criticality = c.Criticality[:3] }, "assess.criticality: must list 5 factors"},
		{"criticality value", func(c *Config) { c.Criticality[2] = 0 }, "assess.criticality[2]: must be > 0"},
		{"unknown criticality", func(c *Config) { c.UnknownCriticality = 9 }, "assess.unknown_criticality: must be 1–5, got 9"},
		{"exposure", func(c *Config) { c.Exposure.Internet = -1 }, "assess.exposure.internet: must be > 0"},
		{"compromise", func(c *Config) { c.Compromise = 0.5 }, "assess.compromise: must be >= 1"},
		{"floor", func(c *Config) { c.ConfidenceFloor = 2 }, "assess.confidence_floor: must be 0–1"},
		{"base", func(c *Config) { c.BaseConfidence = -0.1 }, "assess.base_confidence: must be 0–1"},
		{"threshold", func(c *Config) { c.Threshold = 0 }, "assess.threshold: must be >= 1"},
		{"thresholds", func(c *Config) { c.Thresholds = map[string]int{"ssh-brute": 0} }, "assess.thresholds.ssh-brute: must be >= 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
	if c := Defaults(); c.Validate() != nil {
		t.Errorf("Defaults().Validate() = %v", c.Validate())
	}
}

func TestYAML(t *testing.T) {
	c := Defaults()
	src := "criticality: [0.5, 0.75, 1, 1.25, 1.5]\nexposure: {internet: 1.5}\nthresholds: {ssh-brute: 10}\n"
	if err := yaml.UnmarshalWithOptions([]byte(src), &c, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if c.Exposure.Internet != 1.5 || c.Exposure.Internal != 0.8 || c.Thresholds["ssh-brute"] != 10 || c.Criticality[4] != 1.5 {
		t.Errorf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if err := yaml.UnmarshalWithOptions([]byte("exposur: {}\n"), &c, yaml.Strict()); err == nil {
		t.Error("strict decode accepted unknown field exposur")
	}
}

func BenchmarkAssess(b *testing.B) {
	s := newAssessor(b)
	tmpl := compromise()
	b.ReportAllocs()
	for b.Loop() {
		a := tmpl
		s.Assess(&a)
	}
}
