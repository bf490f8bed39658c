package detect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phantomsoc/phantomsoc/engine"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.json from the current output")

// wantAlert is what a case golden pins of an alert: the fields that matter
// for a decision, not the evidence sample.
type wantAlert struct {
	Time     time.Time      `json:"time"`
	First    time.Time      `json:"first"`
	Scenario string         `json:"scenario"`
	Key      string         `json:"key"`
	Source   netip.Addr     `json:"source"`
	Prefixes []netip.Prefix `json:"prefixes,omitempty"`
	Sources  int            `json:"sources"`
	Count    int            `json:"count"`
	Users    []string       `json:"users,omitempty"`
	Propose  string         `json:"propose"`
	Severity float64        `json:"severity"`
	Evidence int            `json:"evidence"`
}

func summarize(as []engine.Alert) []wantAlert {
	out := []wantAlert{}
	for _, a := range as {
		out = append(out, wantAlert{
			Time: a.Time, First: a.First, Scenario: a.Scenario, Key: a.Key, Source: a.Source,
			Prefixes: a.Prefixes, Sources: a.Sources, Count: a.Count, Users: a.Users,
			Propose: a.Propose, Severity: a.Severity, Evidence: len(a.Evidence),
		})
	}
	return out
}

func readEvents(t testing.TB, name string) []engine.Event {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []engine.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var ev engine.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

func defaultDetector(t testing.TB) *Detector {
	t.Helper()
	scs, err := LoadDefaults()
	if err != nil {
		t.Fatalf("LoadDefaults() = %v", err)
	}
	d, err := New(scs, Options{})
	if err != nil {
		t.Fatalf("New(defaults) = %v", err)
	}
	return d
}

func run(d *Detector, evs []engine.Event) []engine.Alert {
	var out []engine.Alert
	for i := range evs {
		out = append(out, d.Observe(&evs[i], nil)...)
	}
	return out
}

func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/input.jsonl")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			evs := readEvents(t, in)
			got := summarize(run(defaultDetector(t), evs))
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON = append(gotJSON, '\n')
			wantFile := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantFile, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantJSON, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test ./engine/detect -run TestCases -update)", err)
			}
			var want []wantAlert
			if err := json.Unmarshal(wantJSON, &want); err != nil {
				t.Fatalf("%s: %v", wantFile, err)
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("alerts for %s (-want +got):\n%s", in, diff)
			}
		})
	}
}

// TestCampaignPrefixes pins the campaign case independently of the golden:
// exactly the three dense groups' covering prefixes, nothing for the sparse
// IPv6 sources or the loud source in a dense /24.
func TestCampaignPrefixes(t *testing.T) {
	tests := []struct {
		name string
		want []netip.Prefix
	}{
		{"campaign-ipv4", []netip.Prefix{
			netip.MustParsePrefix("192.0.2.200/29"),
			netip.MustParsePrefix("198.51.100.64/28"),
			netip.MustParsePrefix("203.0.113.16/28"),
		}},
		{"campaign-ipv6", []netip.Prefix{
			netip.MustParsePrefix("2001:db8:10::/125"),
			netip.MustParsePrefix("2001:db8:20:ff00::10/124"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := readEvents(t, filepath.Join("testdata", tc.name, "input.jsonl"))
			var camp []engine.Alert
			for _, a := range run(defaultDetector(t), evs) {
				if a.Scenario == "ssh-distributed-bruteforce" {
					camp = append(camp, a)
				}
			}
			if len(camp) != 1 {
				t.Fatalf("campaign alerts = %d, want 1", len(camp))
			}
			a := camp[0]
			if diff := cmp.Diff(tc.want, a.Prefixes, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("prefixes (-want +got):\n%s", diff)
			}
			if a.Source.IsValid() {
				t.Errorf("Source = %v, want invalid for a campaign", a.Source)
			}
			if a.Sources < 20 {
				t.Errorf("Sources = %d, want >= 20", a.Sources)
			}
		})
	}
}

// TestNoAlerts: legitimate use must never fire anything.
func TestNoAlerts(t *testing.T) {
	for _, name := range []string{"legit-typos", "legit-daily-typo", "compromise-typos", "reset-on-success"} {
		t.Run(name, func(t *testing.T) {
			evs := readEvents(t, filepath.Join("testdata", name, "input.jsonl"))
			if got := run(defaultDetector(t), evs); len(got) != 0 {
				t.Errorf("alerts = %+v, want none", summarize(got))
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/input.jsonl")
	var all []engine.Event
	for _, in := range dirs {
		all = append(all, readEvents(t, in)...)
	}
	// One stream of every case, interleaved by time, exercises maps with
	// many keys at once.
	sortEvents(all)
	outputs := make([][]byte, 2)
	for i := range outputs {
		b, err := json.Marshal(run(defaultDetector(t), all))
		if err != nil {
			t.Fatal(err)
		}
		outputs[i] = b
	}
	if !bytes.Equal(outputs[0], outputs[1]) {
		t.Errorf("two runs over the same events differ")
	}
}

func sortEvents(evs []engine.Event) {
	slices.SortStableFunc(evs, func(a, b engine.Event) int { return a.Time.Compare(b.Time) })
}

func TestGarbageCollection(t *testing.T) {
	d := defaultDetector(t)
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 1000 {
		ev := engine.Event{
			Time:   base.Add(time.Duration(i) * time.Second),
			Type:   engine.TypeSSHAuthFailure,
			Source: netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 250)}),
			Host:   "gw1",
			User:   "root",
		}
		if i%2 == 0 {
			ev.Source = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(i >> 8), 0, byte(i), 15: 1})
		}
		d.Observe(&ev, nil)
	}
	if d.Keys() == 0 {
		t.Fatal("Keys() = 0 after 1000 failures, want state")
	}
	// A day of quiet: every window (12h at most) and blackhole has passed.
	quiet := engine.Event{Time: base.Add(25 * time.Hour), Type: engine.TypeSSHOther, Host: "gw1"}
	d.Observe(&quiet, nil)
	if got := d.Keys(); got != 0 {
		t.Errorf("Keys() after a quiet day = %d, want 0", got)
	}
}

