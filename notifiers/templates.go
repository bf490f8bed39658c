package notifiers

import (
	"bytes"
	"errors"
	"fmt"
	htemplate "html/template"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	ttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/phantomsoc/phantomsoc/engine"
)

// TemplateConfig overrides a receiver's templates; an empty field keeps
// the channel's default. Title and Text are text/template; HTML (e-mail
// only) is html/template, so alert data is escaped. Templates see a Data.
type TemplateConfig struct {
	Title string `yaml:"title,omitempty" json:"title,omitempty"`
	Text  string `yaml:"text,omitempty" json:"text,omitempty"`
	HTML  string `yaml:"html,omitempty" json:"html,omitempty"`
}

// Data is what templates render: the Message plus values derived from it.
type Data struct {
	Key         string
	Status      string
	Receiver    string
	GroupLabels map[string]string
	Alerts      []engine.Alert
	Pending     []engine.Decision
	Level       int
	// Text is Message.Text, free text from a playbook step or an analyst;
	// empty for the router's notifications.
	Text string
	// MaxRisk is the highest Risk among Alerts.
	MaxRisk float64
	// Title is the rendered title, for the text and HTML templates; it is
	// empty while the title itself renders.
	Title string
}

func newData(m *Message) Data {
	d := Data{Key: m.Key, Status: m.Status, Receiver: m.Receiver, GroupLabels: m.GroupLabels,
		Alerts: m.Alerts, Pending: m.Pending, Level: m.Level, Text: m.Text}
	for _, a := range m.Alerts {
		d.MaxRisk = max(d.MaxRisk, a.Risk)
	}
	return d
}

// Default templates. They are link-free: alert data comes from attackers'
// log lines, so anything URL-like is defanged, and the text never carries
// a link to click. A message's free text (a playbook step's, an
// analyst's) may quote alert data, so it goes through lines; it is the
// title and the first line of the text, and a message without one (or
// with only blanks) renders as if the field did not exist.
const (
	defaultTitle = `{{with lines .Text}}{{.}}{{else}}[{{upper .Status}}] {{scenarios .Alerts}}` +
		` ({{len .Alerts}} {{plural (len .Alerts) "alert" "alerts"}}, max risk {{printf "%.1f" .MaxRisk}}` +
		`{{if gt .Level 1}}, escalation level {{.Level}}{{end}}){{end}}`
	defaultAlertsText = `{{with lines .Text}}{{.}}
{{end}}{{range limit 10 .Alerts}}- {{summary .}}
{{end}}{{with more 10 .Alerts}}… and {{.}} more
{{end}}`
	defaultText = defaultAlertsText + `{{with .Pending}}Awaiting approval:
{{range limit 5 .}}- {{pending .}}
{{end}}{{with more 5 .}}… and {{.}} more
{{end}}{{end}}`
	defaultHTML = `<h2>{{.Title}}</h2>{{with lines .Text}}
<p style="white-space: pre-line">{{.}}</p>{{end}}
<ul>{{range limit 20 .Alerts}}
<li>{{summary .}}</li>{{end}}
</ul>{{with more 20 .Alerts}}
<p>… and {{.}} more</p>{{end}}{{with .Pending}}
<h3>Awaiting approval</h3>
<ul>{{range .}}
<li>{{pending .}}</li>{{end}}
</ul>{{end}}
<p><small>phantomsoc · {{.Receiver}} · {{.Key}}</small></p>`
	// defaultShort fits an SMS; the separator after the free text stays
	// in the GSM-7 basic alphabet, which "|" and "—" leave.
	defaultShort = `{{with lines .Text}}{{.}} - {{end}}` +
		`{{upper .Status}} {{scenarios .Alerts}} risk {{printf "%.1f" .MaxRisk}}` +
		`{{with first .Alerts}} src {{source .}}{{end}}{{with .Pending}} {{len .}} pending{{end}}`
)

