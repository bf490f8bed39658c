package notifiers

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const v = "s3cr3t-value-9f"
	s := NewSecret(v)
	holder := struct {
		Exported   Secret
		unexported Secret
		Ptr        *Secret
	}{s, s, &s}
	var logs logBuffer
	debugLogger(&logs).Info("x", "secret", s, "holder", holder)
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := s.MarshalText()
	noSecret(t, v,
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder, holder, holder),
		fmt.Sprintf("%v %+v %#v", &holder, &holder, &holder),
		string(j), string(txt), logs.String(), slog.AnyValue(s).String())
	if s.reveal() != v || !strings.Contains(fmt.Sprint(s), "[redacted]") {
		t.Errorf("reveal/print broken")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("TEST_TOK", "from-env")
	t.Setenv("TEST_EMPTY", "")

	tests := []struct {
		name, env, file, want, wantErr string
	}{
		{name: "env", env: "TEST_TOK", want: "from-env"},
		{name: "file trims newline", file: file, want: "from-file"},
		{name: "unset env", env: "TEST_NOT_SET_ANYWHERE", wantErr: "token_env: environment variable TEST_NOT_SET_ANYWHERE is unset"},
		{name: "empty env", env: "TEST_EMPTY", wantErr: "unset or empty"},
		{name: "missing file", file: filepath.Join(dir, "nope"), wantErr: "token_file:"},
		{name: "empty file", file: empty, wantErr: "is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadSecret("token", tc.env, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadSecret = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || s.reveal() != tc.want {
				t.Fatalf("loadSecret = %q, %v; want %q", s.reveal(), err, tc.want)
			}
		})
	}
}

// TestChannelsNeverShowSecrets builds every channel from env secrets and
// prints, marshals and logs the configs and the built notifiers.
func TestChannelsNeverShowSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"ok":false,"error":"internal_error"}`)
	}))
	defer srv.Close()
	secrets := map[string]string{
		"LEAK_SLACK":   "xoxb-leak-slack-1a",
		"LEAK_HOOK":    srv.URL + "/services/leak-hook-2b",
		"LEAK_PD":      "leak-pd-routing-3c",
		"LEAK_SMTP":    "leak-smtp-pass-4d",
		"LEAK_HMAC":    "leak-hmac-5e",
		"LEAK_HDR":     "leak-header-6f",
		"LEAK_TEAMS":   srv.URL + "/teams/leak-teams-7a",
		"LEAK_MM":      srv.URL + "/mm/leak-mm-8b",
		"LEAK_SMS":     "leak-sms-9c",
		"LEAK_HOOKURL": srv.URL + "/generic/leak-url-0d",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	var logs logBuffer
	o := Options{Receiver: "leaky", Logger: debugLogger(&logs)}
	type built struct {
		cfg any
		n   Sender
	}
	var all []built
	add := func(cfg any, n Sender, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%T: %v", cfg, err)
		}
		all = append(all, built{cfg, n})
	}
	sc := SlackConfig{TokenEnv: "LEAK_SLACK", Channel: "C1", APIURL: srv.URL + "/api/"}
	s, err := NewSlack(sc, o)
	add(sc, s, err)
	shc := SlackConfig{WebhookURLEnv: "LEAK_HOOK"}
	sh, err := NewSlack(shc, o)
	add(shc, sh, err)
	pc := PagerDutyConfig{RoutingKeyEnv: "LEAK_PD", Endpoint: srv.URL}
	p, err := NewPagerDuty(pc, o)
	add(pc, p, err)
	ec := EmailConfig{Host: "127.0.0.1", Port: 1, Auth: "plain", Username: "u", PasswordEnv: "LEAK_SMTP",
		From: "a@example.org", To: []string{"b@example.org"}}
	e, err := NewEmail(ec, o)
	add(ec, e, err)
	wc := WebhookConfig{URLEnv: "LEAK_HOOKURL", SecretEnv: "LEAK_HMAC",
		Headers: []HeaderConfig{{Name: "Authorization", Value: "Bearer ", ValueEnv: "LEAK_HDR"}}}
	w, err := NewWebhook(wc, o)
	add(wc, w, err)
	tc := TeamsConfig{WebhookURLEnv: "LEAK_TEAMS"}
	tm, err := NewTeams(tc, o)
	add(tc, tm, err)
	mc := MattermostConfig{WebhookURLEnv: "LEAK_MM"}
	mm, err := NewMattermost(mc, o)
	add(mc, mm, err)
	smc := SMSConfig{URL: srv.URL, Fields: map[string]string{"text": "{{.Text}}"}, Auth: SMSAuthConfig{Scheme: "bearer", SecretEnv: "LEAK_SMS"}}
	sm, err := NewSMS(smc, o)
	add(smc, sm, err)

	var texts []string
	for _, b := range all {
		_, err := b.n.Send(t.Context(), testMessage("k-leak", StatusFiring))
		if err == nil {
			t.Errorf("%T: Send to a 500 server succeeded", b.n)
			continue
		}
		cj, _ := json.Marshal(b.cfg)
		nj, _ := json.Marshal(b.n)
		texts = append(texts,
			fmt.Sprintf("%v %+v %#v", b.cfg, b.cfg, b.cfg),
			fmt.Sprintf("%v %+v %#v", b.n, b.n, b.n),
			string(cj), string(nj),
			err.Error(), fmt.Sprintf("%+v %#v", err, err))
		slog.New(slog.NewJSONHandler(&logs, nil)).Error("send failed", "cfg", b.cfg, "notifier", b.n, "err", err)
	}
	// Email also fails on a closed port; connect errors must not leak.
	texts = append(texts, logs.String())
	for k, v := range secrets {
		secret := v
		if strings.HasPrefix(v, "http") {
			secret = v[strings.LastIndexByte(v, '/')+1:] // the token part of a URL
		}
		t.Run(k, func(t *testing.T) { noSecret(t, secret, texts...) })
	}
}
