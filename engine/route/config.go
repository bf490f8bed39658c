package route

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the routing section of the config file: the tree, the
// receivers it may name, time intervals and inhibition rules.
//
//	route:
//	  receiver: ops
//	  group_by: [scenario, host]
//	  routes:
//	    - matchers: ["risk>=7", "role!=lab"]
//	      escalation:
//	        levels:
//	          - receivers: [pager]
//	          - receivers: [oncall-lead]
//	            after: 15m
type Config struct {
	Route Route `yaml:"route"`
	// Receivers are the names routes may use. Their channels are configured
	// with the notifiers; a caller that has them can fill this list from
	// there before Validate.
	Receivers []string `yaml:"receivers"`
	// ResolveTimeout resolves an alert the engine has not raised again
	// for this long; 0 keeps alerts firing until resolved explicitly.
	ResolveTimeout *Duration      `yaml:"resolve_timeout"`
	TimeIntervals  []TimeInterval `yaml:"time_intervals"`
	InhibitRules   []InhibitRule  `yaml:"inhibit_rules"`
}

// Route is a node of the tree. A child inherits what it leaves unset: who
// to notify (receiver and escalation, as one unit), group_by, the three
// intervals, and the active and mute time intervals.
type Route struct {
	// Receiver is notified at the first (only) level when the route has no
	// escalation.
	Receiver string `yaml:"receiver"`
	// Matchers must all match ("scenario=~ssh-.*", "risk>=7"). The root
	// takes none: it matches every alert.
	Matchers []string `yaml:"matchers"`
	// Continue lets the siblings after a matching route be tried too.
	Continue bool `yaml:"continue"`
	// GroupBy names the labels whose values make a group; "..." groups by
	// every label (one group per distinct alert).
	GroupBy []string `yaml:"group_by"`
	// GroupWait delays a new group's first notification to collect more
	// alerts.
	GroupWait *Duration `yaml:"group_wait"`
	// GroupInterval spaces notifications about changes to a group.
	GroupInterval *Duration `yaml:"group_interval"`
	// RepeatInterval is how long a firing group stays quiet before it is
	// notified again although nothing changed.
	RepeatInterval *Duration `yaml:"repeat_interval"`
	// ActiveTimeIntervals, when set, limit notifications to those times.
	ActiveTimeIntervals []string `yaml:"active_time_intervals"`
	// MuteTimeIntervals suppress notifications during those times.
	MuteTimeIntervals []string    `yaml:"mute_time_intervals"`
	Escalation        *Escalation `yaml:"escalation"`
	Routes            []Route     `yaml:"routes"`
}

// Escalation is a chain of levels. Level 1 (levels[0], after 0) is
// notified first; level n is notified when the group has been firing
// unacknowledged for levels[n-1].after since the first notification.
type Escalation struct {
	Levels []Level `yaml:"levels"`
}

// Level is one step of an escalation.
type Level struct {
	Receivers []string `yaml:"receivers"`
	// After is measured from the group's first notification.
	After Duration `yaml:"after"`
}

// TimeInterval is a named set of times in a location: it contains an
// instant when the instant's weekday is in Weekdays (any day when empty)
// and its time of day is in one of Times (all day when empty).
type TimeInterval struct {
	Name  string      `yaml:"name"`
	Times []TimeRange `yaml:"times"`
	// Weekdays are day names or inclusive ranges: "monday:friday",
	// "saturday".
	Weekdays []string `yaml:"weekdays"`
	// Location is an IANA time zone ("Europe/Paris"); UTC when empty.
	Location string `yaml:"location"`
}

// TimeRange is [StartTime, EndTime) in "15:04" form; EndTime may be
// "24:00".
type TimeRange struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

// InhibitRule mutes alerts matching TargetMatchers while an alert matching
// SourceMatchers fires with the same values of the Equal labels (a critical
// alert about a host mutes the warnings about that host). An alert never
// inhibits itself.
type InhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

// Duration is a time.Duration that YAML writes as "15m"; a bare 0 is
// accepted.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(b []byte) error {
	v, err := parseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// String renders the duration like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(s string) (time.Duration, error) {
	s = strings.Trim(s, `"'`)
	if s == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use h, m, s: 30s, 5m, 4h)", s)
	}
	return v, nil
}

