package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const starterDir = "../../playbooks/starter"

// TestStarterPlaybookCases runs the starter set's own cases: the fixture
// logs must make the playbooks take exactly the expected steps.
func TestStarterPlaybookCases(t *testing.T) {
	out := mustRun(t, "", "playbooks", "test", "-o", "json", starterDir)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var res caseResult
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if res.Status != "pass" || res.Steps == 0 {
			t.Errorf("%s: %s with %d steps %v", res.Case, res.Status, res.Steps, res.Diff)
		}
		n++
	}
	if n != 5 {
		t.Errorf("%d cases, want the starter set's 5", n)
	}
}

// TestPlaybookCaseStates copies one starter case and checks a missing
// expectation is NEW (never a pass), a wrong one FAILs with a diff, and
// --update writes what passes.
func TestPlaybookCaseStates(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ssh-brute-force.yaml"} {
		copyFile(t, filepath.Join(starterDir, f), filepath.Join(dir, f))
	}
	caseDir := filepath.Join(dir, "tests", "bf")
	if err := os.MkdirAll(caseDir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(starterDir, "tests", "ssh-brute-force", "input.log"), filepath.Join(caseDir, "input.log"))

	out, err := run(t, "", "playbooks", "test", dir)
	if err == nil || !strings.HasPrefix(out, "NEW") {
		t.Fatalf("missing expectation: err %v, output %q; want NEW and a failure", err, out)
	}
	proposed, err := os.ReadFile(filepath.Join(caseDir, "expected.jsonl.new"))
	if err != nil || !strings.Contains(string(proposed), `"block-source"`) {
		t.Fatalf("expected.jsonl.new = %q, %v; want the steps taken", proposed, err)
	}

	wrong := strings.Replace(string(proposed), "for 4h0m0s", "for 1h0m0s", 1)
	if err := os.WriteFile(filepath.Join(caseDir, "expected.jsonl"), []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "", "playbooks", "test", dir)
	if err == nil || !strings.HasPrefix(out, "FAIL") || !strings.Contains(out, "- step 2:") || !strings.Contains(out, "+ step 2:") {
		t.Fatalf("wrong expectation: err %v, output:\n%s\nwant FAIL with the differing step", err, out)
	}

	mustRun(t, "", "playbooks", "test", "--update", dir)
	if out := mustRun(t, "", "playbooks", "test", dir); !strings.HasPrefix(out, "PASS") {
		t.Errorf("after --update: %q, want PASS", out)
	}
}

func TestPlaybookTestNeedsCases(t *testing.T) {
	_, err := run(t, "", "playbooks", "test", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no tests/*/input.log") {
		t.Errorf("err = %v, want one saying there are no cases", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
