package playbooks

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/charmbracelet/x/exp/golden"
)

// starterKnown are the receiver names the starter set assumes; a real
// configuration maps them to channels.
var starterKnown = Known{Receivers: []string{"soc", "oncall"}, Gateways: []string{}}

func TestStarterSetLoadsAndValidates(t *testing.T) {
	s, err := LoadFS(Starter(), "starter")
	if err != nil {
		t.Fatalf("LoadFS(starter) = %v", err)
	}
	if err := s.Validate(starterKnown); err != nil {
		t.Fatalf("Validate(starter) = %v", err)
	}
	var names []string
	for _, pb := range s.Playbooks {
		names = append(names, pb.Name)
	}
	want := []string{"compromise-suspected", "distributed-campaign", "repeat-offender", "ssh-brute-force", "suricata-sev1"}
	if !slices.Equal(names, want) {
		t.Errorf("starter names = %v, want %v", names, want)
	}
	// The embedded copy is the one in the tree.
	disk, err := LoadDirs("starter")
	if err != nil {
		t.Fatalf("LoadDirs(starter) = %v", err)
	}
	if len(disk.Playbooks) != len(s.Playbooks) {
		t.Errorf("disk has %d playbooks, embedded %d", len(disk.Playbooks), len(s.Playbooks))
	}
}

// TestStarterNeedsReceivers shows Validate catches a configuration without
// the receivers the starter set names.
func TestStarterNeedsReceivers(t *testing.T) {
	s, err := LoadFS(Starter(), "starter")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate(Known{Receivers: []string{"soc"}})
	if err == nil || !strings.Contains(err.Error(), `unknown receiver "oncall" (known: soc)`) {
		t.Errorf("Validate without oncall = %v", err)
	}
	if err := s.Validate(Known{}); err != nil {
		t.Errorf("Validate(nil lists) checks nothing, got %v", err)
	}
}

// TestLint runs each testdata/lint case through load and validation and
// compares every error, in order, with its golden file.
func TestLint(t *testing.T) {
	files, err := filepath.Glob("testdata/lint/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no lint cases: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := LoadFS(fstest.MapFS{filepath.Base(f): {Data: data}}, "testdata/lint")
			var got strings.Builder
			if err != nil {
				got.WriteString(err.Error() + "\n")
			}
			if err := s.Validate(Known{Receivers: []string{"soc"}, Gateways: []string{"edge"}}); err != nil {
				got.WriteString(err.Error() + "\n")
			}
			if got.Len() == 0 {
				t.Fatalf("%s loaded without errors; a lint case must have some", f)
			}
			golden.RequireEqual(t, got.String())
		})
	}
}

func TestErrorsCarryPositionAndField(t *testing.T) {
	data, err := os.ReadFile("testdata/lint/bad-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("bad-values.yaml", data)
	var el ErrorList
	if !errors.As(err, &el) || len(el) < 10 {
		t.Fatalf("Parse = %v, want an ErrorList with every problem", err)
	}
	for _, e := range el {
		if e.File != "bad-values.yaml" || e.Line == 0 || e.Column == 0 || e.Field == "" {
			t.Errorf("error %q lacks file, line, column or field", e)
		}
	}
	var one *Error
	if !errors.As(err, &one) {
		t.Errorf("errors.As(*Error) failed on %T", err)
	}
}

func TestParseDefaults(t *testing.T) {
	const src = `name: defaults
triggers: [{scenario: x}]
steps:
  - remediate: {action: block}
  - wait: {until: "true"}
  - wait: 5m
  - notify: {receiver: soc}
`
	pbs, err := Parse("defaults.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := pbs[0].Steps
	tests := []struct {
		name      string
		got, want any
	}{
		{"default step name", st[0].Name, "remediate-1"},
		{"default approval", st[0].Remediate.Approval, ApprovalRequired},
		{"default target", st[0].Remediate.Target.Source, "alert.targets"},
		{"default on_failure", st[0].OnFailure, OnFailureStop},
		{"default timeout", st[0].Timeout, DefaultTimeout},
		{"default retry delay", st[0].RetryDelay, DefaultRetryDelay},
		{"wait-until timeout", st[1].Timeout, DefaultWaitTimeout},
		{"wait-until every", st[1].Wait.Every, DefaultWaitEvery},
		{"wait shorthand", st[2].Wait.For, 5 * time.Minute},
		{"wait-for has no timeout", st[2].Timeout, time.Duration(0)},
		{"file", pbs[0].File, "defaults.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestLoadDirsReportsMissingAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	pb := "name: same\ntriggers: [{scenario: x}]\nsteps: [{wait: 1m}]\n"
	for _, f := range []string{"a.yaml", "b.yml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(pb), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDirs(dir, filepath.Join(dir, "missing"))
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 2 {
		t.Fatalf("LoadDirs = %v, want 2 errors", err)
	}
	// Sorted by file: the directory's b.yml comes before dir/missing.
	if el[0].Field != "name" || !strings.Contains(el[0].Message, `duplicate playbook name "same"`) || !strings.HasSuffix(el[0].File, "b.yml") {
		t.Errorf("first error = %q, want the duplicate name in b.yml", el[0])
	}
	if !strings.HasSuffix(el[1].File, "missing") {
		t.Errorf("second error = %q, want the missing directory", el[1])
	}
	// A single file is accepted too.
	s, err := LoadDirs(filepath.Join(dir, "a.yaml"))
	if err != nil || len(s.Playbooks) != 1 {
		t.Errorf("LoadDirs(file) = %v, %v", s, err)
	}
}

func TestStarterIsEmbedded(t *testing.T) {
	names, err := fs.Glob(Starter(), "*.yaml")
	if err != nil || len(names) != 5 {
		t.Errorf("embedded starter files = %v, %v; want 5", names, err)
	}
}
