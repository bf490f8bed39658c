package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

type promptKind int

// promptLimit is the most an analyst types into a prompt.
const promptLimit = 200

const (
	promptNone promptKind = iota
	// promptConfirm asks y/n.
	promptConfirm
	// promptTyped asks for an exact word (the target) before acting: a
	// reflexive "y" must not isolate a network.
	promptTyped
	// promptText asks for free text that must not be empty (a reason).
	promptText
	// promptFree asks for text that may be empty (a filter, where empty
	// clears it).
	promptFree
)

// prompt is the one question a view may be asking. While it is open it
// holds the keyboard: view and global keys are off, so "q" or "1" typed
// into a reason is text, not a command.
type prompt struct {
	st       *Styles
	kind     promptKind
	question string
	want     string
	// need names what a promptText requires, for its problem line.
	need    string
	problem string
	input   textinput.Model
	keys    promptKeys
	// check, when set, vets the text on enter: an error keeps the prompt
	// open with the problem shown, so the analyst fixes a typo instead of
	// retyping.
	check func(text string) error
	run   func(text string) tea.Cmd
}

func newPrompt(st *Styles) prompt {
	in := textinput.New()
	in.SetStyles(st.Input)
	in.Prompt = "> "
	in.CharLimit = promptLimit
	return prompt{st: st, input: in, keys: newPromptKeys()}
}

func (p *prompt) active() bool { return p.kind != promptNone }

// confirm asks question, running run on "y".
func (p *prompt) confirm(question string, run func(string) tea.Cmd) {
	p.open(promptConfirm, question, "", run)
}

// typed asks for want to be typed exactly, running run on a match.
func (p *prompt) typed(question, want string, run func(string) tea.Cmd) tea.Cmd {
	p.open(promptTyped, question, want, run)
	return p.input.Focus()
}

// text asks for non-empty free text (a reason), running run with it.
func (p *prompt) text(question string, run func(string) tea.Cmd) tea.Cmd {
	return p.require(question, "a reason", run)
}

// require asks for non-empty free text, need naming it when it is
// missing ("a comment"), running run with it.
func (p *prompt) require(question, need string, run func(string) tea.Cmd) tea.Cmd {
	p.open(promptText, question, "", run)
	p.need = need
	return p.input.Focus()
}

// requireValid asks like require, vetting the text with check.
func (p *prompt) requireValid(question, need string, check func(string) error, run func(string) tea.Cmd) tea.Cmd {
	cmd := p.require(question, need, run)
	p.check = check
	return cmd
}

// prefilled asks like free, starting from value: a suggestion the analyst
// edits rather than types. The limit grows to fit it, so a long
// suggestion is never cut.
func (p *prompt) prefilled(question, value string, check func(string) error, run func(string) tea.Cmd) tea.Cmd {
	cmd := p.free(question, check, run)
	p.input.CharLimit = max(promptLimit, len(value)+promptLimit)
	p.input.SetValue(value)
	p.input.CursorEnd()
	return cmd
}

// free asks for text that may be empty, vetted by check, running run with
// it.
func (p *prompt) free(question string, check func(string) error, run func(string) tea.Cmd) tea.Cmd {
	p.open(promptFree, question, "", run)
	p.check = check
	return p.input.Focus()
}

func (p *prompt) open(kind promptKind, question, want string, run func(string) tea.Cmd) {
	p.kind, p.question, p.want, p.run, p.problem, p.check = kind, question, want, run, "", nil
	p.need = "a reason"
	p.input.CharLimit = promptLimit
	p.input.Reset()
}

func (p *prompt) close() {
	p.kind, p.run, p.problem, p.check = promptNone, nil, "", nil
	p.input.Blur()
	p.input.Reset()
}

// update handles one message while the prompt is open.
func (p *prompt) update(msg tea.Msg) tea.Cmd {
	k, isKey := msg.(tea.KeyPressMsg)
	switch {
	case isKey && p.kind == promptConfirm:
		switch {
		case key.Matches(k, p.keys.Yes):
			run := p.run
			p.close()
			return run("")
		case key.Matches(k, p.keys.No):
			p.close()
		}
		return nil
	case isKey && key.Matches(k, p.keys.Cancel):
		p.close()
		return nil
	case isKey && key.Matches(k, p.keys.Submit):
		v := strings.TrimSpace(p.input.Value())
		switch {
		case p.kind == promptTyped && v != p.want:
			p.problem = "does not match: type " + p.want + " exactly, or esc"
			return nil
		case p.kind == promptText && v == "":
			p.problem = p.need + " is required, or esc"
			return nil
		}
		if p.check != nil {
			if err := p.check(v); err != nil {
				p.problem = err.Error()
				return nil
			}
		}
		run := p.run
		p.close()
		return run(v)
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

// keyMap is the help for the open prompt: y/n for a confirmation, enter and
// esc for typing (where y and n are letters).
func (p *prompt) keyMap() promptKeys {
	k := p.keys
	yn := p.kind == promptConfirm
	k.Yes.SetEnabled(yn)
	k.No.SetEnabled(yn)
	k.Submit.SetEnabled(!yn)
	k.Cancel.SetEnabled(!yn)
	return k
}

// setWidth fits the input to a view w cells wide.
func (p *prompt) setWidth(w int) {
	p.input.SetWidth(max(1, w-len(p.input.Prompt)-1))
}

// view renders the prompt in w cells: the question, then the input line
// and any problem with what was typed.
func (p *prompt) view(w int) []string {
	if !p.active() {
		return nil
	}
	q := p.question
	if p.kind == promptConfirm {
		q += " [y/n]"
	}
	out := []string{p.st.Prompt.Render(clip("? "+q, w))}
	if p.kind != promptConfirm {
		out = append(out, p.input.View())
	}
	if p.problem != "" {
		out = append(out, p.st.Bad.Render(clip("! "+p.problem, w)))
	}
	return out
}
