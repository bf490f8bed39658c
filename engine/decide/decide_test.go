package decide

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const policyYAML = `allowlist: [192.0.2.10, 198.51.100.0/28, 2001:db8:1::/48]
rules:
  - match: {scenario: "ssh-compromise-*", propose: block, min_risk: 0}
    action: block
    ttl: 24h
    auto: false
  - match: {scenario: "ssh-brute*", min_risk: 5}
    action: block
    ttl: 4h
    auto: true
    auto_min_risk: 7
  - match: {propose: alert}
    action: alert
  - match: {propose: rate-limit}
    action: rate-limit
    ttl: 1h
    auto: true
default: {action: block, ttl: 4h, auto: true}
escalation: {multiplier: 2, max_ttl: 168h, jitter: 0.1, forget_after: 720h}
`

func newPolicy(t testing.TB, mod func(*Config)) *Policy {
	t.Helper()
	cfg, err := Parse([]byte(policyYAML), "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func alert(scenario, propose, src string, risk float64) *engine.Alert {
	a := &engine.Alert{ID: "al-1", Time: t0, Scenario: scenario, Propose: propose, Risk: risk, Confidence: 0.8}
	if src != "" {
		a.Source = netip.MustParseAddr(src)
	}
	return a
}

func TestRules(t *testing.T) {
	tests := []struct {
		name      string
		alert     *engine.Alert
		wantN     int
		action    string
		ttl       time.Duration // before jitter; checked within ±10%
		state     string
		reasonHas string
	}{
		{"first match: compromise waits for analyst", alert("ssh-compromise-root", "block", "203.0.113.7", 9), 1, "block", 24 * time.Hour, engine.StatePending, "rules[0] (scenario \"ssh-compromise-*\", propose block)"},
		{"brute force below auto_min_risk is pending", alert("ssh-bruteforce", "block", "203.0.113.8", 6), 1, "block", 4 * time.Hour, engine.StatePending, "risk 6 < auto_min_risk 7"},
		{"brute force above auto_min_risk is active", alert("ssh-bruteforce", "block", "203.0.113.9", 8), 1, "block", 4 * time.Hour, engine.StateActive, "risk 8 >= auto_min_risk 7"},
		{"min_risk skips rule to default", alert("ssh-bruteforce", "block", "203.0.113.10", 2), 1, "block", 4 * time.Hour, engine.StateActive, "no rule matched, default"},
		{"notify only", alert("ssh-scan", "alert", "203.0.113.11", 9), 0, "", 0, "", ""},
		{"rate-limit rule", alert("http-flood", "rate-limit", "203.0.113.12", 5), 1, "rate-limit", time.Hour, engine.StateActive, "rules[3]"},
		{"hostname-only source", alert("ssh-bruteforce", "block", "", 9), 0, "", 0, "", ""},
		{"IPv6 source", alert("ssh-compromise-x", "block", "2001:db8:2::7", 9), 1, "block", 24 * time.Hour, engine.StatePending, "block 2001:db8:2::7"},
		{"IPv4-mapped source", alert("ssh-compromise-x", "block", "::ffff:203.0.113.13", 9), 1, "block", 24 * time.Hour, engine.StatePending, "block 203.0.113.13"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPolicy(t, nil)
			ds := p.Decide(tc.alert)
			if len(ds) != tc.wantN {
				t.Fatalf("Decide(%s) = %d decisions %+v, want %d", tc.name, len(ds), ds, tc.wantN)
			}
			if tc.wantN == 0 {
				return
			}
			d := ds[0]
			if d.Action != tc.action || d.State != tc.state || d.Auto != (tc.state == engine.StateActive) {
				t.Errorf("decision %+v, want action %s state %s", d, tc.action, tc.state)
			}
			if lo, hi := time.Duration(float64(tc.ttl)*0.9), time.Duration(float64(tc.ttl)*1.1); d.TTL < lo || d.TTL > hi {
				t.Errorf("TTL %v, want %v ±10%%", d.TTL, tc.ttl)
			}
			if !d.Expires.Equal(d.Time.Add(d.TTL)) || !d.Time.Equal(t0) || d.Offense != 1 || d.AlertID != "al-1" || d.Risk != tc.alert.Risk || d.ID != "" {
				t.Errorf("decision fields %+v", d)
			}
			if !d.Target.IsSingleIP() || d.Target.Addr() != tc.alert.Source.Unmap() {
				t.Errorf("target %v, want single address %v", d.Target, tc.alert.Source)
			}
			if !strings.Contains(d.Reason, tc.reasonHas) {
				t.Errorf("reason %q, want it to contain %q", d.Reason, tc.reasonHas)
			}
		})
	}
}