// maxRendered bounds a rendered template: a runaway range must not eat
// memory, and no channel takes more.
const maxRendered = 256 << 10

// templates is a receiver's parsed templates.
type templates struct {
	title, text *ttemplate.Template
	html        *htemplate.Template
}

// rendered is a Message through a receiver's templates.
type rendered struct {
	// Title is one line, control characters removed.
	Title string
	Text  string
	HTML  string
}

// parseTemplates parses cfg over defaults and executes every template on
// sample messages, so a typo in a field name fails at startup and not at
// 3 a.m.
func parseTemplates(cfg, defaults TemplateConfig) (*templates, error) {
	pick := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	var t templates
	var errs []error
	var err error
	if t.title, err = ttemplate.New("title").Funcs(textFuncs).Parse(pick(cfg.Title, defaults.Title)); err != nil {
		errs = append(errs, fmt.Errorf("template title: %w", err))
	}
	if t.text, err = ttemplate.New("text").Funcs(textFuncs).Parse(pick(cfg.Text, defaults.Text)); err != nil {
		errs = append(errs, fmt.Errorf("template text: %w", err))
	}
	if h := pick(cfg.HTML, defaults.HTML); h != "" {
		if t.html, err = htemplate.New("html").Funcs(htemplate.FuncMap(textFuncs)).Parse(h); err != nil {
			errs = append(errs, fmt.Errorf("template html: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, m := range sampleMessages() {
		if _, err := t.render(&m); err != nil {
			return nil, fmt.Errorf("%w (rendering a sample %s message)", err, m.Status)
		}
	}
	return &t, nil
}

// render executes the templates on m.
func (t *templates) render(m *Message) (rendered, error) {
	d := newData(m)
	var r rendered
	var buf bytes.Buffer
	if err := t.title.Execute(&limitWriter{w: &buf, n: maxRendered}, d); err != nil {
		return r, fmt.Errorf("template title: %w", err)
	}
	r.Title = oneLine(buf.String())
	d.Title = r.Title
	buf.Reset()
	if err := t.text.Execute(&limitWriter{w: &buf, n: maxRendered}, d); err != nil {
		return r, fmt.Errorf("template text: %w", err)
	}
	r.Text = strings.TrimRight(buf.String(), "\n")
	if t.html != nil {
		buf.Reset()
		if err := t.html.Execute(&limitWriter{w: &buf, n: maxRendered}, d); err != nil {
			return r, fmt.Errorf("template html: %w", err)
		}
		r.HTML = buf.String()
	}
	return r, nil
}

var errTooLong = errors.New("rendered output too long")

// limitWriter fails once more than n bytes were written.
type limitWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errTooLong
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// textFuncs are the functions every template gets.
var textFuncs = ttemplate.FuncMap{
	"upper":     strings.ToUpper,
	"lower":     strings.ToLower,
	"join":      func(sep string, s []string) string { return strings.Join(s, sep) },
	"truncate":  truncate,
	"oneline":   oneLine,
	"lines":     lines,
	"defang":    defang,
	"risk":      riskString,
	"riskLevel": riskLevel,
	"time":      formatTime,
	"timeIn":    formatTimeIn,
	"since":     func(a, b time.Time) string { return b.Sub(a).Round(time.Second).String() },
	"source":    sourceString,
	"summary":   summary,
	"pending":   pendingString,
	"scenarios": scenarios,
	"first": func(as []engine.Alert) *engine.Alert {
		if len(as) == 0 {
			return nil
		}
		return &as[0]
	},
	"limit": limit,
	"more":  more,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"label": func(key string, a engine.Alert) string { return a.Labels[key] },
}

// limit returns the first n elements of a slice of alerts or decisions.
func limit(n int, v any) (any, error) {
	switch s := v.(type) {
	case []engine.Alert:
		return s[:min(max(n, 0), len(s))], nil
	case []engine.Decision:
		return s[:min(max(n, 0), len(s))], nil
	}
	return nil, fmt.Errorf("limit: want alerts or decisions, got %T", v)
}

// more returns how many elements limit n leaves out (0 renders nothing
// under {{with}}).
func more(n int, v any) (int, error) {
	switch s := v.(type) {
	case []engine.Alert:
		return max(len(s)-max(n, 0), 0), nil
	case []engine.Decision:
		return max(len(s)-max(n, 0), 0), nil
	}
	return 0, fmt.Errorf("more: want alerts or decisions, got %T", v)
}

// truncate shortens s to at most n runes, marking the cut with "…".
// Pipeline-friendly: {{.Description | truncate 80}}.
func truncate(n int, s string) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// oneLine collapses whitespace and drops control characters: titles end
// up in subjects and headers.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// lines is free text made safe to show: oneLine on each line (line
// breaks kept, blank lines dropped), defanged.
func lines(s string) string {
	var out []string
	for l := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = oneLine(l); l != "" {
			out = append(out, l)
		}
	}
	return defang(strings.Join(out, "\n"))
}

var schemeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)([a-z][a-z0-9+.\-]{1,15})://`) })

// defang neutralises URLs in attacker-controlled text (scheme:// becomes
// scheme[:]//, http becomes hxxp) so no chat client turns them into links.
func defang(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return schemeRE().ReplaceAllStringFunc(s, func(m string) string {
		scheme := m[:len(m)-3]
		if strings.HasPrefix(strings.ToLower(scheme), "http") {
			scheme = "hxxp" + scheme[4:]
		}
		return scheme + "[:]//"
	})
}

// riskLevel names a 0–10 risk.
func riskLevel(r float64) string {
	switch {
	case r >= 8:
		return "critical"
	case r >= 6:
		return "high"
	case r >= 3:
		return "medium"
	}
	return "low"
}

func riskString(r float64) string { return fmt.Sprintf("%.1f/10 %s", r, riskLevel(r)) }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// formatTimeIn formats t in the named zone ("Europe/Paris") with layout.
func formatTimeIn(zone, layout string, t time.Time) (string, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return "", err
	}
	return t.In(loc).Format(layout), nil
}