func dur(d time.Duration) *Duration { v := Duration(d); return &v }

// The defaults for the root route, as in Alertmanager.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// Defaults returns the config a file is decoded over: the root's
// intervals set, nothing else.
func Defaults() Config {
	return Config{Route: Route{
		GroupWait:      dur(DefaultGroupWait),
		GroupInterval:  dur(DefaultGroupInterval),
		RepeatInterval: dur(DefaultRepeatInterval),
	}}
}

// FieldError is a configuration error at a field path such as
// "route.routes[2].receiver".
type FieldError struct {
	Field string
	Msg   string
}

// Error renders "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports every problem, each a *FieldError naming its field.
func (c *Config) Validate() error {
	var errs []error
	if c.ResolveTimeout != nil && *c.ResolveTimeout < 0 {
		errs = append(errs, fieldErr("resolve_timeout", "must not be negative"))
	}
	receivers := map[string]bool{}
	for i, r := range c.Receivers {
		f := fmt.Sprintf("receivers[%d]", i)
		switch {
		case r == "":
			errs = append(errs, fieldErr(f, "empty receiver name"))
		case receivers[r]:
			errs = append(errs, fieldErr(f, "duplicate receiver %q", r))
		}
		receivers[r] = true
	}
	intervals := map[string]bool{}
	for i := range c.TimeIntervals {
		ti := &c.TimeIntervals[i]
		f := fmt.Sprintf("time_intervals[%d]", i)
		switch {
		case ti.Name == "":
			errs = append(errs, fieldErr(f+".name", "required"))
		case intervals[ti.Name]:
			errs = append(errs, fieldErr(f+".name", "duplicate time interval %q", ti.Name))
		}
		intervals[ti.Name] = true
		errs = append(errs, ti.validate(f)...)
	}
	v := validator{receivers: receivers, intervals: intervals}
	r := &c.Route
	if r.Receiver == "" && r.Escalation == nil {
		errs = append(errs, fieldErr("route.receiver", "the root route needs a receiver or an escalation"))
	}
	if len(r.Matchers) > 0 {
		errs = append(errs, fieldErr("route.matchers", "the root route matches every alert; it takes no matchers"))
	}
	if r.Continue {
		errs = append(errs, fieldErr("route.continue", "the root route cannot continue"))
	}
	errs = append(errs, v.route(r, "route")...)
	for i, ir := range c.InhibitRules {
		f := fmt.Sprintf("inhibit_rules[%d]", i)
		if len(ir.SourceMatchers) == 0 {
			errs = append(errs, fieldErr(f+".source_matchers", "required"))
		}
		if len(ir.TargetMatchers) == 0 {
			errs = append(errs, fieldErr(f+".target_matchers", "required"))
		}
		errs = append(errs, matcherErrs(ir.SourceMatchers, f+".source_matchers")...)
		errs = append(errs, matcherErrs(ir.TargetMatchers, f+".target_matchers")...)
		for j, l := range ir.Equal {
			if !validLabelName(l) {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.equal[%d]", f, j), "bad label name %q", l))
			}
		}
	}
	return errors.Join(errs...)
}

type validator struct {
	receivers, intervals map[string]bool
}

