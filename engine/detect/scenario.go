package detect

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Kinds of scenario.
const (
	// KindLeaky is a leaky bucket: every event adds N to the key's level,
	// the level drains by one per Leak, and the scenario fires when the
	// level reaches Capacity.
	KindLeaky = "leaky"
	// KindCounter counts events (or distinct values of Distinct) per key in
	// a sliding Window and fires when the count reaches Threshold.
	KindCounter = "counter"
	// KindTrigger fires on every matching event (Blackhole still applies).
	KindTrigger = "trigger"
	// KindSequence fires when Steps happen in order for one key within
	// Within.
	KindSequence = "sequence"
	// KindCampaign counts distinct low-volume sources per key (usually the
	// attacked host) over Window and proposes the dense prefixes among them.
	KindCampaign = "campaign"
)

// Scenario describes how events become alerts. Scenario files are YAML;
// a file holds one scenario per YAML document (separate several with
// "---"). Unknown fields are errors.
//
//	name            unique name, [a-z0-9][a-z0-9._-]*; a user scenario with
//	                the name of a bundled one replaces it (see Merge)
//	description     one line for humans; copied to alerts
//	disabled        true drops the scenario (only name is needed then)
//	kind            leaky | counter | trigger | sequence | campaign
//	types           event types that feed the scenario (engine.Type*): the
//	                pre-filter, checked before anything else; sequence lists
//	                types per step instead
//	indicator_only  only events with Indicator set feed the scenario
//	condition       optional expr-lang boolean over evt: evt.Type, evt.User,
//	                evt.Severity, evt.Source, evt.Dest (strings), evt.Host,
//	                evt.Signature, evt.SignatureID, evt.Category, evt.Proto,
//	                evt.Program, evt.Method, evt.Pattern, evt.SourcePort,
//	                evt.DestPort, evt.Indicator, evt.Count
//	group_by        "+"-joined fields that make the key: source, host, user,
//	                dest, signature (default source; host for a
//	                campaign)
//	distinct        counter only: count distinct values of this field
//	                (user, source, host, dest, signature) instead of events
//	capacity, leak  leaky: fire when the level reaches capacity; the level
//	                drains by 1 per leak
//	window          counter, campaign: sliding window
//	threshold       counter: fire when the count in window reaches it
//	steps, within   sequence: [{types: [...], min: N}, ...] in order, all
//	                within the duration (min defaults to 1); an event of a
//	                later step arriving early restarts the sequence
//	min_sources     campaign: distinct low-volume sources that fire it
//	max_per_source  campaign: a source with more events than this in window
//	                is not low-volume and is left to per-source scenarios
//	min_dense       campaign: sources in one /prefix_v4 (/prefix_v6) group
//	                that make it dense (default 4)
//	prefix_v4/v6    campaign: the widest prefix ever proposed (default 24
//	                and 48)
//	blackhole       cool-down per key after firing: the key's events are
//	                ignored until it ends (campaign keeps counting and
//	                re-fires afterwards only for a new dense prefix)
//	reset_on        event types that clear the key's state (a success)
//	severity        0–10, copied to alerts
//	propose         block | rate-limit | alert (default alert)
//	labels          copied to alerts
type Scenario struct {
	Name          string            `yaml:"name" json:"name"`
	Description   string            `yaml:"description,omitempty" json:"description,omitempty"`
	Disabled      bool              `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	Kind          string            `yaml:"kind" json:"kind"`
	Types         []string          `yaml:"types,omitempty" json:"types,omitempty"`
	IndicatorOnly bool              `yaml:"indicator_only,omitempty" json:"indicator_only,omitempty"`
	Condition     string            `yaml:"condition,omitempty" json:"condition,omitempty"`
	GroupBy       string            `yaml:"group_by,omitempty" json:"group_by,omitempty"`
	Distinct      string            `yaml:"distinct,omitempty" json:"distinct,omitempty"`
	Capacity      int               `yaml:"capacity,omitempty" json:"capacity,omitempty"`
	Leak          time.Duration     `yaml:"leak,omitempty" json:"leak,omitempty"`
	Window        time.Duration     `yaml:"window,omitempty" json:"window,omitempty"`
	Threshold     int               `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	Steps         []Step            `yaml:"steps,omitempty" json:"steps,omitempty"`
	Within        time.Duration     `yaml:"within,omitempty" json:"within,omitempty"`
	MinSources    int               `yaml:"min_sources,omitempty" json:"min_sources,omitempty"`
	MaxPerSource  int               `yaml:"max_per_source,omitempty" json:"max_per_source,omitempty"`
	MinDense      int               `yaml:"min_dense,omitempty" json:"min_dense,omitempty"`
	PrefixV4      int               `yaml:"prefix_v4,omitempty" json:"prefix_v4,omitempty"`
	PrefixV6      int               `yaml:"prefix_v6,omitempty" json:"prefix_v6,omitempty"`
	Blackhole     time.Duration     `yaml:"blackhole,omitempty" json:"blackhole,omitempty"`
	ResetOn       []string          `yaml:"reset_on,omitempty" json:"reset_on,omitempty"`
	Severity      float64           `yaml:"severity" json:"severity"`
	Propose       string            `yaml:"propose,omitempty" json:"propose,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`

	// File is where the scenario was loaded from ("" when built in code).
	File string `yaml:"-" json:"file,omitempty"`
}

