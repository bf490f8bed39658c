package playbooks

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine"
)

//go:embed starter/*.yaml
var starterFiles embed.FS

// Starter returns the bundled starter playbooks, so the binary ships them.
func Starter() fs.FS {
	sub, err := fs.Sub(starterFiles, "starter")
	if err != nil { // "starter" is a literal that exists; cannot happen
		return starterFiles
	}
	return sub
}

// Set is the playbooks loaded from one or more directories, in file-name
// order and document order within a file: matching and listing follow it,
// so a run is deterministic.
type Set struct {
	Playbooks []*Playbook
	// broken failed to load; Validate still checks their references so
	// lint reports everything in one pass.
	broken []*Playbook
}

// LoadFS loads every *.yaml and *.yml file at the top of fsys; label
// prefixes the file names in errors and in Playbook.File.
func LoadFS(fsys fs.FS, label string) (*Set, error) {
	s := &Set{}
	errs := s.addFS(fsys, label)
	errs = append(errs, s.duplicates()...)
	return s, errs.sorted().err()
}

// LoadDirs loads the playbooks of each directory into one set; names must
// be unique across all of them.
func LoadDirs(dirs ...string) (*Set, error) {
	s := &Set{}
	var errs ErrorList
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil {
			errs = append(errs, &Error{File: dir, Message: fmt.Sprintf("read playbooks: %v", err)})
			continue
		}
		if !st.IsDir() {
			errs = append(errs, s.addFile(os.DirFS(filepath.Dir(dir)), filepath.Base(dir), dir)...)
			continue
		}
		errs = append(errs, s.addFS(os.DirFS(dir), dir)...)
	}
	errs = append(errs, s.duplicates()...)
	return s, errs.sorted().err()
}

func (s *Set) addFS(fsys fs.FS, label string) ErrorList {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return ErrorList{{File: label, Message: fmt.Sprintf("read playbooks: %v", err)}}
	}
	var errs ErrorList
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		errs = append(errs, s.addFile(fsys, e.Name(), filepath.Join(label, e.Name()))...)
	}
	return errs
}

func (s *Set) addFile(fsys fs.FS, name, label string) ErrorList {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return ErrorList{{File: label, Message: fmt.Sprintf("read playbook: %v", err)}}
	}
	valid, all, errs := parse(label, data)
	s.Playbooks = append(s.Playbooks, valid...)
	for _, pb := range all {
		if !slices.Contains(valid, pb) {
			s.broken = append(s.broken, pb)
		}
	}
	return errs
}

// duplicates reports a name used twice, at the second use.
func (s *Set) duplicates() ErrorList {
	var errs ErrorList
	first := map[string]*Playbook{}
	for _, pb := range s.Playbooks {
		if f, dup := first[pb.Name]; dup {
			errs = append(errs, &Error{File: pb.File, Line: pb.Pos.Line, Column: pb.Pos.Column, Field: "name",
				Message: fmt.Sprintf("duplicate playbook name %q (first in %s:%d)", pb.Name, f.File, f.Pos.Line)})
			continue
		}
		first[pb.Name] = pb
	}
	return errs
}

// Known are the names the configuration defines. A nil list is not
// checked (lint without a config); an empty one means none exist.
type Known struct {
	Receivers []string
	Gateways  []string
}

// Validate checks every receiver and gateway a playbook names against k.
func (s *Set) Validate(k Known) error {
	var errs ErrorList
	for _, pb := range slices.Concat(s.Playbooks, s.broken) {
		for _, r := range pb.refs {
			known := k.Receivers
			if r.kind == "gateway" {
				known = k.Gateways
			}
			if known == nil || slices.Contains(known, r.name) {
				continue
			}
			msg := fmt.Sprintf("unknown %s %q", r.kind, r.name)
			if len(known) > 0 {
				msg += fmt.Sprintf(" (known: %s)", strings.Join(sorted(known), ", "))
			} else {
				msg += fmt.Sprintf(" (the configuration defines no %ss)", r.kind)
			}
			errs = append(errs, &Error{File: pb.File, Line: r.pos.Line, Column: r.pos.Column, Field: r.field, Message: msg})
		}
	}
	return errs.sorted().err()
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// Match returns the playbooks a triggers on, in set order. inc is the
// alert's incident, nil when it has none.
func (s *Set) Match(a *engine.Alert, inc *Incident) []*Playbook {
	var out []*Playbook
	for _, pb := range s.Playbooks {
		if pb.Fires(a, inc) {
			out = append(out, pb)
		}
	}
	return out
}

// Fires reports whether any of pb's triggers matches.
func (pb *Playbook) Fires(a *engine.Alert, inc *Incident) bool {
	for i := range pb.Triggers {
		if pb.Triggers[i].Matches(a, inc) {
			return true
		}
	}
	return false
}

// Matches reports whether every condition of t holds for a.
func (t *Trigger) Matches(a *engine.Alert, inc *Incident) bool {
	if t.Scenario != "" {
		if ok, _ := path.Match(t.Scenario, a.Scenario); !ok {
			return false
		}
	}
	if a.Risk < t.MinRisk {
		return false
	}
	if len(t.Incident) > 0 {
		state := "none"
		if inc != nil {
			state = inc.State
		}
		if !slices.Contains(t.Incident, state) {
			return false
		}
	}
	for i := range t.Labels {
		if !t.Labels[i].Matches(a.Labels) {
			return false
		}
	}
	return true
}

// Matches tests the matcher against a label set; an absent label is "".
func (m *LabelMatcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case "!=":
		return v != m.Value
	case "=~":
		return m.re.MatchString(v)
	case "!~":
		return !m.re.MatchString(v)
	}
	return v == m.Value
}