func TestDefaultNeverUpgradesNotifyOnly(t *testing.T) {
	p := newPolicy(t, func(c *Config) { c.Rules = nil })
	if ds := p.Decide(alert("ssh-scan", "alert", "203.0.113.7", 10)); len(ds) != 0 {
		t.Errorf("default acted on a notify-only alert: %+v", ds)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		prefixes []string
		want     []string // per target: state, and a substring of the reason for refusals
	}{
		{"allowlisted address", "192.0.2.10", nil, []string{"refused:allowlist[0] 192.0.2.10"}},
		{"inside allowlisted prefix", "198.51.100.5", nil, []string{"refused:allowlist[1] 198.51.100.0/28"}},
		{"just outside allowlisted prefix", "198.51.100.16", nil, []string{"active"}},
		{"prefix containing allowlisted address", "", []string{"192.0.2.0/24"}, []string{"refused:allowlist[0] 192.0.2.10"}},
		{"campaign mixed", "", []string{"203.0.113.0/25", "198.51.100.0/24", "203.0.113.128/25"}, []string{"active", "refused:allowlist[1]", "active"}},
		{"IPv6 in allowlisted /48", "2001:db8:1::99", nil, []string{"refused:allowlist[2] 2001:db8:1::/48"}},
		{"IPv6 outside", "2001:db8:2::99", nil, []string{"active"}},
		{"loopback", "127.0.0.1", nil, []string{"refused:loopback"}},
		{"IPv6 loopback", "::1", nil, []string{"refused:loopback ::1"}},
		{"unspecified", "0.0.0.0", nil, []string{"refused:unspecified"}},
		{"link-local", "169.254.3.4", nil, []string{"refused:link-local"}},
		{"IPv6 link-local", "fe80::1", nil, []string{"refused:link-local fe80::/10"}},
		{"multicast", "224.0.0.251", nil, []string{"refused:multicast"}},
		{"everything", "", []string{"0.0.0.0/0"}, []string{"refused:unspecified"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPolicy(t, nil)
			a := alert("generic", "block", tc.source, 5)
			for _, s := range tc.prefixes {
				a.Prefixes = append(a.Prefixes, netip.MustParsePrefix(s))
			}
			ds := p.Decide(a)
			if len(ds) != len(tc.want) {
				t.Fatalf("Decide = %d decisions %+v, want %d", len(ds), ds, len(tc.want))
			}
			for i, w := range tc.want {
				state, why, _ := strings.Cut(w, ":")
				d := ds[i]
				if d.State != state || !strings.Contains(d.Reason, why) {
					t.Errorf("decision %d on %s = %s %q, want %s with %q", i, d.TargetString(), d.State, d.Reason, state, why)
				}
				if state == engine.StateRefused && (d.Auto || d.Offense != 0) {
					t.Errorf("refused decision %+v must not be auto or counted", d)
				}
			}
			if len(tc.prefixes) > 0 {
				for i, d := range ds {
					if d.Target != netip.MustParsePrefix(tc.prefixes[i]) {
						t.Errorf("decision %d target %v, want %s", i, d.Target, tc.prefixes[i])
					}
				}
			}
		})
	}
}

func TestProtectedOption(t *testing.T) {
	cfg := Defaults()
	p, err := New(cfg, Options{Protected: []Protected{{Prefix: netip.MustParsePrefix("203.0.113.1/32"), Why: "gateway edge1 management address"}}})
	if err != nil {
		t.Fatal(err)
	}
	ds := p.Decide(alert("x", "block", "203.0.113.1", 5))
	if len(ds) != 1 || ds[0].State != engine.StateRefused || !strings.Contains(ds[0].Reason, "gateway edge1 management address") {
		t.Errorf("Decide on protected address = %+v", ds)
	}
}