// sourceString is the blamed side of an alert: the address, the campaign
// prefixes, or the group key.
func sourceString(a engine.Alert) string {
	if a.Source.IsValid() {
		return a.Source.String()
	}
	if len(a.Prefixes) > 0 {
		ps := make([]string, 0, min(len(a.Prefixes), 3))
		for _, p := range a.Prefixes[:min(len(a.Prefixes), 3)] {
			ps = append(ps, engine.PrefixString(p))
		}
		s := strings.Join(ps, ", ")
		if len(a.Prefixes) > 3 {
			s += fmt.Sprintf(" +%d", len(a.Prefixes)-3)
		}
		return s
	}
	return clean(a.Key, 64)
}

// clean makes attacker-influenced text safe for one line of a summary.
func clean(s string, n int) string { return truncate(n, defang(oneLine(s))) }

// summary is the link-free one-line description of an alert.
func summary(a engine.Alert) string {
	var b strings.Builder
	b.WriteString(clean(a.Scenario, 64))
	b.WriteString(" from ")
	b.WriteString(sourceString(a))
	if a.Sources > 1 {
		fmt.Fprintf(&b, " (%d sources)", a.Sources)
	}
	switch {
	case a.Host != "":
		b.WriteString(" on ")
		b.WriteString(clean(a.Host, 64))
	case a.Dest.IsValid():
		b.WriteString(" to ")
		b.WriteString(a.Dest.String())
	}
	if len(a.Users) > 0 {
		us := make([]string, 0, 3)
		for _, u := range a.Users[:min(len(a.Users), 3)] {
			us = append(us, clean(u, 32))
		}
		fmt.Fprintf(&b, " users %s", strings.Join(us, ","))
		if len(a.Users) > 3 {
			fmt.Fprintf(&b, " +%d", len(a.Users)-3)
		}
	}
	fmt.Fprintf(&b, ": %d %s, risk %.1f, severity %.1f", a.Count, pluralWord(a.Count, "event", "events"), a.Risk, a.Severity)
	if a.Propose != "" && a.Propose != engine.ActionAlert {
		fmt.Fprintf(&b, ", proposes %s", clean(a.Propose, 24))
	}
	return b.String()
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pendingString describes a remediation waiting for approval.
func pendingString(d engine.Decision) string {
	target := engine.PrefixString(d.Target)
	if target == "" {
		target = "everyone"
	}
	s := fmt.Sprintf("%s %s", clean(d.Action, 24), target)
	if d.Proto != "" || d.Port != 0 {
		s += fmt.Sprintf(" %s/%d", clean(d.Proto, 8), d.Port)
	}
	if d.TTL > 0 {
		s += " for " + d.TTL.String()
	}
	if len(d.Gateways) > 0 {
		gs := make([]string, 0, len(d.Gateways))
		for _, g := range d.Gateways {
			gs = append(gs, clean(g, 32))
		}
		s += " on " + strings.Join(gs, ",")
	}
	s += fmt.Sprintf(" (decision %s, risk %.1f)", clean(d.ID, 40), d.Risk)
	return s
}

// scenarios lists the distinct scenarios of alerts, at most three.
func scenarios(as []engine.Alert) string {
	var names []string
	for _, a := range as {
		n := clean(a.Scenario, 48)
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	switch {
	case len(names) == 0:
		return "no alerts"
	case len(names) > 3:
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" +%d", len(names)-3)
	}
	return strings.Join(names, ", ")
}

// sampleMessages exercise templates at construction: many alerts, a
// campaign, pending remediations, an empty resolved group, and a
// playbook's note about one alert.
func sampleMessages() []Message {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	alerts := []engine.Alert{
		{ID: "a1", Time: t0, First: t0.Add(-time.Minute), Scenario: "ssh-bruteforce", Severity: 6, Key: "198.51.100.7",
			Source: netip.MustParseAddr("198.51.100.7"), Sources: 1, Host: "gw1", Users: []string{"root", "admin"}, Count: 42,
			Propose: engine.ActionBlock, Labels: map[string]string{"severity": "high"}, Risk: 8.5, Confidence: 0.9},
		{ID: "a2", Time: t0, Scenario: "scan-campaign", Severity: 4, Key: "campaign",
			Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, Sources: 40, Dest: netip.MustParseAddr("192.0.2.10"), Count: 900,
			Propose: engine.ActionRateLimit, Risk: 5.2},
	}
	for i := range 12 {
		alerts = append(alerts, engine.Alert{ID: fmt.Sprintf("b%d", i), Time: t0, Scenario: "http-probe",
			Source: netip.MustParseAddr("2001:db8::1"), Count: 1, Risk: 2})
	}
	pending := []engine.Decision{{ID: "d1", Time: t0, AlertID: "a1", Scenario: "ssh-bruteforce", Action: engine.ActionBlock,
		Target: netip.MustParsePrefix("198.51.100.7/32"), TTL: 4 * time.Hour, State: engine.StatePending, Risk: 8.5}}
	gl := map[string]string{"scenario": "ssh-bruteforce"}
	return []Message{
		{Key: "sample-firing", Status: StatusFiring, Receiver: "sample", GroupLabels: gl, Alerts: alerts, Pending: pending, Level: 2},
		{Key: "sample-resolved", Status: StatusResolved, Receiver: "sample", GroupLabels: gl, Level: 1},
		{Key: "sample-note", Status: StatusFiring, Receiver: "sample", Level: 2, Alerts: alerts[:1],
			GroupLabels: map[string]string{"playbook": "ssh-brute-force", "step": "tell-soc", "message": "Blocked 198.51.100.7"},
			Text:        "Blocked 198.51.100.7 for 4h\nsee http://runbook.example/ssh"},
	}
}