// Step is one stage of a sequence scenario.
type Step struct {
	Types []string `yaml:"types" json:"types"`
	// Min is how many events of Types complete the step (default 1).
	Min int `yaml:"min,omitempty" json:"min,omitempty"`
}

// Limits on scenario values, so one scenario cannot make a key's state
// unbounded.
const (
	maxThreshold  = 100_000
	maxMinSources = 1 << 16
	maxSteps      = 16
)

//go:embed scenarios/*.yaml
var bundled embed.FS

// LoadDefaults returns the bundled scenarios, in file order.
func LoadDefaults() ([]Scenario, error) {
	scs, err := loadFS(bundled, "scenarios", func(name string) string { return path.Join("scenarios", name) })
	if err != nil {
		return nil, fmt.Errorf("bundled scenarios: %w", err)
	}
	return scs, nil
}

// LoadDir loads every *.yaml file in dir, in name order. It returns only
// the directory's scenarios; Merge them over LoadDefaults so that a name
// already bundled replaces the bundled scenario and a new name adds one.
// A missing directory is an error.
func LoadDir(dir string) ([]Scenario, error) {
	scs, err := loadFS(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
	if err != nil {
		return nil, fmt.Errorf("load scenarios: %w", err)
	}
	return scs, nil
}

// loadFS parses every *.yaml file of dir in fsys, reporting all problems at
// once; display names a file in errors.
func loadFS(fsys fs.FS, dir string, display func(name string) string) ([]Scenario, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Scenario
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		name := display(e.Name())
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			continue
		}
		sc, err := Parse(data, name)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, sc...)
	}
	errs = append(errs, checkUnique(out)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Merge returns defaults with every user scenario of the same name put in
// its place, followed by the user scenarios with new names in user order.
// A user scenario with disabled: true therefore switches a default off.
func Merge(defaults, user []Scenario) []Scenario {
	// The first user scenario of a name wins; LoadDir rejects duplicates.
	first := make(map[string]int, len(user))
	for i, s := range user {
		if _, ok := first[s.Name]; !ok {
			first[s.Name] = i
		}
	}
	used := make(map[string]bool, len(user))
	out := make([]Scenario, 0, len(defaults)+len(user))
	for _, s := range defaults {
		if i, ok := first[s.Name]; ok {
			if !used[s.Name] {
				out = append(out, user[i])
				used[s.Name] = true
			}
			continue
		}
		out = append(out, s)
	}
	for i, s := range user {
		if first[s.Name] == i && !used[s.Name] {
			out = append(out, s)
			used[s.Name] = true
		}
	}
	return out
}

func checkUnique(scs []Scenario) []error {
	seen := make(map[string]string, len(scs))
	var errs []error
	for _, s := range scs {
		if s.Name == "" {
			continue
		}
		if prev, ok := seen[s.Name]; ok {
			errs = append(errs, &Error{File: s.File, Field: "name", Msg: fmt.Sprintf("duplicate scenario %q (also in %s)", s.Name, prev)})
			continue
		}
		seen[s.Name] = s.File
	}
	return errs
}

// Error is one problem with a scenario, placed in its file when known.
type Error struct {
	File      string
	Line, Col int
	// Scenario names the scenario when the problem is not placed in a file.
	Scenario string
	Field    string
	Msg      string
}

// Error renders "file:line:col: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Scenario != "":
		fmt.Fprintf(&b, "scenario %s: ", e.Scenario)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// applyDefaults fills unset optional fields; it is the only place defaults
// live.
func applyDefaults(s *Scenario) {
	if s.GroupBy == "" {
		if s.Kind == KindCampaign {
			s.GroupBy = "host"
		} else {
			s.GroupBy = "source"
		}
	}
	if s.Propose == "" {
		s.Propose = "alert"
	}
	for i := range s.Steps {
		if s.Steps[i].Min == 0 {
			s.Steps[i].Min = 1
		}
	}
	if s.Kind == KindCampaign {
		if s.MaxPerSource == 0 {
			s.MaxPerSource = 3
		}
		if s.MinDense == 0 {
			s.MinDense = 4
		}
		if s.PrefixV4 == 0 {
			s.PrefixV4 = 24
		}
		if s.PrefixV6 == 0 {
			s.PrefixV6 = 48
		}
	}
}

// problem is a validation finding before it is placed.
type problem struct {
	path []any // field path: "capacity", "steps", 1, "min"
	msg  string
	// line and col inside the field's value (an expr error), 0 when none.
	line, col int
}

func (p problem) field() string {
	var b strings.Builder
	for _, e := range p.path {
		switch v := e.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		}
	}
	return b.String()
}