// run feeds one alert per offense for target src at the given times and
// returns the decisions.
func escalationRun(t *testing.T, src string, times []time.Time) []engine.Decision {
	p := newPolicy(t, nil)
	var out []engine.Decision
	for _, at := range times {
		a := alert("generic", "block", src, 5)
		a.Time = at
		ds := p.Decide(a)
		if len(ds) != 1 {
			t.Fatalf("Decide at %v = %+v, want one decision", at, ds)
		}
		out = append(out, ds[0])
	}
	return out
}

func TestEscalation(t *testing.T) {
	// Each alert comes after the previous decision expired.
	var times []time.Time
	at := t0
	for range 9 {
		times = append(times, at)
		at = at.Add(200 * time.Hour)
	}
	ds := escalationRun(t, "203.0.113.50", times)
	base := []time.Duration{4, 8, 16, 32, 64, 128, 168, 168, 168}
	for i, d := range ds {
		want := base[i] * time.Hour
		lo, hi := time.Duration(float64(want)*0.9), time.Duration(float64(want)*1.1)
		if d.Offense != i+1 || d.TTL < lo || d.TTL > hi || d.TTL%time.Second != 0 {
			t.Errorf("offense %d: got offense %d ttl %v, want %v ±10%% in whole seconds", i+1, d.Offense, d.TTL, want)
		}
		if i >= 6 && !strings.Contains(d.Reason, "capped at max_ttl 168h") {
			t.Errorf("offense %d reason %q, want cap", i+1, d.Reason)
		}
	}
	if !strings.Contains(ds[2].Reason, "4h × 2^2 = 16h, jitter ") || !strings.Contains(ds[2].Reason, "offense 3 (previous ") {
		t.Errorf("offense 3 reason %q", ds[2].Reason)
	}
	for _, d := range ds {
		t.Log(d.Reason)
	}
	again := escalationRun(t, "203.0.113.50", times)
	if !reflect.DeepEqual(ds, again) {
		t.Error("two replays of the same alerts gave different decisions")
	}
	other := escalationRun(t, "203.0.113.51", times)
	same := 0
	for i := range ds {
		if ds[i].TTL == other[i].TTL {
			same++
		}
	}
	if same == len(ds) {
		t.Error("jitter does not depend on the target")
	}
}

func TestJitterBounds(t *testing.T) {
	for i := range 2000 {
		tg := netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 32)
		if u := jitterUnit(tg, i%20+1); u < -1 || u >= 1 {
			t.Fatalf("jitterUnit(%v, %d) = %v, want [-1, 1)", tg, i%20+1, u)
		}
	}
}

func TestForgetAfter(t *testing.T) {
	times := []time.Time{t0, t0.Add(100 * time.Hour), t0.Add(100*time.Hour + 720*time.Hour), t0.Add(100*time.Hour + 720*time.Hour + 719*time.Hour)}
	ds := escalationRun(t, "203.0.113.60", times)
	want := []int{1, 2, 1, 2}
	for i, d := range ds {
		if d.Offense != want[i] {
			t.Errorf("alert %d: offense %d, want %d (%s)", i, d.Offense, want[i], d.Reason)
		}
	}
}

func TestSweepBoundsMemory(t *testing.T) {
	p := newPolicy(t, nil)
	for i := range 200 {
		a := alert("generic", "block", fmt.Sprintf("203.0.113.%d", i), 5)
		p.Decide(a)
	}
	if n := len(p.Offenders()); n != 200 {
		t.Fatalf("offenders = %d, want 200", n)
	}
	late := alert("generic", "block", "198.51.100.200", 5)
	late.Time = t0.Add(721*time.Hour + time.Minute)
	p.Decide(late)
	if got := p.Offenders(); len(got) != 1 || got[0].Target.Addr().String() != "198.51.100.200" {
		t.Errorf("after forget_after, offenders = %+v, want only the new one", got)
	}
	if len(p.recent) != 1 {
		t.Errorf("recent decisions = %d, want 1", len(p.recent))
	}
}