func TestTrace(t *testing.T) {
	d := defaultDetector(t)
	evs := readEvents(t, filepath.Join("testdata", "ssh-bruteforce", "input.jsonl"))
	var fired bool
	for i := range evs {
		var tr engine.Trace
		as := d.Observe(&evs[i], &tr)
		if len(tr.Feeds) == 0 {
			t.Fatalf("event %d: no feeds traced", i)
		}
		for _, f := range tr.Feeds {
			if f.Scenario == "ssh-bruteforce" {
				if f.Capacity != 6 || f.Key != "203.0.113.10" {
					t.Errorf("feed = %+v, want capacity 6, key 203.0.113.10", f)
				}
				if f.Fired {
					fired = true
					if len(as) == 0 {
						t.Errorf("feed fired but no alert returned")
					}
				}
			}
		}
	}
	if !fired {
		t.Error("no feed of ssh-bruteforce fired")
	}
}

func TestEventCount(t *testing.T) {
	d := defaultDetector(t)
	ev := engine.Event{
		Time: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Type: engine.TypeSSHAuthFailure,
		Source: netip.MustParseAddr("192.0.2.9"), User: "root", Count: 6,
		Raw: "message repeated 6 times: [ Failed password for root from 192.0.2.9 port 22 ssh2]",
	}
	as := d.Observe(&ev, nil)
	if len(as) != 1 || as[0].Scenario != "ssh-bruteforce" || as[0].Count != 6 {
		t.Fatalf("Observe(count 6) = %+v, want one ssh-bruteforce alert with count 6", summarize(as))
	}
	if as[0].Evidence[0].Raw != ev.Raw {
		t.Errorf("evidence Raw = %q, want %q", as[0].Evidence[0].Raw, ev.Raw)
	}
	if as[0].ID != "" {
		t.Errorf("ID = %q, want empty (the engine assigns it)", as[0].ID)
	}
}

func TestMaxEvidence(t *testing.T) {
	scs, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(scs, Options{MaxEvidence: 3})
	if err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, filepath.Join("testdata", "blackhole", "input.jsonl"))
	for _, a := range run(d, evs) {
		if len(a.Evidence) > 3 {
			t.Errorf("%s: %d evidence events, want <= 3", a.Scenario, len(a.Evidence))
		}
		for i := 1; i < len(a.Evidence); i++ {
			if a.Evidence[i].Time.Before(a.Evidence[i-1].Time) {
				t.Errorf("%s: evidence not oldest first", a.Scenario)
			}
		}
		if !a.First.Equal(a.Evidence[0].Time) {
			t.Errorf("%s: First = %v, want %v", a.Scenario, a.First, a.Evidence[0].Time)
		}
	}
}

var _ engine.Detector = (*Detector)(nil)
