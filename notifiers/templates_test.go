package notifiers

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestDefaultTemplates(t *testing.T) {
	tm, err := parseTemplates(TemplateConfig{}, TemplateConfig{Title: defaultTitle, Text: defaultText, HTML: defaultHTML})
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage("grp-1", StatusFiring)
	m.Level = 2
	r, err := tm.render(m)
	if err != nil {
		t.Fatal(err)
	}
	wantTitle := "[FIRING] ssh-bruteforce, port-scan (2 alerts, max risk 8.5, escalation level 2)"
	if r.Title != wantTitle {
		t.Errorf("Title = %q, want %q", r.Title, wantTitle)
	}
	wantText := `- ssh-bruteforce from 198.51.100.7 on gw1 users root: 42 events, risk 8.5, severity 6.0, proposes block
- port-scan from 203.0.113.9 to 192.0.2.10: 300 events, risk 4.1, severity 3.0, proposes rate-limit
Awaiting approval:
- block 198.51.100.7 for 4h0m0s (decision 01HX0003, risk 8.5)`
	if r.Text != wantText {
		t.Errorf("Text =\n%s\nwant\n%s", r.Text, wantText)
	}
	if !strings.Contains(r.HTML, "<h2>"+wantTitle+"</h2>") {
		t.Errorf("HTML = %s", r.HTML)
	}

	empty, err := tm.render(&Message{Key: "k", Status: StatusResolved})
	if err != nil || empty.Title != "[RESOLVED] no alerts (0 alerts, max risk 0.0)" {
		t.Errorf("empty render = %+v, %v", empty, err)
	}
}

func TestTemplateFuncs(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"truncate short", truncate(5, "abc"), "abc"},
		{"truncate cut", truncate(5, "abcdefgh"), "abcd…"},
		{"truncate runes", truncate(3, "ééééé"), "éé…"},
		{"truncate 0", truncate(0, "abc"), ""},
		{"oneline", oneLine(" a\r\n\tb \x00c\x1b[31m "), "a b c[31m"},
		{"lines", lines(" a\r\n\r\n\tb \x1b[31m http://x\rc "), "a\nb [31m hxxp[:]//x\nc"},
		{"lines blank", lines(" \r\n\t"), ""},
		{"defang http", defang("see http://evil.example/x"), "see hxxp[:]//evil.example/x"},
		{"defang https upper", defang("HTTPS://x"), "hxxpS[:]//x"},
		{"defang glued", defang("_http://x"), "_hxxp[:]//x"},
		{"defang other", defang("ftp://x javascript://y"), "ftp[:]//x javascript[:]//y"},
		{"risk", riskString(8.46), "8.5/10 critical"},
		{"risk low", riskLevel(2.9), "low"},
		{"time", formatTime(time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("x", 7200))), "2024-05-01 12:00:00Z"},
		{"source campaign", sourceString(engine.Alert{Prefixes: []netip.Prefix{
			netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
			netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("2001:db8::/48")}}),
			"203.0.113.0/24, 198.51.100.0/24, 192.0.2.0/25 +1"},
		{"source key", sourceString(engine.Alert{Key: "host=gw1"}), "host=gw1"},
		{"pending", pendingString(engine.Decision{ID: "d", Action: "firewall-rule", Proto: "tcp", Port: 22}),
			"firewall-rule everyone tcp/22 (decision d, risk 0.0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestCustomTemplate(t *testing.T) {
	tm, err := parseTemplates(TemplateConfig{
		Title: `{{.Receiver}}: {{with first .Alerts}}{{.Scenario | upper}} {{risk .Risk}}{{end}}`,
		Text:  `{{range .Alerts}}{{time .Time}} {{source .}} {{label "severity" .}} {{timeIn "Europe/Paris" "15:04" .Time}}{{"\n"}}{{end}}{{.Description | truncate 5}}`,
	}, TemplateConfig{Title: defaultTitle, Text: defaultText})
	if err == nil {
		t.Fatal("a template using a field Data lacks was accepted")
	}
	tm, err = parseTemplates(TemplateConfig{
		Title: `{{.Receiver}}: {{with first .Alerts}}{{.Scenario | upper}} {{risk .Risk}}{{end}}`,
		Text:  `{{range .Alerts}}{{time .Time}} {{source .}} {{label "severity" .}} {{timeIn "Europe/Paris" "15:04" .Time}}{{"\n"}}{{end}}`,
	}, TemplateConfig{Title: defaultTitle, Text: defaultText})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tm.render(testMessage("k", StatusFiring))
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != "ops: SSH-BRUTEFORCE 8.5/10 critical" || !strings.HasPrefix(r.Text, "2024-05-01 12:00:00Z 198.51.100.7 high 14:00") {
		t.Errorf("render = %+v", r)
	}

	// A runaway template is stopped, not fed: 14 sample alerts × 100 kB.
	_, err = parseTemplates(TemplateConfig{Text: `{{range .Alerts}}{{printf "%0100000d" 0}}{{end}}`},
		TemplateConfig{Title: defaultTitle, Text: defaultText})
	if err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("runaway template: err = %v, want too long", err)
	}
}

