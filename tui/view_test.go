package tui

import (
	"errors"
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/phantomsoc/phantomsoc/engine"
)

// press turns a key name into the message bubbletea sends for it.
func press(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// typeText presses each rune of s.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(press(string(r)))
	}
}

// loaded is a model at w×h holding the fixture's snapshot, on the fixed
// clock, as a program would be after its first poll.
func loaded(t testing.TB, c Console, w, h int) *Model {
	t.Helper()
	m := New(c, Options{Now: fixedNow})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	msg := m.call.snapshot()()
	m.Update(msg)
	pollEvents(m)
	return m
}

// pollEvents feeds the model the answer to the Events call its next poll
// would make.
func pollEvents(m *Model) {
	m.Update(m.call.events(m.live.after())())
}

// answer, among a case's keys, answers the incidents view's calls.
const answer = "<answer>"

// answerIncidents feeds the incidents view the answers to the calls it
// has made: the list of all incidents and the open detail.
func answerIncidents(m *Model) {
	v := m.incidents
	if v.all {
		m.Update(m.call.incidents(false)())
	}
	if v.detailID != "" {
		m.Update(m.call.incident(v.detailID)())
	}
}

// screen is what the terminal would show, without colour.
func screen(m *Model) string { return ansi.Strip(m.View().Content) }

