package detect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	scs, err := LoadDefaults()
	if err != nil {
		t.Fatalf("LoadDefaults() = %v", err)
	}
	want := map[string]string{
		"ssh-bruteforce":             KindLeaky,
		"ssh-slow-bruteforce":        KindCounter,
		"ssh-user-enum":              KindCounter,
		"ssh-preauth-scanner":        KindCounter,
		"ssh-compromise-suspected":   KindSequence,
		"ssh-distributed-bruteforce": KindCampaign,
		"ids-alert-critical":         KindTrigger,
		"ids-alert":                  KindTrigger,
		"ids-alert-repeated":         KindCounter,
	}
	got := map[string]string{}
	for _, s := range scs {
		got[s.Name] = s.Kind
		if !strings.HasPrefix(s.File, "scenarios/") {
			t.Errorf("%s: File = %q, want scenarios/…", s.Name, s.File)
		}
	}
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("bundled %s: kind %q, want %q", name, got[name], kind)
		}
	}
	if len(got) != len(want) {
		t.Errorf("bundled scenarios = %v, want %d", got, len(want))
	}
}

func TestParseValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want are substrings that must all appear in the error.
		want []string
	}{
		{"capacity", `name: x
kind: leaky
types: [ssh.auth.failure]
capacity: 0
leak: 10s
`, []string{"t.yaml:4:1: capacity: must be > 0"}},
		{"unknown fields all reported", `name: x
kind: trigger
types: [ids.alert]
capacitty: 3
labelz: {a: b}
`, []string{"t.yaml:4:1: capacitty: unknown field", "t.yaml:5:1: labelz: unknown field"}},
		{"unknown step field", `name: x
kind: sequence
steps:
  - types: [ssh.auth.failure]
    mni: 5
  - types: [ssh.auth.success]
within: 1h
`, []string{"t.yaml:5:5: steps[0].mni: unknown field"}},
		{"several problems", `name: Bad Name
kind: leaky
types: [ssh.auth.failur]
leak: -1s
severity: 11
propose: nuke
`, []string{
			"t.yaml:1:1: name:",
			"t.yaml:3:9: types[0]: unknown event type \"ssh.auth.failur\"",
			"t.yaml:4:1: leak: must be > 0",
			"t.yaml:5:1: severity: must be between 0 and 10",
			"t.yaml:6:1: propose: \"nuke\"",
			"t.yaml:1:1: capacity: must be > 0",
		}},
		{"kind", "name: x\nkind: bucket\ntypes: [ids.alert]\n", []string{"t.yaml:2:1: kind: unknown kind \"bucket\""}},
		{"missing name", "kind: trigger\ntypes: [ids.alert]\n", []string{"t.yaml:1:1: name: required"}},
		{"condition syntax", `name: x
kind: trigger
types: [ids.alert]
condition: evt.Severity == == 1
`, []string{"t.yaml:4:", "condition:"}},
		{"condition unknown field", `name: x
kind: trigger
types: [ids.alert]
condition: "evt.Sevrity == 1"
`, []string{"t.yaml:4:", "condition:", "Sevrity"}},
		{"condition not bool", `name: x
kind: trigger
types: [ids.alert]
condition: evt.Severity
`, []string{"t.yaml:4:", "condition:"}},
		{"step min", `name: x
kind: sequence
steps:
  - types: [ssh.auth.failure]
    min: -2
  - types: [ssh.auth.success]
within: 1h
`, []string{"t.yaml:5:5: steps[0].min: must be >= 1"}},
		{"wrong kind fields", `name: x
kind: trigger
types: [ids.alert]
window: 1m
`, []string{"t.yaml:4:1: window: not used by kind trigger"}},
		{"campaign by source", `name: x
kind: campaign
types: [ssh.auth.failure]
group_by: source
window: 1h
min_sources: 5
prefix_v4: 40
`, []string{"t.yaml:4:1: group_by: a campaign spans sources", "t.yaml:7:1: prefix_v4: must be between 8 and 32"}},
		{"group_by", "name: x\nkind: trigger\ntypes: [ids.alert]\ngroup_by: source+asn\n", []string{"t.yaml:4:1: group_by: unknown field \"asn\""}},
		{"type error", "name: x\nkind: leaky\ntypes: [ssh.auth.failure]\ncapacity: lots\nleak: 1s\n", []string{"t.yaml:4:"}},
		{"bad duration", "name: x\nkind: leaky\ntypes: [ssh.auth.failure]\ncapacity: 3\nleak: soon\n", []string{"t.yaml:5:"}},
		{"syntax", "name: x\nkind: [leaky\n", []string{"t.yaml:"}},
		{"list is not a scenario", "- name: x\n  kind: trigger\n", []string{"t.yaml:1:1:", "one scenario per YAML document"}},
		{"second document", "name: a\nkind: trigger\ntypes: [ids.alert]\n---\nname: b\nkind: trigger\ntypes: [ids.alerts]\n", []string{"t.yaml:7:9: types[0]: unknown event type"}},
		{"reset_on overlap", "name: x\nkind: counter\ntypes: [ssh.auth.failure]\nwindow: 1h\nthreshold: 3\nreset_on: [ssh.auth.failure]\n", []string{"t.yaml:6:12: reset_on[0]: \"ssh.auth.failure\" is also in types"}},
		{"distinct", "name: x\nkind: leaky\ntypes: [ssh.auth.failure]\ncapacity: 2\nleak: 1s\ndistinct: user\n", []string{"t.yaml:6:1: distinct: only a counter"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "t.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want %q", tc.src, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) = %v, want it to contain %q", tc.src, err, w)
				}
			}
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Errorf("Parse error %T is not a *detect.Error", err)
			}
		})
	}
}

