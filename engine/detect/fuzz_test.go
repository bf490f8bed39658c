package detect

import (
	"io/fs"
	"testing"
)

func FuzzParseScenario(f *testing.F) {
	files, err := fs.Glob(bundled, "scenarios/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := fs.ReadFile(bundled, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"---\n---\n",
		"name: x\nkind: leaky\ncapacity: -1\n",
		"name: x\nkind: [leaky\n",
		"- a\n- b\n",
		"name: &a x\nkind: *a\n",
		"name: x\nkind: trigger\ntypes: [ids.alert]\ncondition: evt.Severity ==\n",
		"name: x\nkind: trigger\ntypes: [ids.alert]\ncondition: |\n  evt.Severity == 1 &&\n  evt.Nope\n",
		"name: x\nkind: sequence\nsteps: [{types: [ssh.auth.failure], min: 0}, 3]\nwithin: 1h\n",
		"name: x\nkind: campaign\ntypes: [ssh.auth.failure]\nwindow: 1h\nmin_sources: 2\nprefix_v6: 200\n",
		"name: x\nleak: 1y\nwindow: \"\"\n",
		"!!map {name: x}\n",
		"name: x\nlabels: [1, 2]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		scs, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		// What Parse accepts, New must accept.
		if _, err := New(scs, Options{}); err != nil {
			names := map[string]bool{}
			for _, s := range scs {
				if names[s.Name] {
					return // duplicates are LoadDir's to reject
				}
				names[s.Name] = true
			}
			t.Errorf("Parse accepted %q but New = %v", data, err)
		}
	})
}
