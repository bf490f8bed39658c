package playbooks

import (
	"net/netip"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestMatch(t *testing.T) {
	const src = `name: exact
triggers: [{scenario: ssh-bruteforce}]
steps: [{wait: 1m}]
---
name: glob-risk
triggers: [{scenario: "ssh-*", risk: 7}]
steps: [{wait: 1m}]
---
name: labels
triggers:
  - labels: {service: ids, technique: "=~T1110.*", tier: "!=lab", env: "!~dev|test"}
steps: [{wait: 1m}]
---
name: incident
triggers: [{scenario: "*", incident: [acknowledged]}]
steps: [{wait: 1m}]
---
name: no-incident
triggers: [{scenario: "ssh-compromise-suspected", incident: [none]}]
steps: [{wait: 1m}]
---
name: either
triggers: [{scenario: a}, {scenario: b}]
steps: [{wait: 1m}]
`
	pbs, err := Parse("match.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := &Set{Playbooks: pbs}
	src4 := netip.MustParseAddr("198.51.100.7")
	tests := []struct {
		name  string
		alert engine.Alert
		inc   *Incident
		want  []string
	}{
		{"exact scenario", engine.Alert{Scenario: "ssh-bruteforce", Risk: 5, Source: src4}, nil, []string{"exact"}},
		{"glob and risk", engine.Alert{Scenario: "ssh-bruteforce", Risk: 7}, nil, []string{"exact", "glob-risk"}},
		{"risk below", engine.Alert{Scenario: "ssh-user-enum", Risk: 6.9}, nil, nil},
		{"labels all match", engine.Alert{Scenario: "ids-alert", Labels: map[string]string{"service": "ids", "technique": "T1110.001", "env": "prod"}}, nil, []string{"labels"}},
		{"label regex anchored", engine.Alert{Scenario: "ids-alert", Labels: map[string]string{"service": "ids", "technique": "xT1110"}}, nil, nil},
		{"label not-equal", engine.Alert{Scenario: "ids-alert", Labels: map[string]string{"service": "ids", "technique": "T1110", "tier": "lab"}}, nil, nil},
		{"label not-regex", engine.Alert{Scenario: "ids-alert", Labels: map[string]string{"service": "ids", "technique": "T1110", "env": "test"}}, nil, nil},
		{"incident state", engine.Alert{Scenario: "x"}, &Incident{ID: "i1", State: "acknowledged"}, []string{"incident"}},
		{"incident other state", engine.Alert{Scenario: "x"}, &Incident{ID: "i1", State: "new"}, nil},
		{"no incident", engine.Alert{Scenario: "ssh-compromise-suspected", Risk: 9}, nil, []string{"glob-risk", "no-incident"}},
		{"no incident but has one", engine.Alert{Scenario: "ssh-compromise-suspected", Risk: 9}, &Incident{State: "new"}, []string{"glob-risk"}},
		{"any trigger", engine.Alert{Scenario: "b"}, nil, []string{"either"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, pb := range s.Match(&tc.alert, tc.inc) {
				got = append(got, pb.Name)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Match(%s) = %v, want %v", tc.alert.Scenario, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("Match(%s) = %v, want %v", tc.alert.Scenario, got, tc.want)
				}
			}
		})
	}
}

func TestStarterTriggers(t *testing.T) {
	s, err := LoadFS(Starter(), "starter")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		alert engine.Alert
		inc   *Incident
		want  string
	}{
		{engine.Alert{Scenario: "ssh-bruteforce", Risk: 4}, nil, "ssh-brute-force"},
		{engine.Alert{Scenario: "ssh-compromise-suspected", Risk: 9}, nil, "compromise-suspected"},
		{engine.Alert{Scenario: "ssh-distributed-bruteforce", Risk: 6}, nil, "distributed-campaign"},
		{engine.Alert{Scenario: "ids-alert-critical", Risk: 8, Labels: map[string]string{"service": "ids"}}, nil, "suricata-sev1"},
		{engine.Alert{Scenario: "ssh-bruteforce", Risk: 7}, &Incident{State: "closed"}, "repeat-offender"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			for _, pb := range s.Match(&tc.alert, tc.inc) {
				if pb.Name == tc.want {
					return
				}
			}
			t.Errorf("Match(%s) does not include %s", tc.alert.Scenario, tc.want)
		})
	}
}