// validate checks a scenario after defaults. It compiles conditions to
// report their errors; New compiles them again for use.
func validate(s *Scenario) []problem {
	var ps []problem
	add := func(msg string, path ...any) { ps = append(ps, problem{path: path, msg: msg}) }
	if s.Name == "" {
		add("required", "name")
	} else if !nameRE.MatchString(s.Name) {
		add(fmt.Sprintf("%q: use lowercase letters, digits, '.', '_' and '-'", s.Name), "name")
	}
	if s.Disabled {
		return ps
	}
	switch s.Kind {
	case KindLeaky, KindCounter, KindTrigger, KindSequence, KindCampaign:
	case "":
		add("required (leaky, counter, trigger, sequence or campaign)", "kind")
		return ps
	default:
		add(fmt.Sprintf("unknown kind %q (want leaky, counter, trigger, sequence or campaign)", s.Kind), "kind")
		return ps
	}
	checkTypes := func(types []string, path ...any) {
		seen := map[string]bool{}
		for i, t := range types {
			p := append(slices.Clone(path), i)
			if !slices.Contains(engine.Types(), t) {
				add(fmt.Sprintf("unknown event type %q", t), p...)
			} else if seen[t] {
				add(fmt.Sprintf("duplicate event type %q", t), p...)
			}
			seen[t] = true
		}
	}
	if s.Kind == KindSequence {
		if len(s.Types) > 0 {
			add("not used by a sequence; list the types in steps", "types")
		}
	} else if len(s.Types) == 0 {
		add("at least one event type required", "types")
	}
	checkTypes(s.Types, "types")
	checkTypes(s.ResetOn, "reset_on")
	for i, t := range s.ResetOn {
		if slices.Contains(s.Types, t) {
			add(fmt.Sprintf("%q is also in types", t), "reset_on", i)
		}
		for _, st := range s.Steps {
			if slices.Contains(st.Types, t) {
				add(fmt.Sprintf("%q is also in steps", t), "reset_on", i)
				break
			}
		}
	}
	if s.Condition != "" {
		if _, _, err := compileCondition(s.Condition); err != nil {
			p := problem{path: []any{"condition"}, msg: err.msg, line: err.line, col: err.col}
			ps = append(ps, p)
		}
	}
	g, err := parseFields(s.GroupBy)
	if err != nil {
		add(err.Error(), "group_by")
	}
	if s.Distinct != "" {
		f, err := parseFields(s.Distinct)
		switch {
		case err != nil || strings.Contains(s.Distinct, "+"):
			add(fmt.Sprintf("%q: want one of source, host, user, dest, signature", s.Distinct), "distinct")
		case s.Kind != KindCounter:
			add("only a counter counts distinct values", "distinct")
		case f&g != 0:
			add(fmt.Sprintf("%q is also in group_by", s.Distinct), "distinct")
		}
	}
	if s.Severity < 0 || s.Severity > 10 {
		add("must be between 0 and 10", "severity")
	}
	switch s.Propose {
	case "block", "rate-limit", "alert":
	default:
		add(fmt.Sprintf("%q: want block, rate-limit or alert", s.Propose), "propose")
	}
	if s.Blackhole < 0 {
		add("must be >= 0", "blackhole")
	}
	// Fields of one kind set on another are mistakes worth naming.
	unused := func(set bool, field string) {
		if set {
			add(fmt.Sprintf("not used by kind %s", s.Kind), field)
		}
	}
	isCampaign := s.Kind == KindCampaign
	unused(s.Kind != KindLeaky && (s.Capacity != 0), "capacity")
	unused(s.Kind != KindLeaky && (s.Leak != 0), "leak")
	unused(s.Kind != KindCounter && !isCampaign && s.Window != 0, "window")
	unused(s.Kind != KindCounter && s.Threshold != 0, "threshold")
	unused(s.Kind != KindSequence && len(s.Steps) != 0, "steps")
	unused(s.Kind != KindSequence && s.Within != 0, "within")
	unused(!isCampaign && s.MinSources != 0, "min_sources")
	unused(!isCampaign && s.MaxPerSource != 0, "max_per_source")
	unused(!isCampaign && s.MinDense != 0, "min_dense")
	unused(!isCampaign && s.PrefixV4 != 0, "prefix_v4")
	unused(!isCampaign && s.PrefixV6 != 0, "prefix_v6")
	switch s.Kind {
	case KindLeaky:
		if s.Capacity <= 0 {
			add("must be > 0", "capacity")
		} else if s.Capacity > maxThreshold {
			add(fmt.Sprintf("must be <= %d", maxThreshold), "capacity")
		}
		if s.Leak <= 0 {
			add("must be > 0", "leak")
		}
	case KindCounter:
		if s.Window <= 0 {
			add("must be > 0", "window")
		}
		if s.Threshold <= 0 {
			add("must be > 0", "threshold")
		} else if s.Threshold > maxThreshold {
			add(fmt.Sprintf("must be <= %d", maxThreshold), "threshold")
		}
	case KindSequence:
		if len(s.Steps) < 2 {
			add("a sequence needs at least 2 steps", "steps")
		} else if len(s.Steps) > maxSteps {
			add(fmt.Sprintf("at most %d steps", maxSteps), "steps")
		}
		if s.Within <= 0 {
			add("must be > 0", "within")
		}
		for i, st := range s.Steps {
			if len(st.Types) == 0 {
				add("at least one event type required", "steps", i, "types")
			}
			checkTypes(st.Types, "steps", i, "types")
			if st.Min < 1 {
				add("must be >= 1", "steps", i, "min")
			} else if st.Min > maxThreshold {
				add(fmt.Sprintf("must be <= %d", maxThreshold), "steps", i, "min")
			}
		}
	case KindCampaign:
		if s.Window <= 0 {
			add("must be > 0", "window")
		}
		if g&fieldSource != 0 {
			add("a campaign spans sources; group by host or dest", "group_by")
		}
		if s.MinSources <= 0 {
			add("must be > 0", "min_sources")
		} else if s.MinSources > maxMinSources {
			add(fmt.Sprintf("must be <= %d", maxMinSources), "min_sources")
		}
		if s.MaxPerSource <= 0 {
			add("must be > 0", "max_per_source")
		}
		if s.MinDense < 2 {
			add("must be >= 2", "min_dense")
		}
		if s.PrefixV4 < 8 || s.PrefixV4 > 32 {
			add("must be between 8 and 32", "prefix_v4")
		}
		if s.PrefixV6 < 16 || s.PrefixV6 > 128 {
			add("must be between 16 and 128", "prefix_v6")
		}
	}
	return ps
}

// sortErrors orders placed errors by file, line and column so that a
// report reads top to bottom.
func sortErrors(errs []*Error) {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