func (v *validator) route(r *Route, f string) []error {
	var errs []error
	if r.Receiver != "" && !v.receivers[r.Receiver] {
		errs = append(errs, fieldErr(f+".receiver", "unknown receiver %q%s", r.Receiver, v.known()))
	}
	errs = append(errs, matcherErrs(r.Matchers, f+".matchers")...)
	seen := map[string]bool{}
	for i, l := range r.GroupBy {
		ff := fmt.Sprintf("%s.group_by[%d]", f, i)
		switch {
		case l == "...":
			if len(r.GroupBy) > 1 {
				errs = append(errs, fieldErr(ff, `"..." groups by every label; list nothing else`))
			}
		case !validLabelName(l):
			errs = append(errs, fieldErr(ff, "bad label name %q", l))
		case seen[l]:
			errs = append(errs, fieldErr(ff, "duplicate label %q", l))
		}
		seen[l] = true
	}
	if d := r.GroupWait; d != nil && *d < 0 {
		errs = append(errs, fieldErr(f+".group_wait", "must be >= 0"))
	}
	if d := r.GroupInterval; d != nil && *d <= 0 {
		errs = append(errs, fieldErr(f+".group_interval", "must be > 0"))
	}
	if d := r.RepeatInterval; d != nil && *d <= 0 {
		errs = append(errs, fieldErr(f+".repeat_interval", "must be > 0"))
	}
	for i, n := range r.ActiveTimeIntervals {
		if !v.intervals[n] {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.active_time_intervals[%d]", f, i), "unknown time interval %q", n))
		}
	}
	for i, n := range r.MuteTimeIntervals {
		if !v.intervals[n] {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.mute_time_intervals[%d]", f, i), "unknown time interval %q", n))
		}
	}
	if e := r.Escalation; e != nil {
		ef := f + ".escalation.levels"
		if len(e.Levels) == 0 {
			errs = append(errs, fieldErr(ef, "an escalation needs at least one level"))
		}
		for i, l := range e.Levels {
			lf := fmt.Sprintf("%s[%d]", ef, i)
			if len(l.Receivers) == 0 {
				errs = append(errs, fieldErr(lf+".receivers", "required"))
			}
			for j, name := range l.Receivers {
				if !v.receivers[name] {
					errs = append(errs, fieldErr(fmt.Sprintf("%s.receivers[%d]", lf, j), "unknown receiver %q%s", name, v.known()))
				}
			}
			switch {
			case i == 0 && l.After != 0:
				errs = append(errs, fieldErr(lf+".after", "the first level is notified at once; after must be 0"))
			case i > 0 && l.After <= e.Levels[i-1].After:
				errs = append(errs, fieldErr(lf+".after", "must be later than the previous level's %s", e.Levels[i-1].After))
			}
		}
	}
	for i := range r.Routes {
		c := &r.Routes[i]
		errs = append(errs, v.route(c, fmt.Sprintf("%s.routes[%d]", f, i))...)
	}
	return errs
}

func (v *validator) known() string {
	if len(v.receivers) == 0 {
		return " (no receivers are defined)"
	}
	names := make([]string, 0, len(v.receivers))
	for n := range v.receivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}

func matcherErrs(ss []string, f string) []error {
	var errs []error
	for i, s := range ss {
		if _, err := ParseMatcher(s); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("%s[%d]", f, i), "%v", err))
		}
	}
	return errs
}

func (ti *TimeInterval) validate(f string) []error {
	var errs []error
	if _, err := loadLocation(ti.Location); err != nil {
		errs = append(errs, fieldErr(f+".location", "unknown time zone %q", ti.Location))
	}
	for i, tr := range ti.Times {
		tf := fmt.Sprintf("%s.times[%d]", f, i)
		s, err1 := parseClock(tr.StartTime)
		if err1 != nil {
			errs = append(errs, fieldErr(tf+".start_time", "%v", err1))
		}
		e, err2 := parseClock(tr.EndTime)
		if err2 != nil {
			errs = append(errs, fieldErr(tf+".end_time", "%v", err2))
		}
		if err1 == nil && err2 == nil && s >= e {
			errs = append(errs, fieldErr(tf+".end_time", "must be after start_time %s (split a range that crosses midnight in two)", tr.StartTime))
		}
	}
	for i, w := range ti.Weekdays {
		if _, err := parseWeekdays(w); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.weekdays[%d]", f, i), "%v", err))
		}
	}
	return errs
}

func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// parseClock reads "15:04" (or "24:00") as minutes since midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("bad time %q (want HH:MM)", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q (want HH:MM, 00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// parseWeekdays reads "monday" or an inclusive range "monday:friday"
// (which may wrap: "saturday:sunday") as a bit set.
func parseWeekdays(s string) (uint8, error) {
	a, b, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	from, ok1 := weekdayNames[a]
	to := from
	ok2 := true
	if isRange {
		to, ok2 = weekdayNames[b]
	}
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("bad weekday %q (want a day name or a range such as monday:friday)", s)
	}
	var set uint8
	for d := from; ; d = (d + 1) % 7 {
		set |= 1 << d
		if d == to {
			break
		}
	}
	return set, nil
}
