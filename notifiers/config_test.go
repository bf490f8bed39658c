package notifiers

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fieldsOf lists the field paths of a Validate error.
func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Field)
		}
	}
	if err != nil {
		walk(err)
	}
	slices.Sort(out)
	return out
}

type validator interface{ Validate() error }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  validator
		want []string // field paths, sorted; nil means valid
	}{
		{"webhook ok", &WebhookConfig{URL: "https://hooks.example.net/x", SecretEnv: "HMAC"}, nil},
		{"webhook loopback http ok", &WebhookConfig{URL: "http://127.0.0.1:8080/x"}, nil},
		{"webhook no url", &WebhookConfig{}, []string{"url"}},
		{"webhook two urls", &WebhookConfig{URL: "https://a.example", URLEnv: "U"}, []string{"url"}},
		{"webhook plain http remote", &WebhookConfig{URL: "http://hooks.example.net/x"}, []string{"url"}},
		{"webhook userinfo", &WebhookConfig{URL: "https://u:p@hooks.example.net/"}, []string{"url"}},
		{"webhook ftp", &WebhookConfig{URL: "ftp://hooks.example.net/"}, []string{"url"}},
		{"webhook secret both", &WebhookConfig{URL: "https://a.example", SecretEnv: "A", SecretFile: "/f"}, []string{"secret_env"}},
		{"webhook bad env name", &WebhookConfig{URL: "https://a.example", SecretEnv: "A-B"}, []string{"secret_env"}},
		{"webhook headers", &WebhookConfig{URL: "https://a.example", Timeout: -1, Headers: []HeaderConfig{
			{Name: "X Bad"}, {Name: "X-Phantomsoc-Signature", Value: "forged"}, {Name: "X-Ok", Value: "a\r\nb"},
			{Name: "x-ok"}, {Name: "Content-Length", Value: "0"},
		}}, []string{"headers[0].name", "headers[1].name", "headers[2].value", "headers[3].name", "headers[4].name", "timeout"}},

		{"slack api ok", &SlackConfig{TokenEnv: "T", Channel: "C0123"}, nil},
		{"slack webhook ok", &SlackConfig{WebhookURLFile: "/run/secrets/hook"}, nil},
		{"slack nothing", &SlackConfig{}, []string{"token_env"}},
		{"slack both modes", &SlackConfig{TokenEnv: "T", Channel: "C1", WebhookURLEnv: "H"}, []string{"channel", "token_env"}},
		{"slack no channel", &SlackConfig{TokenEnv: "T"}, []string{"channel"}},
		{"slack bad channel", &SlackConfig{TokenEnv: "T", Channel: "#a b"}, []string{"channel"}},
		{"slack bad api url", &SlackConfig{TokenEnv: "T", Channel: "C1", APIURL: "http://slack.example/api/"}, []string{"api_url"}},

		{"pagerduty ok", &PagerDutyConfig{RoutingKeyFile: "/run/secrets/pd"}, nil},
		{"pagerduty no key", &PagerDutyConfig{Endpoint: "gopher://x"}, []string{"endpoint", "routing_key_env"}},
		{"pagerduty bad source", &PagerDutyConfig{RoutingKeyEnv: "K", Source: "a\nb"}, []string{"source"}},
		{"pagerduty webhook ok", &PagerDutyWebhookConfig{SecretFile: "/run/secrets/pd-webhook"}, nil},
		{"pagerduty webhook all set", &PagerDutyWebhookConfig{Listen: "[::1]:8095", Path: "/hooks/pd", SecretEnv: "S"}, nil},
		{"pagerduty webhook no secret", &PagerDutyWebhookConfig{}, []string{"secret_env"}},
		{"pagerduty webhook bad", &PagerDutyWebhookConfig{Listen: ":8095", Path: "pd?x", SecretEnv: "S"}, []string{"listen", "path"}},
		{"pagerduty webhook bad port", &PagerDutyWebhookConfig{Listen: "127.0.0.1:http", SecretEnv: "S"}, []string{"listen"}},

		{"email ok", &EmailConfig{Host: "smtp.example.org", From: "a@example.org", To: []string{"b@example.org"},
			Auth: "plain", Username: "a", PasswordEnv: "P"}, nil},
		{"email empty", &EmailConfig{}, []string{"from", "host", "to"}},
		{"email injection", &EmailConfig{Host: "smtp.example.org\r\nRCPT TO:<x@y>", From: "a@example.org\r\nBcc: x@y",
			To: []string{"b@example.org", "not an address"}}, []string{"from", "host", "to[1]"}},
		{"email none remote", &EmailConfig{Host: "smtp.example.org", TLS: "none", From: "a@example.org", To: []string{"b@example.org"}},
			[]string{"tls"}},
		{"email auth without tls", &EmailConfig{Host: "127.0.0.1", TLS: "none", From: "a@example.org", To: []string{"b@example.org"},
			Auth: "login", Username: "u", PasswordEnv: "P"}, []string{"auth"}},
		{"email auth incomplete", &EmailConfig{Host: "smtp.example.org", From: "a@example.org", To: []string{"b@example.org"},
			Auth: "plain"}, []string{"password_env", "username"}},
		{"email bad enums", &EmailConfig{Host: "smtp.example.org", TLS: "ssl3", Auth: "cram", Port: 70000,
			From: "a@example.org", To: []string{"b@example.org"}}, []string{"auth", "port", "tls"}},
		{"email password without auth", &EmailConfig{Host: "smtp.example.org", From: "a@example.org", To: []string{"b@example.org"},
			PasswordEnv: "P"}, []string{"auth"}},

		{"teams ok", &TeamsConfig{WebhookURLEnv: "T"}, nil},
		{"teams bad", &TeamsConfig{Format: "html"}, []string{"format", "webhook_url_env"}},
		{"mattermost ok", &MattermostConfig{WebhookURLEnv: "M", Channel: "soc-alerts"}, nil},
		{"mattermost bad", &MattermostConfig{WebhookURLEnv: "M", Channel: "Soc Alerts", Username: "x\ny"}, []string{"channel", "username"}},

		{"sms ok", &SMSConfig{URL: "https://sms.example.net/", Fields: map[string]string{"text": "{{.Text}}"}}, nil},
		{"sms empty", &SMSConfig{}, []string{"fields", "url"}},
		{"sms bad", &SMSConfig{Method: "DELETE", URL: "https://sms.example.net/", Encoding: "xml", MaxLength: -1,
			Fields: map[string]string{"": "x"}, Auth: SMSAuthConfig{Scheme: "digest"}},
			[]string{"auth.scheme", "encoding", "fields", "max_length", "method"}},
		{"sms get json", &SMSConfig{Method: "get", URL: "https://sms.example.net/", Encoding: "json",
			Fields: map[string]string{"t": "x"}}, []string{"encoding"}},
		{"sms basic incomplete", &SMSConfig{URL: "https://sms.example.net/", Fields: map[string]string{"t": "x"},
			Auth: SMSAuthConfig{Scheme: "basic"}}, []string{"auth.secret_env", "auth.username"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if got := fieldsOf(err); !slices.Equal(got, tc.want) {
				t.Errorf("Validate() fields = %q, want %q\n%v", got, tc.want, err)
			}
			if err != nil && !strings.Contains(err.Error(), ": ") {
				t.Errorf("Validate() = %q, want field: message", err)
			}
		})
	}
}