// TestConditionColumn places an expr error inside the YAML line.
func TestConditionColumn(t *testing.T) {
	src := "name: x\nkind: trigger\ntypes: [ids.alert]\ncondition: evt.Severity == 1 && evt.Nope\n"
	_, err := Parse([]byte(src), "t.yaml")
	if err == nil {
		t.Fatal("Parse = nil, want an error")
	}
	// "evt.Nope" starts at column 28 of line 4; expr points at the member.
	if !strings.Contains(err.Error(), "t.yaml:4:") {
		t.Errorf("Parse = %v, want line 4", err)
	}
	e, _ := errors.AsType[*Error](err)
	if e.Col < 12 {
		t.Errorf("Col = %d, want inside the condition (>= 12)", e.Col)
	}
}

func TestParseMultiDocument(t *testing.T) {
	src := `# leading comment
name: a
kind: trigger
types: [ids.alert]
---
---
name: b
kind: leaky
types: [ssh.auth.failure]
capacity: 3
leak: 2s
`
	scs, err := Parse([]byte(src), "m.yaml")
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if len(scs) != 2 || scs[0].Name != "a" || scs[1].Name != "b" {
		t.Fatalf("Parse = %+v, want a and b", scs)
	}
	if scs[1].Leak != 2*time.Second || scs[0].GroupBy != "source" || scs[0].Propose != "alert" {
		t.Errorf("Parse = %+v, want leak 2s and defaults applied", scs)
	}
}

func TestLoadDirMerge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("override.yaml", `name: ssh-bruteforce
kind: leaky
types: [ssh.auth.failure]
capacity: 3
leak: 5s
propose: rate-limit
`)
	write("off.yaml", "name: ids-alert\ndisabled: true\n")
	write("new.yaml", "name: local-refused\nkind: counter\ntypes: [ssh.refused]\nwindow: 1m\nthreshold: 10\n")
	write("notes.txt", "not a scenario")
	user, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir = %v", err)
	}
	defs, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	merged := Merge(defs, user)
	if len(merged) != len(defs)+1 {
		t.Fatalf("Merge: %d scenarios, want %d", len(merged), len(defs)+1)
	}
	d, err := New(merged, Options{})
	if err != nil {
		t.Fatalf("New(merged) = %v", err)
	}
	byName := map[string]Scenario{}
	for _, s := range d.Scenarios() {
		byName[s.Name] = s
	}
	if s := byName["ssh-bruteforce"]; s.Capacity != 3 || s.Propose != "rate-limit" || s.File != filepath.Join(dir, "override.yaml") {
		t.Errorf("ssh-bruteforce = %+v, want the user's override", s)
	}
	if _, ok := byName["ids-alert"]; ok {
		t.Error("ids-alert still active after disabled: true")
	}
	if _, ok := byName["local-refused"]; !ok {
		t.Error("local-refused missing")
	}
	if merged[0].Name != defs[0].Name && merged[0].Name != "ids-alert" {
		t.Errorf("Merge reordered defaults: first = %s", merged[0].Name)
	}
}

func TestLoadDirErrors(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"a.yaml": "name: dup\nkind: trigger\ntypes: [ids.alert]\n",
		"b.yaml": "name: dup\nkind: trigger\ntypes: [ids.alert]\n",
		"c.yaml": "name: c\nkind: trigger\ntypes: [ids.alert]\n---\nname: d\nkind: leaky\ntypes: [ids.alert]\nleak: 1s\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDir(dir)
	if err == nil {
		t.Fatal("LoadDir = nil, want errors")
	}
	for _, w := range []string{"c.yaml:5:1: capacity: must be > 0", "duplicate scenario \"dup\""} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("LoadDir = %v, want it to contain %q", err, w)
		}
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir(missing) = nil, want an error")
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New([]Scenario{{Name: "x", Kind: KindLeaky, Types: []string{"ssh.auth.failure"}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "scenario x: capacity: must be > 0") {
		t.Errorf("New = %v, want scenario x: capacity: must be > 0", err)
	}
}
