package playbooks

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Parse: it must never panic, every
// error must carry the file, and every accepted playbook must be runnable
// as loaded (a name, triggers, steps each with a kind and its settings).
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lint/*.yaml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	starter, _ := fs.Glob(Starter(), "*.yaml")
	for _, p := range starter {
		if data, err := fs.ReadFile(Starter(), p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("name: a\ntriggers: [{scenario: x}]\nsteps: [{wait: {until: 'incident.state == \"new\"'}}]\n"))
	f.Add([]byte("a: &x {b: *x}"))
	f.Add([]byte("- !!str\n- <<: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pbs, err := Parse("fuzz.yaml", data)
		if el, ok := err.(ErrorList); ok {
			for _, e := range el {
				if e.File != "fuzz.yaml" || e.Message == "" {
					t.Fatalf("error without file or message: %#v", e)
				}
			}
		} else if err != nil {
			t.Fatalf("Parse returned %T, want ErrorList", err)
		}
		for _, pb := range pbs {
			if pb.Name == "" || len(pb.Triggers) == 0 || len(pb.Steps) == 0 {
				t.Fatalf("accepted an incomplete playbook: %+v", pb)
			}
			for _, st := range pb.Steps {
				if !stepComplete(&st) {
					t.Fatalf("accepted step %q of kind %q without its settings", st.Name, st.Kind)
				}
			}
		}
	})
}

func stepComplete(st *Step) bool {
	switch st.Kind {
	case KindAssess:
		return st.Assess != nil
	case KindNotify:
		return st.Notify != nil && st.Notify.Receiver != ""
	case KindEscalate:
		return st.Escalate != nil && st.Escalate.Receiver != ""
	case KindRemediate:
		return st.Remediate != nil && st.Remediate.Target != nil && st.Remediate.Action != "" && st.Timeout > 0
	case KindCollect:
		return st.Collect != nil && st.Collect.Target != nil && st.Collect.Evidence != ""
	case KindWait:
		return st.Wait != nil && (st.Wait.For > 0 || (st.Wait.Until != nil && st.Wait.Every > 0 && st.Timeout > 0))
	case KindIncident:
		return st.Incident != nil && st.Incident.Op != ""
	case KindRollback:
		return st.Rollback != nil
	}
	return false
}
