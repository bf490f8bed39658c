package route

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown-receiver.yaml", []string{
			`unknown-receiver.yaml:6:17: route.routes[0].receiver: unknown receiver "oncall" (known: ops, pager)`,
			`unknown-receiver.yaml:11:25: route.routes[1].escalation.levels[1].receivers[0]: unknown receiver "boss" (known: ops, pager)`,
		}},
		{"bad-matchers.yaml", []string{
			"bad-matchers.yaml:6:11: route.routes[0].matchers[0]: matcher \"scenario=~ssh-(.*\": bad regexp: error parsing regexp: missing closing ): `ssh-(.*`",
			`bad-matchers.yaml:7:11: route.routes[0].matchers[1]: matcher "risk>=high": >= needs a number, got "high"`,
			`bad-matchers.yaml:8:11: route.routes[0].matchers[2]: matcher "role" has no operator`,
			"bad-matchers.yaml:12:23: inhibit_rules[0].target_matchers[0]: matcher \"host!~[\": bad regexp",
			`bad-matchers.yaml:13:19: inhibit_rules[0].equal[1]: bad label name "bad label"`,
		}},
		{"bad-duration.yaml", []string{
			`bad-duration.yaml:4:15: route.group_wait: invalid duration "30 seconds"`,
			`bad-duration.yaml:7:24: route.routes[0].repeat_interval: invalid duration "4hours"`,
		}},
		{"unknown-interval.yaml", []string{
			`unknown-interval.yaml:10:31: route.routes[0].active_time_intervals[0]: unknown time interval "office-hours"`,
		}},
		{"unknown-field.yaml", []string{
			`unknown-field.yaml:6:7: unknown field "reciever"`,
		}},
		{"escalation.yaml", []string{
			`escalation.yaml:9:20: route.routes[0].escalation.levels[0].after: the first level is notified at once; after must be 0`,
			`escalation.yaml:11:20: route.routes[0].escalation.levels[1].after: must be later than the previous level's 5m0s`,
			`escalation.yaml:12:24: route.routes[0].escalation.levels[2].receivers: required`,
		}},
		{"time-intervals.yaml", []string{
			`time-intervals.yaml:4:45: time_intervals[0].times[0].end_time: must be after start_time 22:00`,
			`time-intervals.yaml:5:15: time_intervals[0].location: unknown time zone "Mars/Olympus_Mons"`,
			`time-intervals.yaml:6:11: time_intervals[1].name: duplicate time interval "nights"`,
			`time-intervals.yaml:7:16: time_intervals[1].weekdays[0]: bad weekday "funday"`,
			`time-intervals.yaml:8:26: time_intervals[1].times[0].start_time: bad time "9:00"`,
			`time-intervals.yaml:8:44: time_intervals[1].times[0].end_time: bad time "25:00"`,
		}},
		{"root.yaml", []string{
			`root.yaml:2:11: route.receiver: the root route needs a receiver or an escalation`,
			`root.yaml:2:13: route.matchers: the root route matches every alert; it takes no matchers`,
			`root.yaml:3:13: route.continue: the root route cannot continue`,
			`root.yaml:4:19: route.group_interval: must be > 0`,
			`root.yaml:5:20: route.group_by[1]: duplicate label "host"`,
			`root.yaml:5:26: route.group_by[2]: "..." groups by every label; list nothing else`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "errors", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, tc.file)
			if err == nil {
				t.Fatalf("Parse(%s) = nil error, want %d", tc.file, len(tc.want))
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("Parse(%s) errors:\n%s\nwant %d:\n%s", tc.file, err, len(tc.want), strings.Join(tc.want, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("Parse(%s) error %d = %q, want prefix %q", tc.file, i, got[i], w)
				}
			}
		})
	}
}

func TestParseTree(t *testing.T) {
	data, err := os.ReadFile("testdata/tree.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, "tree.yaml")
	if err != nil {
		t.Fatalf("Parse(tree.yaml) = %v", err)
	}
	if len(cfg.Route.Routes) != 4 || len(cfg.TimeIntervals) != 3 || len(cfg.InhibitRules) != 1 {
		t.Errorf("Parse(tree.yaml) = %d routes, %d intervals, %d inhibit rules; want 4, 3, 1",
			len(cfg.Route.Routes), len(cfg.TimeIntervals), len(cfg.InhibitRules))
	}
	esc := cfg.Route.Routes[1].Escalation
	if esc == nil || len(esc.Levels) != 3 || time.Duration(esc.Levels[2].After) != 30*time.Minute {
		t.Errorf("routes[1].escalation = %+v, want three levels, the last after 30m", esc)
	}
	if _, err := Parse(nil, "empty.yaml"); err == nil || !strings.HasPrefix(err.Error(), "empty.yaml:1:1: route: required") {
		t.Errorf("Parse(empty) = %v, want route: required", err)
	}
}

func TestDefaultsApplyToAProgrammaticConfig(t *testing.T) {
	r, err := New(Config{Receivers: []string{"ops"}, Route: Route{Receiver: "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Match(nil)
	if len(got) != 1 || got[0].GroupWait != DefaultGroupWait || got[0].GroupInterval != DefaultGroupInterval || got[0].RepeatInterval != DefaultRepeatInterval {
		t.Errorf("Match = %+v, want the root with default intervals", got)
	}
}