func TestDuplicateSuppression(t *testing.T) {
	p := newPolicy(t, nil)
	first := p.Decide(alert("generic", "block", "203.0.113.70", 5))
	if len(first) != 1 {
		t.Fatal(first)
	}
	exp := first[0].Expires
	steps := []struct {
		name   string
		at     time.Time
		action string
		want   int
	}{
		{"same action while active", t0.Add(time.Hour), "block", 0},
		{"other action is not a duplicate", t0.Add(time.Hour), "rate-limit", 1},
		{"just before expiry", exp.Add(-time.Second), "block", 0},
		{"at expiry", exp, "block", 1},
	}
	for _, s := range steps {
		a := alert("generic", s.action, "203.0.113.70", 5)
		a.Time = s.at
		ds := p.Decide(a)
		if len(ds) != s.want {
			t.Errorf("%s: Decide = %+v, want %d decisions", s.name, ds, s.want)
		}
		// Offenses count per target across actions; suppressed repeats do not count.
		if s.name == "at expiry" && len(ds) == 1 && ds[0].Offense != 3 {
			t.Errorf("%s: offense %d, want 3", s.name, ds[0].Offense)
		}
	}
	// Refusals are recorded once per TTL window as well.
	if n := len(p.Decide(alert("generic", "block", "192.0.2.10", 5))); n != 1 {
		t.Errorf("first refusal: %d decisions", n)
	}
	if n := len(p.Decide(alert("generic", "block", "192.0.2.10", 5))); n != 0 {
		t.Errorf("repeat refusal: %d decisions, want 0", n)
	}
}

func TestTrack(t *testing.T) {
	p := newPolicy(t, nil)
	tgt := netip.MustParsePrefix("203.0.113.80/32")
	p.Track([]engine.Decision{
		{Target: tgt, Action: "block", State: engine.StateActive, Expires: t0.Add(time.Hour)},
		{Target: netip.MustParsePrefix("203.0.113.81/32"), Action: "block", State: engine.StateExpired, Expires: t0.Add(time.Hour)},
	})
	if ds := p.Decide(alert("generic", "block", "203.0.113.80", 5)); len(ds) != 0 {
		t.Errorf("tracked active decision not suppressed: %+v", ds)
	}
	if ds := p.Decide(alert("generic", "block", "203.0.113.81", 5)); len(ds) != 1 {
		t.Errorf("expired decision suppressed: %+v", ds)
	}
}

