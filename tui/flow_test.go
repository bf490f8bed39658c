package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// probe records the frame the model would draw, from inside the program's
// event loop (a tea filter), so a flow can wait on what the analyst sees
// without diffing terminal bytes or touching the model from the test.
type probe struct {
	mu    sync.Mutex
	frame string
}

func (p *probe) filter(m tea.Model, msg tea.Msg) tea.Msg {
	frame := ansi.Strip(m.View().Content)
	p.mu.Lock()
	p.frame = frame
	p.mu.Unlock()
	return msg
}

func (p *probe) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frame
}

// flow runs the console over fx in a teatest program at 132×40.
type flow struct {
	t  *testing.T
	tm *teatest.TestModel
	fx *fixture
	p  *probe
}

func startFlow(t *testing.T, fx *fixture) *flow {
	t.Helper()
	p := &probe{}
	// A short refresh keeps the flow quick; polls also keep messages, and
	// so probe frames, coming.
	m := New(fx, Options{Now: fixedNow, Refresh: 10 * time.Millisecond})
	tm := teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(132, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(p.filter)),
	)
	f := &flow{t: t, tm: tm, fx: fx, p: p}
	f.waitScreen("first snapshot", func(s string) bool { return strings.Contains(s, "● live") })
	return f
}

func (f *flow) keys(ks ...string) {
	for _, k := range ks {
		f.tm.Send(press(k))
	}
}

func (f *flow) typeText(s string) { f.tm.Type(s) }

