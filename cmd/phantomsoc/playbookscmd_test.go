package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlaybooksLintStarter(t *testing.T) {
	out := mustRun(t, "", "playbooks", "lint")
	if out != "5 playbooks OK\n" {
		t.Errorf("playbooks lint = %q, want the starter set OK", out)
	}
}

func TestPlaybooksLintErrors(t *testing.T) {
	dir := t.TempDir()
	bad := "name: bad\ntriggers: [{scenario: x}]\nsteps:\n  - remediate: {action: nuke, ttl: soon}\n  - notify: {receiver: nobody}\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		nerr   int
		fields []string
	}{
		{"without config", []string{"playbooks", "lint", "-o", "json", dir}, 2, []string{"steps[0].remediate.action", "steps[0].remediate.ttl"}},
		{"with config", []string{"--config", "testdata/config/example.yaml", "playbooks", "lint", "-o", "json", dir}, 3,
			[]string{"steps[0].remediate.action", "steps[0].remediate.ttl", "steps[1].notify.receiver"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, "", tc.args...)
			if err == nil {
				t.Fatalf("lint of a bad playbook succeeded:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != tc.nerr {
				t.Fatalf("lint printed %d errors, want %d:\n%s", len(lines), tc.nerr, out)
			}
			for i, l := range lines {
				var e struct {
					File    string `json:"file"`
					Line    int    `json:"line"`
					Column  int    `json:"column"`
					Field   string `json:"field"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal([]byte(l), &e); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if e.File != filepath.Join(dir, "bad.yaml") || e.Line == 0 || e.Column == 0 || e.Message == "" || e.Field != tc.fields[i] {
					t.Errorf("error %d = %+v, want field %s with file, line and column", i, e, tc.fields[i])
				}
			}
		})
	}
	// The table form is file:line:col: field: message.
	out, _ := run(t, "", "playbooks", "lint", dir)
	if !strings.Contains(out, "bad.yaml:4:36: steps[0].remediate.ttl: bad duration \"soon\"") {
		t.Errorf("lint table output = %q", out)
	}
}

func TestPlaybooksList(t *testing.T) {
	out := mustRun(t, "", "playbooks", "list")
	for _, want := range []string{"NAME", "ssh-brute-force", "scenario=ssh-bruteforce | scenario=ssh-slow-bruteforce risk>=5", "compromise-suspected", "12: incident,remediate"} {
		if !strings.Contains(out, want) {
			t.Errorf("playbooks list lacks %q:\n%s", want, out)
		}
	}
	js := mustRun(t, "", "playbooks", "list", "-o", "json")
	lines := strings.Split(strings.TrimSpace(js), "\n")
	if len(lines) != 5 {
		t.Fatalf("list -o json printed %d lines, want 5", len(lines))
	}
	var row playbookRow
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil || row.Name != "compromise-suspected" || len(row.Steps) == 0 || row.Triggers[0].Scenario != "ssh-compromise-suspected" {
		t.Errorf("first row = %+v, %v", row, err)
	}
}