func TestLoadOffendersRoundTrip(t *testing.T) {
	p := newPolicy(t, nil)
	for i, src := range []string{"2001:db8:2::1", "203.0.113.9", "198.51.100.77", "203.0.113.9"} {
		a := alert("generic", "block", src, 5)
		a.Time = t0.Add(time.Duration(i) * 10 * time.Hour)
		p.Decide(a)
	}
	saved := p.Offenders()
	wantOrder := []string{"198.51.100.77/32", "203.0.113.9/32", "2001:db8:2::1/128"}
	if len(saved) != len(wantOrder) {
		t.Fatalf("Offenders() = %+v", saved)
	}
	for i, o := range saved {
		if o.Target.String() != wantOrder[i] {
			t.Errorf("Offenders()[%d] = %v, want %s", i, o.Target, wantOrder[i])
		}
	}
	if saved[1].Count != 2 || !saved[1].Expires.Equal(saved[1].Last.Add(720*time.Hour)) {
		t.Errorf("203.0.113.9 offender = %+v, want count 2, expires last+forget_after", saved[1])
	}

	restarted := newPolicy(t, nil)
	restarted.Load(saved)
	if got := restarted.Offenders(); !reflect.DeepEqual(got, saved) {
		t.Errorf("Load/Offenders round trip:\n got %+v\nwant %+v", got, saved)
	}
	a := alert("generic", "block", "203.0.113.9", 5)
	a.Time = t0.Add(100 * time.Hour)
	ds := restarted.Decide(a)
	if len(ds) != 1 || ds[0].Offense != 3 {
		t.Errorf("after restart: %+v, want offense 3", ds)
	}

	fresh := newPolicy(t, nil)
	fresh.Load([]engine.Offender{{Target: netip.MustParsePrefix("203.0.113.5/32"), Count: 4, Last: t0}, {Count: 3}})
	got := fresh.Offenders()
	if len(got) != 1 || !got[0].Expires.Equal(t0.Add(720*time.Hour)) {
		t.Errorf("Load without Expires = %+v", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"allowlist entry", func(c *Config) { c.Allowlist = []string{"192.0.2.1", "not-an-ip"} }, `policy.allowlist[1]: "not-an-ip" is neither an address nor a CIDR`},
		{"rule ttl", func(c *Config) {
			c.Rules = []Rule{{Verdict: Verdict{Action: "alert"}}, {Verdict: Verdict{Action: "block"}}}
		}, "policy.rules[1].ttl: must be > 0"},
		{"rule action", func(c *Config) { c.Rules = []Rule{{Verdict: Verdict{Action: "nuke", TTL: time.Hour}}} }, `policy.rules[0].action: unknown action "nuke"`},
		{"propose", func(c *Config) { c.Rules = []Rule{{Match: Match{Propose: "nuke"}, Verdict: Verdict{Action: "alert"}}} }, `policy.rules[0].match.propose: unknown action "nuke"`},
		{"glob", func(c *Config) {
			c.Rules = []Rule{{Match: Match{Scenario: "ssh-["}, Verdict: Verdict{Action: "alert"}}}
		}, `policy.rules[0].match.scenario: bad glob "ssh-["`},
		{"min_risk", func(c *Config) { c.Rules = []Rule{{Match: Match{MinRisk: 11}, Verdict: Verdict{Action: "alert"}}} }, "policy.rules[0].match.min_risk: must be 0–10"},
		{"auto_min_risk without auto", func(c *Config) {
			c.Rules = []Rule{{Verdict: Verdict{Action: "block", TTL: time.Hour, AutoMinRisk: 5}}}
		}, "policy.rules[0].auto_min_risk: needs auto: true"},
		{"default ttl", func(c *Config) { c.Default.TTL = 0 }, "policy.default.ttl: must be > 0"},
		{"multiplier", func(c *Config) { c.Escalation.Multiplier = 0.5 }, "policy.escalation.multiplier: must be >= 1"},
		{"max_ttl", func(c *Config) { c.Escalation.MaxTTL = 0 }, "policy.escalation.max_ttl: must be > 0"},
		{"jitter", func(c *Config) { c.Escalation.Jitter = 0.9 }, "policy.escalation.jitter: must be 0–0.5"},
		{"forget_after", func(c *Config) { c.Escalation.ForgetAfter = -time.Hour }, "policy.escalation.forget_after: must be > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
			if _, err := New(c, Options{}); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each must appear in the error
	}{
		{"unknown field", "rules:\n  - match: {scenario: x}\n    actoin: block\n", []string{"p.yaml:3:5:", "actoin"}},
		{"bad duration", "default: {action: block, ttl: 4 hours}\n", []string{"p.yaml:1:31: default.ttl: invalid duration \"4 hours\""}},
		{"bad rule duration", "rules:\n  - action: block\n    ttl: 1d\n", []string{"p.yaml:3:10: rules[0].ttl: invalid duration"}},
		{"missing ttl points at its rule", "rules:\n  - match: {scenario: x}\n    action: alert\n  - match: {scenario: y}\n    action: block\n", []string{"p.yaml:4:", "rules[1].ttl: must be > 0"}},
		{"bad ttl value", "rules:\n  - action: block\n    ttl: -1h\n", []string{"p.yaml:3:10: rules[0].ttl: must be > 0"}},
		{"allowlist entry", "allowlist:\n  - 192.0.2.1\n  - 192.0.2.300\n", []string{"p.yaml:3:5: allowlist[1]", "192.0.2.300"}},
		{"several errors", "escalation: {multiplier: 0}\ndefault: {action: nuke, ttl: 1h}\n", []string{"p.yaml:1:26: escalation.multiplier", "p.yaml:2:19: default.action"}},
		{"not a mapping", "- 1\n- 2\n", []string{"p.yaml:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "p.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) = nil error", tc.src)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) = %v, want it to contain %q", tc.src, err, w)
				}
			}
		})
	}
	cfg, err := Parse([]byte(policyYAML), "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 4 || cfg.Rules[1].AutoMinRisk != 7 || cfg.Rules[0].TTL != 24*time.Hour || cfg.Escalation.ForgetAfter != 720*time.Hour || len(cfg.Allowlist) != 3 {
		t.Errorf("Parse(policyYAML) = %+v", cfg)
	}
	for _, src := range []string{"", "# nothing\n", "---\n", "null\n"} {
		got, err := Parse([]byte(src), "empty.yaml")
		if err != nil || !reflect.DeepEqual(got, Defaults()) {
			t.Errorf("Parse(%q) = %+v, %v; want Defaults()", src, got, err)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(policyYAML))
	f.Add([]byte("allowlist: [192.0.2.1/33, '::ffff:192.0.2.0/100', fe80::1%eth0]\n"))
	f.Add([]byte("rules:\n  - match: {scenario: '[', min_risk: .nan}\n    ttl: 9999999999h\n"))
	f.Add([]byte("escalation: {multiplier: 1e308, max_ttl: 1ns, jitter: 0.5}\n"))
	f.Add([]byte("default: &a {action: block}\nrules: [*a]\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error without file name: %v", err)
			}
			return
		}
		p, err := New(cfg, Options{})
		if err != nil {
			t.Fatalf("Parse accepted a config New rejects: %v", err)
		}
		for _, src := range []string{"203.0.113.1", "192.0.2.10", "2001:db8::1"} {
			a := alert("ssh-compromise-x", "block", src, 9)
			for i := range 3 {
				a.Time = t0.Add(time.Duration(i) * 1000 * time.Hour)
				for _, d := range p.Decide(a) {
					if d.TTL <= 0 || !d.Target.IsValid() {
						t.Fatalf("bad decision %+v", d)
					}
				}
			}
		}
	})
}