var liveURL = regexp.MustCompile(`(?i)https?://`)

// FuzzWebhookBody feeds attacker-shaped alert fields and arbitrary
// templates through rendering and the webhook body. It must not panic;
// accepted output is valid JSON carrying the key; default summaries stay
// link-free and titles stay on one line.
func FuzzWebhookBody(f *testing.F) {
	f.Add("ssh-bruteforce", "gw1", "root", "grp-1", "")
	f.Add("<!channel>", "http://evil.example/x", "admin\r\nBcc: x@example.org", "k", "{{.Key}}")
	f.Add("scan", "_https://x", "[a](https://b)", "k2", "{{range .Alerts}}{{summary .}}{{end}}")
	f.Add("\x00\xff", "é\u202e", strings.Repeat("u", 300), "k3", "{{truncate 3 .Receiver}}{{defang .Key}}")
	f.Add("s", "h", "u", "k4", "{{range .Alerts}}{{.Nope}}{{end}}")
	f.Add("s", "h", "u", "k5", `{{timeIn "../../etc/passwd" "x" .Alerts}}`)
	f.Fuzz(func(t *testing.T, scenario, host, user, key, text string) {
		tm, err := parseTemplates(TemplateConfig{Text: text}, TemplateConfig{Title: defaultTitle, Text: defaultText})
		if err != nil {
			return // rejected at construction: fine
		}
		m := testMessage(key, StatusFiring)
		m.Alerts[0].Scenario = scenario
		m.Alerts[0].Host = host
		m.Alerts[0].Users = []string{user}
		m.Alerts[1].Key = host
		m.Alerts[1].Source = netip.Addr{}
		body, err := webhookBody(m, tm)
		if err != nil {
			return
		}
		var p WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, body)
		}
		if utf8.ValidString(key) && p.Key != key {
			t.Errorf("key %q came back %q", key, p.Key)
		}
		if strings.ContainsAny(p.Title, "\r\n") {
			t.Errorf("title spans lines: %q", p.Title)
		}
		for _, a := range p.Alerts {
			if liveURL.MatchString(a.Summary) || strings.ContainsAny(a.Summary, "\r\n") {
				t.Errorf("summary %q is not a link-free single line", a.Summary)
			}
		}
	})
}

func BenchmarkRender(b *testing.B) {
	tm, err := parseTemplates(TemplateConfig{}, TemplateConfig{Title: defaultTitle, Text: defaultText, HTML: defaultHTML})
	if err != nil {
		b.Fatal(err)
	}
	m := testMessage("bench", StatusFiring)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := tm.render(m); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "renders/s")
}

func BenchmarkWebhookBody(b *testing.B) {
	tm, err := parseTemplates(TemplateConfig{}, TemplateConfig{Title: defaultTitle, Text: defaultText})
	if err != nil {
		b.Fatal(err)
	}
	m := testMessage("bench", StatusFiring)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhookBody(m, tm); err != nil {
			b.Fatal(err)
		}
	}
}