// until waits for cond, draining the program's output as it goes.
func (f *flow) until(what string, cond func() bool) {
	f.t.Helper()
	teatest.WaitFor(f.t, f.tm.Output(), func([]byte) bool { return cond() },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	if !cond() {
		f.t.Fatalf("never saw %s", what)
	}
}

func (f *flow) waitScreen(what string, cond func(string) bool) {
	f.t.Helper()
	ok := false
	teatest.WaitFor(f.t, f.tm.Output(), func([]byte) bool {
		ok = cond(f.p.screen())
		return ok
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	if !ok {
		f.t.Fatalf("never saw %s; screen:\n%s", what, f.p.screen())
	}
}

// quit ends the program and returns its last frame.
func (f *flow) quit() string {
	f.t.Helper()
	f.keys("q")
	m := f.tm.FinalModel(f.t, teatest.WithFinalTimeout(5*time.Second))
	return screen(m.(*Model))
}

func contains(parts ...string) func(string) bool {
	return func(s string) bool {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	}
}

func TestFlows(t *testing.T) {
	tests := []struct {
		name string
		run  func(f *flow)
	}{
		{name: "approve moves to active", run: func(f *flow) {
			f.keys("4", "a")
			f.until("Approve(D0101)", func() bool {
				approved, _, _, _, _ := f.fx.state()
				return slices.Equal(approved, []string{"D0101"})
			})
			f.waitScreen("pending shrink", contains("[4 Pending 2]", "✓ approved block 198.51.100.7"))
			f.keys("5")
			f.waitScreen("decision active", contains("[5 Active 3]", "198.51.100.7"))
			f.keys("6")
			f.waitScreen("audit record", contains("alice", "approve", "D0101 198.51.100.7"))
			if got := f.quit(); !strings.Contains(got, "D0101 198.51.100.7") {
				t.Errorf("final screen lacks the audit record:\n%s", got)
			}
		}},
		{name: "reject with typed reason", run: func(f *flow) {
			f.keys("4", "j", "r")
			f.waitScreen("reason prompt", contains("reason for rejecting rate-limit 2001:db8::bad"))
			// q and digits are text while the prompt is open, not commands.
			f.typeText("scanner in qa lab 2")
			f.keys("enter")
			f.until("Reject(D0102)", func() bool {
				_, rejected, _, _, _ := f.fx.state()
				return rejected["D0102"] == "scanner in qa lab 2"
			})
			f.waitScreen("pending shrink", contains("[4 Pending 2]", "✓ rejected rate-limit 2001:db8::bad"))
			f.quit()
		}},
		{name: "rollback after confirmation", run: func(f *flow) {
			f.keys("5", "u")
			f.waitScreen("confirmation", contains("? roll back block 198.51.100.23 on all now [y/n]"))
			f.keys("n")
			f.waitScreen("prompt closed", func(s string) bool { return !strings.Contains(s, "roll back") })
			if _, _, rolled, _, _ := f.fx.state(); len(rolled) != 0 {
				t.Fatalf("Rollback called after n: %v", rolled)
			}
			f.keys("u", "y")
			f.until("Rollback(D0090)", func() bool {
				_, _, rolled, _, _ := f.fx.state()
				return slices.Equal(rolled, []string{"D0090"})
			})
			f.waitScreen("decision gone", contains("[5 Active 1]", "✓ rolled back block 198.51.100.23"))
			// Its countdown (10m05s) went with it.
			if got := f.quit(); strings.Contains(got, "10m05s") {
				t.Errorf("rolled-back decision still listed:\n%s", got)
			}
		}},
		{name: "wide needs typed target", run: func(f *flow) {
			f.keys("4", "j", "j", "a")
			f.waitScreen("typed prompt", contains("WIDE block 203.0.113.0/24: type 203.0.113.0/24"))
			f.keys("y", "enter")
			f.waitScreen("mismatch", contains("does not match"))
			f.typeText("203.0.113.0/24")
			f.waitScreen("still typing", contains("does not match"))
			if approved, _, _, _, _ := f.fx.state(); len(approved) != 0 {
				t.Fatalf("Approve called before the target was typed: %v", approved)
			}
			// Clear the stray "y", then type the target exactly.
			f.keys("esc", "a")
			f.typeText("203.0.113.0/24")
			f.keys("enter")
			f.until("Approve(D0103)", func() bool {
				approved, _, _, _, _ := f.fx.state()
				return slices.Equal(approved, []string{"D0103"})
			})
			f.quit()
		}},
		{name: "approve all skips wide unless typed", run: func(f *flow) {
			f.keys("4", "A")
			f.waitScreen("confirmation", contains("approve all 2 pending shown"))
			f.keys("y")
			f.waitScreen("wide asks", contains("WIDE block 203.0.113.0/24"))
			f.keys("esc")
			f.until("narrow ones approved", func() bool {
				approved, _, _, _, _ := f.fx.state()
				return slices.Equal(approved, []string{"D0101", "D0102"})
			})
			f.waitScreen("only wide left", contains("[4 Pending 1]"))
			f.quit()
			if approved, _, _, _, _ := f.fx.state(); slices.Contains(approved, "D0103") {
				t.Errorf("wide decision approved without its typed target")
			}
		}},
		{name: "edit ttl and gateways then approve", run: func(f *flow) {
			f.keys("4", "e")
			f.waitScreen("ttl prompt", contains("edit block 198.51.100.7 ttl from approval"))
			f.typeText("30m")
			f.keys("enter")
			f.waitScreen("gateways prompt", contains("edit block 198.51.100.7 gateways", "ttl 30m from approval (proposed 4h00m)"))
			f.typeText("gw9")
			f.keys("enter")
			f.waitScreen("unknown gateway", contains(`! unknown gateway "gw9"`))
			f.keys("esc", "e", "enter")
			f.waitScreen("gateways prompt again", contains("edit block 198.51.100.7 gateways"))
			f.typeText("gw2")
			f.keys("enter")
			f.waitScreen("read back", contains("? approve edited block 198.51.100.7 as shown above [y/n]", "gateways gw2 (proposed gw1)"))
			f.keys("y")
			f.until("ApproveEdited(D0101)", func() bool {
				eds, _ := f.fx.changes()
				e, ok := eds["D0101"]
				return ok && e.ttl == 0 && slices.Equal(e.gateways, []string{"gw2"})
			})
			f.waitScreen("approved", contains("[4 Pending 2]", "✓ approved block 198.51.100.7 (ttl 4h00m as proposed, on gw2)"))
			f.keys("5")
			f.waitScreen("active on gw2", contains("[5 Active 3]", "198.51.100.7", "✓ gw2"))
			f.quit()
		}},
		{name: "edit ttl of a wide one needs its target", run: func(f *flow) {
			f.keys("4", "j", "j", "e")
			f.typeText("2h")
			f.keys("enter", "enter")
			f.waitScreen("typed prompt", contains("WIDE edited block 203.0.113.0/24: type 203.0.113.0/24"))
			f.typeText("203.0.113.0/24")
			f.keys("enter")
			f.until("ApproveEdited(D0103)", func() bool {
				eds, _ := f.fx.changes()
				e, ok := eds["D0103"]
				return ok && e.ttl == 2*time.Hour && e.gateways == nil
			})
			f.quit()
		}},
		{name: "extend", run: func(f *flow) {
			f.keys("5", "x")
			f.waitScreen("extend prompt", contains("extend block 198.51.100.23 (10m05s left) by how long?"))
			f.typeText("later")
			f.keys("enter")
			f.waitScreen("invalid", contains(`! "later": want a positive duration`))
			f.keys("esc", "x")
			f.typeText("90m")
			f.keys("enter")
			f.until("Extend(D0090, 90m)", func() bool {
				_, ext := f.fx.changes()
				return ext["D0090"] == 90*time.Minute
			})
			// Refreshed at once: 10m05s + 1h30m left.
			f.waitScreen("extended", contains("✓ extended block 198.51.100.23 by 1h30m", "1h40m"))
			f.quit()
		}},
		{name: "silence with the suggested matchers", run: func(f *flow) {
			f.keys("3", "s")
			f.waitScreen("matchers prompt", contains("silence A0002 ids-exploit: which alerts?", "> scenario=ids-exploit source=2001:db8::bad"))
			f.keys("enter")
			f.waitScreen("duration prompt", contains("silence for how long?"))
			f.keys("enter")
			f.waitScreen("comment prompt", contains("why? a comment is required"))
			// q and K are text while the prompt is open, not commands.
			f.typeText("known scanner, Q4 pentest by K")
			f.keys("enter")
			f.until("Silence", func() bool {
				sils, _ := f.fx.notices()
				return len(sils) == 1
			})
			sils, _ := f.fx.notices()
			want := silenceCall{matchers: []string{"scenario=ids-exploit", "source=2001:db8::bad"}, d: 2 * time.Hour, comment: "known scanner, Q4 pentest by K"}
			if got := sils[0]; !slices.Equal(got.matchers, want.matchers) || got.d != want.d || got.comment != want.comment {
				t.Errorf("Silence got %+v, want %+v", got, want)
			}
			f.waitScreen("silenced", contains("✓ silenced as s1 for 2h"))
			f.keys("6")
			f.waitScreen("audit record", contains("silence", "s1 scenario=ids-exploit,source=2001:db8::bad for 2h0m0s"))
			f.quit()
		}},
		{name: "silence a campaign for 30m", run: func(f *flow) {
			f.keys("3", "j", "j", "s")
			f.waitScreen("matchers prompt", contains("> scenario=ssh-campaign prefixes=203.0.113.0/24"))
			f.keys("enter")
			f.typeText("0s")
			f.keys("enter")
			f.waitScreen("zero refused", contains(`! "0s": want a positive duration`))
			f.keys("backspace", "backspace")
			f.typeText("30m")
			f.keys("enter", "enter")
			f.waitScreen("comment required", contains("! a comment is required, or esc"))
			f.typeText("lab range")
			f.keys("enter")
			f.until("Silence(campaign)", func() bool {
				sils, _ := f.fx.notices()
				return len(sils) == 1 && slices.Equal(sils[0].matchers, []string{"scenario=ssh-campaign", "prefixes=203.0.113.0/24"}) &&
					sils[0].d == 30*time.Minute && sils[0].comment == "lab range"
			})
			f.waitScreen("silenced", contains("✓ silenced as s1 for 30m"))
			f.quit()
		}},
		{name: "silence esc silences nothing", run: func(f *flow) {
			f.keys("3", "s", "enter", "esc")
			f.waitScreen("back to the table", contains("enter detail • s silence"))
			f.keys("q")
			f.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
			if sils, _ := f.fx.notices(); len(sils) != 0 {
				t.Errorf("esc silenced %+v", sils)
			}
		}},
		{name: "ack asks then acks", run: func(f *flow) {
			f.keys("3", "j", "K")
			f.waitScreen("confirm", contains("? acknowledge A0004 ssh-bruteforce 198.51.100.7 [y/n]"))
			f.keys("y")
			f.until("Ack(A0004)", func() bool {
				_, acked := f.fx.notices()
				return slices.Equal(acked, []string{"A0004"})
			})
			f.waitScreen("acked", contains("✓ acknowledged A0004 ssh-bruteforce 198.51.100.7"))
			f.quit()
		}},
		{name: "ack n does nothing", run: func(f *flow) {
			f.keys("3", "K", "n")
			f.waitScreen("back to the table", contains("enter detail • s silence"))
			f.keys("q")
			f.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
			if _, acked := f.fx.notices(); len(acked) != 0 {
				t.Errorf("n acknowledged %v", acked)
			}
		}},
		{name: "ack and silence errors show", run: func(f *flow) {
			f.fx.setActionErr(errors.New("control socket: permission denied"))
			f.keys("3", "K", "y")
			f.waitScreen("ack failed", contains("! ack A0002 ids-exploit 2001:db8::bad: control socket: permission denied"))
			f.keys("s", "enter", "enter")
			f.typeText("noisy")
			f.keys("enter")
			f.waitScreen("silence failed", contains("! silence A0002 ids-exploit 2001:db8::bad: control socket: permission denied"))
			f.quit()
		}},
		{name: "palette ack and silence", run: func(f *flow) {
			f.keys(":")
			f.typeText("ack a0001")
			f.keys("enter")
			f.waitScreen("confirm", contains("[3 Alerts 4]", "? acknowledge A0001 ssh-user-enum 192.0.2.55 [y/n]"))
			f.keys("y")
			f.until("Ack(A0001)", func() bool {
				_, acked := f.fx.notices()
				return slices.Equal(acked, []string{"A0001"})
			})
			f.keys(":")
			f.typeText("silence A0004 4h brute forcer is our own scanner")
			f.keys("enter")
			f.until("Silence(A0004)", func() bool {
				sils, _ := f.fx.notices()
				return len(sils) == 1 && slices.Equal(sils[0].matchers, []string{"scenario=ssh-bruteforce", "source=198.51.100.7"}) &&
					sils[0].d == 4*time.Hour && sils[0].comment == "brute forcer is our own scanner"
			})
			f.waitScreen("silenced", contains("✓ silenced as s1 for 4h"))
			f.quit()
		}},
		{name: "palette approve and view", run: func(f *flow) {
			f.keys(":")
			f.typeText("appr")
			f.keys("tab")
			f.typeText("d0101")
			f.keys("enter")
			f.until("Approve(D0101)", func() bool {
				approved, _, _, _, _ := f.fx.state()
				return slices.Equal(approved, []string{"D0101"})
			})
			f.waitScreen("pending shrink", contains("[4 Pending 2]", "✓ approved block 198.51.100.7"))
			f.keys(":")
			f.typeText("view 3")
			f.keys("enter")
			f.waitScreen("alerts", contains("[3 Alerts 4]", "sorted by risk"))
			f.keys(":")
			f.typeText("approve D0103")
			f.keys("enter")
			f.waitScreen("wide asks for its target", contains("[4 Pending 2]", "WIDE block 203.0.113.0/24: type 203.0.113.0/24"))
			f.keys("esc")
			f.quit()
			if approved, _, _, _, _ := f.fx.state(); slices.Contains(approved, "D0103") {
				t.Errorf("palette approved a wide decision without its typed target")
			}
		}},
		{name: "palette filter", run: func(f *flow) {
			f.keys(":")
			f.typeText("filter user:nobody port:22")
			f.keys("enter")
			f.waitScreen("bad term", contains(`! port:22: unknown field "port"`))
			f.keys("esc", ":")
			f.typeText("filter user:root")
			f.keys("enter")
			f.waitScreen("filtered events", contains("[2 Events]", "filter: user:root"))
			f.quit()
		}},
		{name: "filter events", run: func(f *flow) {
			f.keys("2", "/")
			f.typeText("source:203.0.113.0/24 type:ssh.auth.failure")
			f.keys("enter")
			f.waitScreen("filtered", contains("filter: source:203.0.113.0/24 type:ssh.auth.failure · 13 of 45 match"))
			rows := eventRows(f.p.screen())
			if len(rows) != 13 {
				t.Errorf("filtered list shows %d events, want 13:\n%s", len(rows), f.p.screen())
			}
			for _, r := range rows {
				if !strings.Contains(r, "ssh.auth.failure") || !strings.Contains(r, "203.0.113.") {
					t.Errorf("filtered list shows %q", r)
				}
			}
			// A new match shows up under the filter; the rest stay out.
			addMore(7)(f.fx)
			f.waitScreen("new match", contains("15 of 52 match"))
			f.keys("/", "enter")
			f.waitScreen("filter cleared", func(s string) bool {
				return !strings.Contains(s, "filter:") && strings.Contains(s, "198.51.100.7") && strings.Contains(s, "scanner.example.net")
			})
			f.quit()
		}},
		{name: "pause", run: func(f *flow) {
			f.keys("2")
			f.waitScreen("following", contains("following · 45 kept", "› 11:59:53 ids.alert"))
			f.keys("p")
			f.waitScreen("paused", contains("PAUSED — 0 new"))
			before := eventRows(f.p.screen())
			addMore(5)(f.fx)
			f.waitScreen("new events counted", contains("PAUSED — 5 new", "50 kept"))
			if after := eventRows(f.p.screen()); !slices.Equal(after, before) {
				t.Errorf("paused list moved:\nbefore %q\nafter  %q", before, after)
			}
			f.keys("p")
			f.waitScreen("following the tail", func(s string) bool {
				rows := eventRows(s)
				return strings.Contains(s, "following · 50 kept") && len(rows) > 0 &&
					strings.HasPrefix(rows[len(rows)-1], "› 12:00:28 ssh.auth.invalid_user")
			})
			f.quit()
		}},
		{name: "incident ack then close with a reason", run: func(f *flow) {
			f.keys("7")
			f.waitScreen("incidents", contains("[7 Incidents 3]", "in-00000004 new"))
			f.keys("j", "enter")
			f.waitScreen("detail", contains("Incident in-00000004 · NEW", "Timeline (6)", "/var/log/auth.log:1000"))
			f.keys("K")
			f.waitScreen("confirm", contains("? acknowledge in-00000004 ssh-bruteforce from 198.51.100.7 [y/n]"))
			f.keys("y")
			f.until("IncidentAct(ack)", func() bool {
				acts := f.fx.incidentActs()
				return len(acts) == 1 && acts[0].ID == "in-00000004" && acts[0].State == "acknowledged"
			})
			// The detail is read again: the state, the response time and
			// the analyst's action with its audit record.
			f.waitScreen("acknowledged", contains("✓ acknowledged in-00000004", "Incident in-00000004 · ACKNOWLEDGED", "acknowledge 1m00s"))
			f.keys("G")
			f.waitScreen("action in the timeline", contains("incident.acknowledged by alice", "[audit #6]"))
			f.keys("c", "enter")
			f.waitScreen("reason required", contains("! a reason is required, or esc"))
			if acts := f.fx.incidentActs(); len(acts) != 1 {
				t.Fatalf("closed without a reason: %+v", acts)
			}
			f.typeText("blocked at gw1, no login succeeded")
			f.keys("enter")
			f.until("IncidentAct(close)", func() bool {
				acts := f.fx.incidentActs()
				return len(acts) == 2 && acts[1].State == "closed" && acts[1].Reason == "blocked at gw1, no login succeeded"
			})
			f.waitScreen("closed", contains("✓ closed in-00000004: blocked at gw1", "· CLOSED ·", "closed: blocked at gw1, no login succeeded"))
			// Closed, it leaves the open incidents; the audit trail has
			// both changes by the console's actor.
			f.keys("esc")
			f.waitScreen("left the open list", func(s string) bool {
				return strings.Contains(s, "[7 Incidents 2]") && strings.Contains(s, "in-00000003 ") && !strings.Contains(s, "in-00000004 ")
			})
			f.keys("6")
			f.waitScreen("audit records", contains("incident.closed", "in-00000004 acknowledged → closed: blocked", "in-00000004 new → acknowledged"))
			f.quit()
		}},
		{name: "incident assign merge split from the palette", run: func(f *flow) {
			f.keys("7", "m", "y")
			f.until("assign", func() bool {
				acts := f.fx.incidentActs()
				return len(acts) == 1 && acts[0].ID == "in-00000003" && acts[0].Op == IncidentOpAssign && acts[0].Owner == ""
			})
			f.waitScreen("assigned", contains("✓ assigned in-00000003 to alice"))
			f.keys(":")
			f.typeText("split in-2 A0003")
			f.keys("enter")
			f.waitScreen("split", contains("✓ split 1 alerts of in-00000002 into in-00000005"))
			f.keys(":")
			f.typeText("merge 2 in-5")
			f.keys("enter")
			f.waitScreen("merged", contains("✓ merged in-00000005 into in-00000002"))
			f.keys(":")
			f.typeText("state in-2 eradicated")
			f.keys("enter")
			f.waitScreen("state", contains("✓ in-00000002 is eradicated"))
			acts := f.fx.incidentActs()
			want := []IncidentOp{
				{ID: "in-00000003", Op: IncidentOpAssign},
				{ID: "in-00000002", Op: IncidentOpSplit, Alerts: []string{"A0003"}},
				{ID: "in-00000002", Op: IncidentOpMerge, From: "in-00000005"},
				{ID: "in-00000002", Op: IncidentOpState, State: "eradicated"},
			}
			if fmt.Sprint(acts) != fmt.Sprint(want) {
				t.Errorf("IncidentAct calls:\n got %+v\nwant %+v", acts, want)
			}
			f.quit()
		}},
		{name: "disconnected then recovers", run: func(f *flow) {
			f.fx.setErr(errors.New("dial unix /run/phantomsoc.sock: connection refused"))
			f.waitScreen("disconnected", contains("! disconnected, retrying… dial unix /run/phantomsoc.sock"))
			// The last good data stays on screen while disconnected.
			if s := f.p.screen(); !strings.Contains(s, "Gateways") {
				t.Errorf("overview emptied while disconnected:\n%s", s)
			}
			f.fx.setErr(nil)
			f.waitScreen("recovered", func(s string) bool {
				return strings.Contains(s, "● live") && !strings.Contains(s, "disconnected")
			})
			f.quit()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(startFlow(t, newFixture()))
		})
	}
}

// eventRows are the event lines of the live list on screen.
func eventRows(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		rest, ok := strings.CutPrefix(l, "› ")
		if !ok {
			rest, ok = strings.CutPrefix(l, "  ")
		}
		if ok && len(rest) > 8 && rest[2] == ':' && rest[5] == ':' {
			out = append(out, l)
		}
	}
	return out
}