func TestViews(t *testing.T) {
	tests := []struct {
		name string
		// edit changes the fixture's snapshot before the first poll; fx
		// the rest of the fixture.
		edit func(*Snapshot)
		fx   func(*fixture)
		keys []string
		text string
		// events changes the fixture's live stream after the keys; the
		// model then polls it once.
		events func(*fixture)
		// msgs arrive after the keys.
		msgs []tea.Msg
	}{
		{name: "overview"},
		{name: "overview_calm", edit: func(s *Snapshot) {
			s.Stats.Rejected = 0
			s.Queues = []engine.Queue{{Stage: "process", Depth: 0, Cap: 64}, {Stage: "store", Depth: 50, Cap: 64}}
		}},
		{name: "events", keys: []string{"2"}},
		{name: "events_paused", keys: []string{"2", "p"}, events: addMore(5)},
		{name: "events_scrolled", keys: []string{"2", "k", "k", "k"}, events: addMore(3)},
		{name: "events_filtered", keys: []string{"2", "/"}, text: "source:203.0.113.0/24 type:ssh.auth.failure\r"},
		{name: "events_filter_prompt", keys: []string{"2", "/"}, text: "user:root indicator:true"},
		{name: "events_filter_invalid", keys: []string{"2", "/"}, text: "port:22 source:203.0.113.0/33\r"},
		{name: "events_no_match", keys: []string{"2", "/"}, text: "user:nobody\r"},
		{name: "events_detail", keys: []string{"2", "enter"}},
		{name: "events_detail_ssh", keys: []string{"2", "k", "enter"}},
		{name: "events_detail_scrolled", keys: []string{"2", "enter", "j", "j"}},
		{name: "events_gap", keys: []string{"2"}, events: func(fx *fixture) {
			addMore(30)(fx)
			fx.retain(10)
		}},
		{name: "events_help", keys: []string{"2", "?"}},
		{name: "alerts", keys: []string{"3"}},
		{name: "alerts_by_scenario", keys: []string{"3", "o", "o"}},
		{name: "alerts_help", keys: []string{"3", "?"}},
		{name: "alerts_silence_matchers", keys: []string{"3", "s"}},
		{name: "alerts_silence_campaign", keys: []string{"3", "j", "j", "s"}},
		{name: "alerts_silence_bad_matcher", keys: []string{"3", "s"}, text: " role\r"},
		{name: "alerts_silence_duration", keys: []string{"3", "s"}, text: "\r"},
		{name: "alerts_silence_bad_duration", keys: []string{"3", "s"}, text: "\rsoon\r"},
		{name: "alerts_silence_comment", keys: []string{"3", "s"}, text: "\r90m\r"},
		{name: "alerts_silence_no_comment", keys: []string{"3", "s"}, text: "\r\r\r"},
		{name: "alert_detail_silence", keys: []string{"3", "j", "enter", "s"}},
		{name: "alerts_ack", keys: []string{"3", "K"}},
		{name: "alerts_silence_failed", keys: []string{"3"}, msgs: []tea.Msg{actionMsg{err: errors.New("silence A0002 ids-exploit 2001:db8::bad: control socket: permission denied")}}},
		{name: "alert_detail", keys: []string{"3", "enter"}},
		{name: "pending", keys: []string{"4"}},
		{name: "pending_wide_prompt", keys: []string{"4", "j", "j", "a"}, text: "203.0.113.1"},
		{name: "pending_wide_mismatch", keys: []string{"4", "j", "j", "a"}, text: "203.0.113.1\r"},
		{name: "pending_reject_reason", keys: []string{"4", "r"}, text: "scanner in qa lab"},
		{name: "pending_approve_all", keys: []string{"4", "A"}},
		{name: "pending_edit_ttl", keys: []string{"4", "e"}, text: "30m"},
		{name: "pending_edit_ttl_invalid", keys: []string{"4", "e"}, text: "4x\r"},
		{name: "pending_edit_gateways", keys: []string{"4", "e"}, text: "30m\rgw1, gw2"},
		{name: "pending_edit_gateway_unknown", keys: []string{"4", "e"}, text: "30m\rgw1,gw9\r"},
		{name: "pending_edit_confirm", keys: []string{"4", "e"}, text: "30m\r\r"},
		{name: "pending_edit_wide", keys: []string{"4", "j", "j", "e"}, text: "\rgw1\r"},
		{name: "decisions", keys: []string{"5"}},
		{name: "decisions_rollback", keys: []string{"5", "j", "u"}},
		{name: "decisions_dry_run", edit: func(s *Snapshot) { s.DryRun = true }, keys: []string{"5"}},
		{name: "decisions_shared_drops", keys: []string{"5", "j"}},
		{name: "decisions_extend", keys: []string{"5", "x"}, text: "90m"},
		{name: "decisions_extend_invalid", keys: []string{"5", "x"}, text: "soon\r"},
		{name: "palette", keys: []string{":"}},
		{name: "palette_complete_command", keys: []string{"3", ":"}, text: "ap\t"},
		{name: "palette_complete_ids", keys: []string{":"}, text: "approve d01\t"},
		{name: "palette_usage", keys: []string{":"}, text: "extend D0090"},
		{name: "palette_unknown", keys: []string{":"}, text: "frobnicate now\r"},
		{name: "palette_bad_duration", keys: []string{":"}, text: "extend D0090 soon\r"},
		{name: "palette_rollback_confirms", keys: []string{":"}, text: "rollback d0080\r"},
		{name: "palette_ack_confirms", keys: []string{":"}, text: "ack a0003\r"},
		{name: "palette_silence_usage", keys: []string{":"}, text: "silence A0004 2h\r"},
		{name: "audit", keys: []string{"6"}},
		{name: "help", keys: []string{"4", "?"}},
		{name: "audit_broken_dry_run", edit: func(s *Snapshot) { s.AuditOK, s.DryRun = false, true }, keys: []string{"6"}},
		{name: "incidents", keys: []string{"7"}},
		{name: "incidents_help", keys: []string{"7", "?"}},
		{name: "incidents_all", keys: []string{"7", "f", answer}},
		{name: "incidents_by_state", keys: []string{"7", "o", "o"}},
		{name: "incidents_empty", fx: func(fx *fixture) { fx.incs = []engine.Incident{} }, keys: []string{"7"}},
		{name: "incidents_unreported", fx: func(fx *fixture) { fx.incs = nil }, keys: []string{"7"}},
		{name: "incident_detail", keys: []string{"7", "j", "enter", answer}},
		{name: "incident_detail_scrolled", keys: []string{"7", "j", "enter", answer, "j", "j", "j", "j", "j", "j"}},
		{name: "incident_close_prompt", keys: []string{"7", "j", "enter", answer, "c"}, text: "blocked at gw1"},
		{name: "incident_close_no_reason", keys: []string{"7", "j", "enter", answer, "c"}, text: "\r"},
		{name: "incident_ack", keys: []string{"7", "j", "K"}},
		{name: "incident_state_chooser", keys: []string{"7", "s"}},
		{name: "incident_state_invalid", keys: []string{"7", "s"}, text: "\b\b\b\b\b\b\b\b\bnew\r"},
		{name: "incident_split_prompt", keys: []string{"7", "j", "j", "S"}, text: "A0003 A0009\r"},
		{name: "palette_incident_close_usage", keys: []string{":"}, text: "close in-4\r"},
		{name: "empty", edit: func(s *Snapshot) { *s = Snapshot{Taken: s.Taken, Mode: "attached", Source: "/run/phantomsoc.sock"} },
			fx: func(fx *fixture) { fx.incs = []engine.Incident{} }, keys: []string{"4"}},
		{name: "disconnected", msgs: []tea.Msg{snapshotMsg{err: errors.New("dial unix /run/phantomsoc.sock: connection refused")}}},
		{name: "events_disconnected", keys: []string{"2"}, msgs: []tea.Msg{eventsMsg{err: errors.New("events: dial unix /run/phantomsoc.sock: connection refused")}}},
		{name: "action_failed", keys: []string{"4"}, msgs: []tea.Msg{actionMsg{err: errors.New("approve block 198.51.100.7: gw1: nft: permission denied")}}},
	}
	for _, size := range [][2]int{{80, 24}, {132, 40}} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s_%dx%d", tc.name, size[0], size[1]), func(t *testing.T) {
				fx := newFixture()
				if tc.edit != nil {
					tc.edit(&fx.snap)
				}
				if tc.fx != nil {
					tc.fx(fx)
				}
				m := loaded(t, fx, size[0], size[1])
				for _, k := range tc.keys {
					if k == answer {
						answerIncidents(m)
						continue
					}
					m.Update(press(k))
				}
				for _, r := range tc.text {
					switch r {
					case '\r':
						m.Update(press("enter"))
					case '\t':
						m.Update(press("tab"))
					case '\b':
						m.Update(press("backspace"))
					default:
						m.Update(press(string(r)))
					}
				}
				if tc.events != nil {
					tc.events(fx)
					pollEvents(m)
				}
				for _, msg := range tc.msgs {
					m.Update(msg)
				}
				got := screen(m)
				checkFits(t, got, size[0], size[1])
				golden.RequireEqual(t, got)
			})
		}
	}
}

// checkFits fails when a frame would scroll or wrap the terminal.
func checkFits(t *testing.T, frame string, w, h int) {
	t.Helper()
	ls := lines(frame, 1<<20)
	if len(ls) > h {
		t.Errorf("frame has %d lines, want at most %d", len(ls), h)
	}
	for i, l := range ls {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, want at most %d: %q", i+1, n, w, l)
		}
	}
}

// addMore adds the next n events of the fixture's mix.
func addMore(n int) func(*fixture) {
	return func(fx *fixture) {
		fx.mu.Lock()
		from := int(fx.next) - 1
		fx.mu.Unlock()
		for i := range n {
			fx.addEvents(fixtureEvent(from + i))
		}
	}
}
