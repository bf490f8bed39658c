package route

import (
	"os"
	"strings"
	"testing"
)

func TestMatcher(t *testing.T) {
	labels := map[string]string{"scenario": "ssh-bruteforce", "risk": "7.5", "severity": "6", "role": "web", "host": "web 1", "country": "CN"}
	tests := []struct {
		matcher string
		want    bool
	}{
		{"scenario=ssh-bruteforce", true},
		{"scenario=ssh", false},
		{"scenario!=ssh-bruteforce", false},
		{"role!=lab", true},
		{"owner!=alice", true}, // missing reads as ""
		{"owner=", true},
		{`owner=""`, true},
		{"scenario=~ssh-.*", true},
		{"scenario=~ssh", false}, // anchored
		{"scenario=~.*brute.*", true},
		{"scenario!~ssh-.*", false},
		{"country!~FR|DE", true},
		{"country=~FR|DE", false},
		{"country=~.+", true},
		{"asn=~.+", false},
		{"risk>=7", true},
		{"risk>=7.5", true},
		{"risk>7.5", false},
		{"risk<8", true},
		{"risk<=7.4", false},
		{"severity > 5", true},
		{"asn>0", false},       // missing never compares
		{"scenario>=1", false}, // not a number never compares
		{`host="web 1"`, true},
		{`host = "web 1"`, true},
		{`host=~"web [0-9]+"`, true},
	}
	for _, tc := range tests {
		m, err := ParseMatcher(tc.matcher)
		if err != nil {
			t.Errorf("ParseMatcher(%q) = %v", tc.matcher, err)
			continue
		}
		if got := m.Matches(labels); got != tc.want {
			t.Errorf("ParseMatcher(%q).Matches = %v, want %v", tc.matcher, got, tc.want)
		}
	}
}

func TestParseMatcherErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "has no operator"},
		{"risk", "has no operator"},
		{"=x", "bad label name"},
		{"1risk>=7", "bad label name"},
		{"ri sk=7", "bad label name"},
		{"risk>=high", "needs a number"},
		{"risk<NaN", "needs a number"},
		{"scenario=~(", "bad regexp"},
		{`host="unterminated`, "bad quoted value"},
		{"host~x", "bad operator"},
		{strings.Repeat("a", 5000) + "=b", "longer than"},
	}
	for _, tc := range tests {
		_, err := ParseMatcher(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseMatcher(%.40q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseMatcher(f *testing.F) {
	data, err := os.ReadFile("testdata/tree.yaml")
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := Parse(data, "tree.yaml")
	if err != nil {
		f.Fatal(err)
	}
	var walk func(r *Route)
	walk = func(r *Route) {
		for _, m := range r.Matchers {
			f.Add(m)
		}
		for i := range r.Routes {
			walk(&r.Routes[i])
		}
	}
	walk(&cfg.Route)
	for _, ir := range cfg.InhibitRules {
		for _, m := range append(ir.SourceMatchers, ir.TargetMatchers...) {
			f.Add(m)
		}
	}
	for _, s := range []string{`host="web 1"`, `a==x`, `a="=~x"`, "a!~", "a<=-1e9", `k="\u00e9"`, "a=~\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		m.Matches(map[string]string{m.Name: s, "risk": "5"})
		back, err := ParseMatcher(m.String())
		if err != nil {
			t.Fatalf("ParseMatcher(%q).String() = %q, which does not parse: %v", s, m.String(), err)
		}
		if back.Name != m.Name || back.Op != m.Op || back.Value != m.Value {
			t.Fatalf("ParseMatcher(%q) = %s %s %q, its String %q reads back as %s %s %q",
				s, m.Name, m.Op, m.Value, m.String(), back.Name, back.Op, back.Value)
		}
	})
}
