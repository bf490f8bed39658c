package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestMouseIsOffUnlessAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		m := New(newFixture(), Options{Now: fixedNow, Mouse: on})
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		want := tea.MouseModeNone
		if on {
			want = tea.MouseModeCellMotion
		}
		if got := m.View().MouseMode; got != want {
			t.Errorf("Options{Mouse: %v}: View().MouseMode = %v, want %v", on, got, want)
		}
	}
}

// TestClickOnTabSwitchesView clicks the middle of each tab, with the title
// (132 columns) and without it (80), and expects that view focused.
func TestClickOnTabSwitchesView(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {132, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := loaded(t, newFixture(), size[0], size[1])
			for _, i := range []int{2, 5, 0, 6, 4, 1, 3} {
				bar := strings.SplitN(screen(m), "\n", 2)[0]
				tab, _ := m.views[i].Tab()
				name := fmt.Sprintf("%d %s", i+1, tab)
				x := strings.Index(bar, name) // the bar is ASCII
				if x < 0 {
					t.Fatalf("tab bar %q has no %q", bar, name)
				}
				m.Update(tea.MouseClickMsg{X: x + len(name)/2, Y: 0, Button: tea.MouseLeft})
				if m.focus != i {
					t.Errorf("click at column %d of %q focused view %d, want %d", x+len(name)/2, bar, m.focus, i)
				}
				if bar := strings.SplitN(screen(m), "\n", 2)[0]; !strings.Contains(bar, "["+name) {
					t.Errorf("after the click the tab bar reads %q, want [%s… marked", bar, name)
				}
			}
			// Clicks off the tabs or with another button change nothing.
			m.Update(tea.MouseClickMsg{X: 5, Y: 3, Button: tea.MouseLeft})
			m.Update(tea.MouseClickMsg{X: 20, Y: 0, Button: tea.MouseRight})
			if m.focus != 3 {
				t.Errorf("a click off the tabs moved focus to %d", m.focus)
			}
		})
	}
}

// TestWheelScrollsLikeArrows: a notch of the wheel is three presses of ↑
// or ↓ in the focused view, and does nothing while a prompt is open.
func TestWheelScrollsLikeArrows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keys  []string
		notch tea.MouseButton
		arrow string
	}{
		{"events up", []string{"2"}, tea.MouseWheelUp, "k"},
		{"events detail down", []string{"2", "enter"}, tea.MouseWheelDown, "j"},
		{"alerts down", []string{"3"}, tea.MouseWheelDown, "j"},
		{"audit down", []string{"6"}, tea.MouseWheelDown, "j"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wheeled, pressed := loaded(t, newFixture(), 80, 24), loaded(t, newFixture(), 80, 24)
			for _, k := range tc.keys {
				wheeled.Update(press(k))
				pressed.Update(press(k))
			}
			before := screen(wheeled)
			wheeled.Update(tea.MouseWheelMsg{X: 10, Y: 10, Button: tc.notch})
			for range wheelRows {
				pressed.Update(press(tc.arrow))
			}
			got, want := screen(wheeled), screen(pressed)
			if got != want {
				t.Errorf("after a wheel notch the screen is\n%s\nwant, as after %d×%s:\n%s", got, wheelRows, tc.arrow, want)
			}
			if got == before {
				t.Errorf("the wheel scrolled nothing:\n%s", got)
			}
		})
	}
	t.Run("prompt holds the wheel", func(t *testing.T) {
		m := loaded(t, newFixture(), 80, 24)
		for _, k := range []string{"4", "r"} {
			m.Update(press(k))
		}
		before := screen(m)
		m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
		m.Update(tea.MouseClickMsg{X: 3, Y: 0, Button: tea.MouseLeft})
		if got := screen(m); got != before || m.focus != viewPending {
			t.Errorf("the mouse acted under an open prompt:\n%s", got)
		}
	})
}