func TestConstructorErrorsNameReceiver(t *testing.T) {
	tests := []struct {
		name string
		new  func() error
		want []string
	}{
		{"bad template", func() error {
			_, err := NewWebhook(WebhookConfig{URL: "https://hooks.example.net/", Template: TemplateConfig{Title: "{{.Nope"}},
				Options{Receiver: "ops-hook"})
			return err
		}, []string{`receiver "ops-hook"`, "webhook", "template title"}},
		{"unknown field in template", func() error {
			_, err := NewSlack(SlackConfig{WebhookURLEnv: "TEST_HOOK_X", Template: TemplateConfig{Text: "{{.Alerts.Nope}}"}},
				Options{Receiver: "chat"})
			return err
		}, []string{`receiver "chat"`, "slack", "template text", "sample firing message"}},
		{"html template", func() error {
			_, err := NewEmail(EmailConfig{Host: "smtp.example.org", From: "a@example.org", To: []string{"b@example.org"},
				Template: TemplateConfig{HTML: "{{range}}"}}, Options{Receiver: "mail"})
			return err
		}, []string{`receiver "mail"`, "email", "template html"}},
		{"unset env", func() error {
			_, err := NewPagerDuty(PagerDutyConfig{RoutingKeyEnv: "TEST_PD_UNSET_ZZ"}, Options{Receiver: "oncall"})
			return err
		}, []string{`receiver "oncall"`, "pagerduty", "routing_key_env", "TEST_PD_UNSET_ZZ"}},
		{"invalid config", func() error {
			_, err := NewTeams(TeamsConfig{}, Options{Receiver: "teams"})
			return err
		}, []string{`receiver "teams"`, "teams", "webhook_url_env: required"}},
		{"secret URL not quoted", func() error {
			_, err := NewMattermost(MattermostConfig{WebhookURLEnv: "TEST_MM_PLAIN"}, Options{Receiver: "mm"})
			return err
		}, []string{`receiver "mm"`, "webhook_url: plain http is allowed only to a loopback host"}},
		{"missing ca file", func() error {
			_, err := NewEmail(EmailConfig{Host: "smtp.example.org", From: "a@example.org", To: []string{"b@example.org"},
				CAFile: "/nonexistent/ca.pem"}, Options{Receiver: "mail"})
			return err
		}, []string{`receiver "mail"`, "ca_file"}},
	}
	t.Setenv("TEST_HOOK_X", "https://hooks.slack.com/services/T/B/X")
	t.Setenv("TEST_MM_PLAIN", "http://mm.example.net/hooks/mm-plain-secret")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.new()
			if err == nil {
				t.Fatal("constructor succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			noSecret(t, "mm-plain-secret", err.Error())
		})
	}
}
