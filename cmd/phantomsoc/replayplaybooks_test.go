package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replayLine is the union of the lines replay --playbooks -o json writes.
type replayLine struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	AlertID  string `json:"alert_id"`
	Playbook string `json:"playbook"`
	StepKind string `json:"step_kind"`
	Outcome  string `json:"outcome"`
	Detail   string `json:"detail"`
}

func TestReplayPlaybooks(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	if _, err := writeSynth(log, 3, 20000, 1); err != nil {
		t.Fatal(err)
	}
	replayOut := func(approve string) []replayLine {
		t.Helper()
		args := []string{"replay", "--year", "2026", "--playbooks", "starter", "--approve", approve, "-o", "json", log}
		out := mustRun(t, "", args...)
		if again := mustRun(t, "", args...); again != out {
			t.Fatalf("--approve %s: two replays differ", approve)
		}
		var lines []replayLine
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l replayLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			lines = append(lines, l)
		}
		return lines
	}
	for _, tc := range []struct {
		approve string
		// remediate says what a remediate step's outcome must be, given
		// the approval mode its detail names.
		remediate func(mode string) string
	}{
		{"all", func(string) string { return "ok" }},
		{"none", func(string) string { return "denied" }},
		{"auto-only", func(mode string) string {
			if mode == "required" {
				return "denied"
			}
			return "ok" // auto, and policy for the blocks the default policy applies unasked
		}},
	} {
		t.Run(tc.approve, func(t *testing.T) {
			lines := replayOut(tc.approve)
			lastAlert := ""
			steps, remediations := 0, 0
			for _, l := range lines {
				switch l.Kind {
				case "alert":
					lastAlert = l.ID
				case "step":
					steps++
					if l.AlertID != lastAlert {
						t.Fatalf("step of %s after alert %s: steps must follow their alert", l.AlertID, lastAlert)
					}
					if l.StepKind != "remediate" || l.Outcome == "skipped" {
						continue
					}
					remediations++
					mode := approvalMode(l.Detail)
					if want := tc.remediate(mode); l.Outcome != want {
						t.Errorf("%s remediate (approval: %s) = %s, want %s: %s", l.Playbook, mode, l.Outcome, want, l.Detail)
					}
				}
			}
			if steps == 0 || remediations == 0 {
				t.Fatalf("%d steps, %d remediations: the starter playbooks did not run", steps, remediations)
			}
		})
	}
}

// approvalMode reads "(approval: MODE)" from a remediate step's detail.
func approvalMode(detail string) string {
	_, after, ok := strings.Cut(detail, "(approval: ")
	if !ok {
		return ""
	}
	mode, _, _ := strings.Cut(after, ")")
	return mode
}

func TestReplayPlaybooksErrors(t *testing.T) {
	dir := t.TempDir()
	log := writeFile(t, dir, "auth.log", "")
	if err := os.Mkdir(filepath.Join(dir, "pb"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := writeFile(t, filepath.Join(dir, "pb"), "bad.yaml", "name: x\ntriggers: [{scenario: ssh-*}]\nsteps:\n  - wait: soon\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--playbooks", "starter", "--approve", "maybe", log}, "--approve"},
		{[]string{"replay", "--playbooks", filepath.Dir(bad), log}, "bad.yaml:4"},
		{[]string{"replay", "--playbooks", filepath.Join(dir, "missing"), log}, "missing"},
	} {
		_, err := run(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one naming %q", tc.args, err, tc.want)
		}
	}
}
