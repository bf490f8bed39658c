package route

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// savedState is what a caller that saves every Changes holds: one record
// per key, as a key-value store would.
type savedState struct {
	alerts   map[string]AlertState
	groups   map[string]GroupState
	silences map[string]Silence
	header   Changes
}

func newSavedState() *savedState {
	s := &savedState{}
	s.reset()
	return s
}

func (s *savedState) reset() {
	s.alerts, s.groups, s.silences = map[string]AlertState{}, map[string]GroupState{}, map[string]Silence{}
}

// apply saves c, through JSON as a store would.
func (s *savedState) apply(t testing.TB, c Changes) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal changes: %v", err)
	}
	var rt Changes
	if err := json.Unmarshal(b, &rt); err != nil {
		t.Fatalf("unmarshal changes: %v", err)
	}
	if rt.Full {
		s.reset()
	}
	s.header = Changes{Version: rt.Version, SilenceSeq: rt.SilenceSeq, GroupSeq: rt.GroupSeq}
	for _, a := range rt.Alerts {
		s.alerts[a.Fingerprint] = a
	}
	for _, g := range rt.Groups {
		s.groups[g.Key] = g
	}
	for _, x := range rt.Silences {
		s.silences[x.ID] = x
	}
	for _, k := range rt.GoneAlerts {
		delete(s.alerts, k)
	}
	for _, k := range rt.GoneGroups {
		delete(s.groups, k)
	}
	for _, k := range rt.GoneSilences {
		delete(s.silences, k)
	}
}

// state reads the records back.
func (s *savedState) state() State {
	c := s.header
	for _, a := range s.alerts {
		c.Alerts = append(c.Alerts, a)
	}
	for _, g := range s.groups {
		c.Groups = append(c.Groups, g)
	}
	for _, x := range s.silences {
		c.Silences = append(c.Silences, x)
	}
	return c.State()
}

// check saves d's changes and fails unless the saved records read back as
// d's Export.
func (s *savedState) check(t testing.TB, d *Dispatcher) {
	t.Helper()
	s.apply(t, d.Changes())
	got, err := json.Marshal(s.state())
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(d.Export())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("saved changes read back as\n%s\nwant Export\n%s", got, want)
	}
}

// TestChangesAreIncremental: each change names only what it touched, and
// a closed group or expired silence is named gone.
func TestChangesAreIncremental(t *testing.T) {
	r := loadTree(t)
	now := wed
	d, err := NewDispatcher(r, Options{Now: func() time.Time { return now }, TrackChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	summary := func(c Changes) string {
		var parts []string
		if c.Full {
			parts = append(parts, "full")
		}
		for _, a := range c.Alerts {
			parts = append(parts, "alert:"+a.Alert.Key)
		}
		for _, g := range c.Groups {
			parts = append(parts, "group:"+g.Labels["host"])
		}
		for _, s := range c.Silences {
			parts = append(parts, "silence:"+s.ID)
		}
		parts = append(parts, fmt.Sprintf("gone:%d/%d/%d", len(c.GoneAlerts), len(c.GoneGroups), len(c.GoneSilences)))
		return strings.Join(parts, " ")
	}
	var fp1 string
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"nothing yet", func() {}, "gone:0/0/0"},
		{"first alert", func() { fp1 = d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8)) }, "alert:s1 group:web1 gone:0/0/0"},
		{"second alert, other group", func() { d.Add(al("s2", "ssh-bruteforce", "web2", 6, 8)) }, "alert:s2 group:web2 gone:0/0/0"},
		{"flush both", func() { d.Tick(now) }, "group:web1 group:web2 gone:0/0/0"},
		{"ack one", func() {
			if _, err := d.Ack(fp1, "bob", now); err != nil {
				t.Fatal(err)
			}
		}, "group:web1 gone:0/0/0"},
		{"resolve it", func() {
			if err := d.Resolve(fp1, now); err != nil {
				t.Fatal(err)
			}
		}, "alert:s1 gone:0/0/0"},
		{"its resolution closes its group; the other flushes", func() { now = now.Add(5 * time.Minute); d.Tick(now) }, "group:web2 gone:1/1/0"},
		{"a silence", func() {
			if _, err := d.AddSilence(Silence{Matchers: []string{"host=web9"}, StartsAt: now, EndsAt: now.Add(time.Minute), CreatedBy: "bob"}); err != nil {
				t.Fatal(err)
			}
		}, "silence:s1 gone:0/0/0"},
		{"pruned a day later", func() {
			now = now.Add(25 * time.Hour)
			d.Tick(now)
		}, "group:web2 gone:0/0/1"},
	}
	for _, st := range steps {
		st.do()
		if got := summary(d.Changes()); got != st.want {
			t.Errorf("%s: Changes = %s, want %s", st.name, got, st.want)
		}
	}
	if c := d.Changes(); !c.Empty() {
		t.Errorf("Changes twice = %+v, want empty", c)
	}
}

func TestParseID(t *testing.T) {
	g := `route.routes[1]{host="a:b/c",scenario="ssh"}#3`
	tests := []struct {
		id       string
		key      string
		seq      int
		receiver string
		ok       bool
	}{
		{g + "/12:pager", g, 12, "pager", true},
		{"route{}#1/1:ops", "route{}#1", 1, "ops", true},
		{g + "/12:", "", 0, "", false},
		{g + "/x:pager", "", 0, "", false},
		{g + "/012:pager", "", 0, "", false},
		{g + "/0:pager", "", 0, "", false},
		{"/1:pager", "", 0, "", false},
		{"no-separators", "", 0, "", false},
	}
	for _, tc := range tests {
		key, seq, rc, ok := ParseID(tc.id)
		if key != tc.key || seq != tc.seq || rc != tc.receiver || ok != tc.ok {
			t.Errorf("ParseID(%q) = %q, %d, %q, %v; want %q, %d, %q, %v", tc.id, key, seq, rc, ok, tc.key, tc.seq, tc.receiver, tc.ok)
		}
	}
	n := Notification{Key: g + "/7", Receiver: "lead"}
	if key, seq, rc, ok := ParseID(n.ID()); !ok || key != g || seq != 7 || rc != "lead" {
		t.Errorf("ParseID(ID()) = %q, %d, %q, %v; want the notification's own parts", key, seq, rc, ok)
	}
}

// TestImportKeepsResolveTimeout: a dispatcher restored from saved state
// still resolves the alerts the engine stopped raising.
func TestImportKeepsResolveTimeout(t *testing.T) {
	r := loadTree(t)
	now := wed
	opt := Options{Now: func() time.Time { return now }, ResolveTimeout: 10 * time.Minute, TrackChanges: true}
	d, err := NewDispatcher(r, opt)
	if err != nil {
		t.Fatal(err)
	}
	d.Add(al("s1", "ssh-bruteforce", "web1", 6, 8))
	d.Tick(now)
	restored, err := NewDispatcher(r, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.Import(d.Export()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, at := range []time.Duration{9 * time.Minute, 11 * time.Minute, 16 * time.Minute} {
		now = wed.Add(at)
		for _, n := range restored.Tick(now) {
			got = append(got, fmt.Sprintf("%v %s %s", at, n.Receiver, n.Status))
		}
	}
	if want := "16m0s pager resolved"; strings.Join(got, "|") != want {
		t.Errorf("after restoring: %q, want %q", strings.Join(got, "|"), want)
	}
}