func BenchmarkDecide(b *testing.B) {
	p := newPolicy(b, nil)
	a := alert("ssh-bruteforce", "block", "203.0.113.1", 8)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		a.Source = netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		a.Time = t0.Add(time.Duration(i) * time.Second)
		p.Decide(a)
	}
}

func TestMappedPrefixCannotDodgeGuards(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, target := range []string{"::ffff:0:0/95", "::ffff:127.0.0.0/104", "::/1"} {
		p, err := New(Defaults(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := engine.Alert{ID: "al-1", Time: at, Scenario: "x", Propose: engine.ActionBlock,
			Prefixes: []netip.Prefix{netip.MustParsePrefix(target)}, Risk: 5}
		ds := p.Decide(&a)
		if len(ds) != 1 {
			t.Fatalf("Decide(%s) = %d decisions, want 1", target, len(ds))
		}
		for _, d := range ds {
			if d.State != engine.StateRefused {
				t.Errorf("decision on %s = %s (%s), want refused", target, d.State, d.Reason)
			}
		}
	}
}

func TestJitterNeverPassesMaxTTL(t *testing.T) {
	cfg := Defaults()
	cfg.Default.TTL = 4 * time.Hour
	cfg.Escalation.Multiplier = 4
	cfg.Escalation.MaxTTL = 24 * time.Hour
	cfg.Escalation.Jitter = 0.5
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 8)})
		a := engine.Alert{ID: "al", Time: at.Add(time.Duration(i) * 30 * time.Hour), Scenario: "x", Propose: engine.ActionBlock, Source: src, Risk: 5}
		for _, d := range p.Decide(&a) {
			if d.TTL > cfg.Escalation.MaxTTL {
				t.Fatalf("offense %d of %s: ttl %v > max_ttl %v (%s)", d.Offense, src, d.TTL, cfg.Escalation.MaxTTL, d.Reason)
			}
		}
	}
}
