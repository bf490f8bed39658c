package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// A playbook test case is a directory under DIR/tests: input.log, any
// log replay reads, and expected.jsonl, the steps the playbooks of DIR
// must take on it.
const (
	testsDir     = "tests"
	testInput    = "input.log"
	testExpected = "expected.jsonl"
)

// testYear reads yearless fixture timestamps, so an expectation does not
// change with the calendar.
const testYear = 2026

type playbookTestOptions struct {
	approve string
	update  bool
}

func newPlaybooksTestCmd(g *globals) *cobra.Command {
	var o playbookTestOptions
	cmd := &cobra.Command{
		Use:   "test DIR",
		Short: "Replay each test case's log through the playbooks of DIR and check the steps they take",
		Long: `test runs every case under DIR/tests/: CASE/input.log goes through
replay with the playbooks of DIR (as replay --playbooks DIR does: nothing is
applied, sent or collected), and the steps the playbooks take must be
exactly those in CASE/expected.jsonl — one JSON object per step with
"playbook", "alert_id", "name", "step_kind", "outcome" and "detail", in
order. Yearless timestamps in input.log are read as 2026.

A case without expected.jsonl is NEW: what the playbooks did is written to
expected.jsonl.new for review (rename it to accept it), and the case does
not pass. --update writes expected.jsonl from what the playbooks did. The
exit status is non-zero unless every case passed.`,
		Example: "  phantomsoc playbooks test playbooks/starter\n" +
			"  phantomsoc playbooks test --approve all -o json /etc/phantomsoc/playbooks",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return testPlaybooks(cmd.Context(), cmd.OutOrStdout(), g, args[0], &o)
		},
	}
	cmd.Flags().StringVar(&o.approve, "approve", "auto-only", "how approvals are answered: all, none or auto-only")
	cmd.Flags().BoolVar(&o.update, "update", false, "write expected.jsonl from what the playbooks did")
	return cmd
}

// expectedStep is one line of expected.jsonl: what a step did, without
// its time and attempt count.
type expectedStep struct {
	Playbook string `json:"playbook"`
	AlertID  string `json:"alert_id"`
	Name     string `json:"name"`
	StepKind string `json:"step_kind"`
	Outcome  string `json:"outcome"`
	Detail   string `json:"detail,omitempty"`
}

// caseResult is a case's outcome; the --output json line.
type caseResult struct {
	Case   string `json:"case"`
	Status string `json:"status"` // pass, fail, new, updated
	Steps  int    `json:"steps"`
	// Diff lists the expected (-) and actual (+) steps that differ.
	Diff []string `json:"diff,omitempty"`
}

func testPlaybooks(ctx context.Context, w io.Writer, g *globals, dir string, o *playbookTestOptions) error {
	cases, err := filepath.Glob(filepath.Join(dir, testsDir, "*", testInput))
	if err != nil {
		return err
	}
	if len(cases) == 0 {
		return fmt.Errorf("playbooks test: no %s/*/%s under %s", testsDir, testInput, dir)
	}
	failed := 0
	for _, input := range cases {
		res, err := runPlaybookCase(ctx, g, dir, filepath.Dir(input), o)
		if err != nil {
			return err
		}
		if res.Status == "fail" || res.Status == "new" {
			failed++
		}
		if err := printCase(w, g.output, &res); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("playbooks test: %d of %d cases did not pass", failed, len(cases))
	}
	return nil
}

func printCase(w io.Writer, output string, res *caseResult) error {
	if output == outputJSON {
		return writeJSON(w, res)
	}
	_, err := fmt.Fprintf(w, "%-7s %s (%d steps)\n", strings.ToUpper(res.Status), res.Case, res.Steps)
	for _, d := range res.Diff {
		if err != nil {
			break
		}
		_, err = fmt.Fprintln(w, "   ", d)
	}
	if res.Status == "new" && err == nil {
		_, err = fmt.Fprintf(w, "    review %s.new and rename it to %s\n", filepath.Join(res.Case, testExpected), testExpected)
	}
	return err
}

func runPlaybookCase(ctx context.Context, g *globals, dir, caseDir string, o *playbookTestOptions) (caseResult, error) {
	res := caseResult{Case: caseDir}
	var out bytes.Buffer
	rg := *g
	rg.output = outputJSON
	in := &inputOptions{format: "auto", year: testYear}
	ro := &replayOptions{playbooks: []string{dir}, approve: o.approve}
	if _, err := replayWith(ctx, &out, nil, &rg, in, ro, []string{filepath.Join(caseDir, testInput)}, ""); err != nil {
		return res, fmt.Errorf("case %s: %w", caseDir, err)
	}
	got, err := stepsOf(out.Bytes())
	if err != nil {
		return res, fmt.Errorf("case %s: %w", caseDir, err)
	}
	res.Steps = len(got)
	expPath := filepath.Join(caseDir, testExpected)
	if o.update {
		res.Status = "updated"
		return res, writeSteps(expPath, got)
	}
	data, err := os.ReadFile(expPath)
	if errors.Is(err, os.ErrNotExist) {
		res.Status = "new"
		return res, writeSteps(expPath+".new", got)
	}
	if err != nil {
		return res, err
	}
	want, err := stepsOf(data)
	if err != nil {
		return res, fmt.Errorf("%s: %w", expPath, err)
	}
	res.Diff = diffSteps(want, got)
	res.Status = "pass"
	if len(res.Diff) > 0 {
		res.Status = "fail"
	}
	return res, nil
}

// stepsOf reads the step lines of replay output (or of expected.jsonl,
// whose lines are all steps), naming the line that does not parse.
func stepsOf(data []byte) ([]expectedStep, error) {
	var steps []expectedStep
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l struct {
			Kind string `json:"kind"`
			expectedStep
		}
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if l.Kind == "step" || l.Kind == "" {
			steps = append(steps, l.expectedStep)
		}
	}
	return steps, sc.Err()
}

func writeSteps(path string, steps []expectedStep) error {
	var b bytes.Buffer
	for _, s := range steps {
		if err := writeJSON(&b, s); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// diffSteps lists the steps at which want and got part, as "-" (expected)
// and "+" (actual) lines: the first ten differences, which is where a
// reader starts anyway.
func diffSteps(want, got []expectedStep) []string {
	var diff []string
	for i := 0; i < max(len(want), len(got)) && len(diff) < 20; i++ {
		var w, g *expectedStep
		if i < len(want) {
			w = &want[i]
		}
		if i < len(got) {
			g = &got[i]
		}
		if w != nil && g != nil && *w == *g {
			continue
		}
		if w != nil {
			diff = append(diff, fmt.Sprintf("- step %d: %s", i+1, stepLine(w)))
		}
		if g != nil {
			diff = append(diff, fmt.Sprintf("+ step %d: %s", i+1, stepLine(g)))
		}
	}
	return slices.Clip(diff)
}

func stepLine(s *expectedStep) string {
	return fmt.Sprintf("%s %s/%s %s %s: %s", s.AlertID, s.Playbook, s.Name, s.StepKind, s.Outcome, s.Detail)
}
