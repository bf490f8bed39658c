package notifiers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

const testSMSToken = "sms-token-77aa01"

type smsGateway struct {
	t    *testing.T
	mu   sync.Mutex
	reqs []smsReq
}

type smsReq struct {
	method, contentType, auth, key string
	apiKey                         string
	user, pass                     string
	params                         map[string]string
}

func (g *smsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := smsReq{method: r.Method, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"),
		key: r.Header.Get("X-Phantomsoc-Key"), apiKey: r.Header.Get("X-Api-Key"), params: map[string]string{}}
	q.user, q.pass, _ = r.BasicAuth()
	switch {
	case r.Method == http.MethodGet:
		for k, v := range r.URL.Query() {
			q.params[k] = v[0]
		}
	case q.contentType == "application/json":
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &q.params); err != nil {
			g.t.Errorf("json body %s: %v", b, err)
		}
	default:
		if err := r.ParseForm(); err != nil {
			g.t.Fatal(err)
		}
		for k, v := range r.PostForm {
			q.params[k] = v[0]
		}
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, q)
	g.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func TestSMS(t *testing.T) {
	gw := &smsGateway{t: t}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	t.Setenv("TEST_SMS_TOKEN", testSMSToken)
	fields := map[string]string{"to": "+15550100", "from": "phantomsoc", "text": "{{.Text}}", "ref": "{{.Key}}"}

	tests := []struct {
		name string
		cfg  SMSConfig
		want smsReq
	}{
		{
			name: "form bearer",
			cfg:  SMSConfig{URL: srv.URL + "/send", Fields: fields, Auth: SMSAuthConfig{Scheme: "bearer", SecretEnv: "TEST_SMS_TOKEN"}},
			want: smsReq{method: "POST", contentType: "application/x-www-form-urlencoded", auth: "Bearer " + testSMSToken},
		},
		{
			name: "json basic",
			cfg: SMSConfig{URL: srv.URL + "/send", Encoding: "json", Fields: fields,
				Auth: SMSAuthConfig{Scheme: "basic", Username: "acct1", SecretEnv: "TEST_SMS_TOKEN"}},
			want: smsReq{method: "POST", contentType: "application/json", user: "acct1", pass: testSMSToken},
		},
		{
			name: "get query with api-key header",
			cfg: SMSConfig{Method: "GET", URL: srv.URL + "/send?account=7", Fields: fields,
				Headers: []HeaderConfig{{Name: "X-Api-Key", ValueEnv: "TEST_SMS_TOKEN"}}},
			want: smsReq{method: "GET", apiKey: testSMSToken},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gw.mu.Lock()
			gw.reqs = nil
			gw.mu.Unlock()
			n, err := NewSMS(tc.cfg, Options{Receiver: "pager"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := n.Send(t.Context(), hostileMessage("k-sms-1"))
			if err != nil || res.Status != http.StatusCreated {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			q := gw.reqs[0]
			if q.method != tc.want.method || q.contentType != tc.want.contentType ||
				(tc.want.auth != "" && q.auth != tc.want.auth) || q.user != tc.want.user || q.pass != tc.want.pass || q.apiKey != tc.want.apiKey || q.key != "k-sms-1" {
				t.Errorf("request = %+v, want %+v", q, tc.want)
			}
			if q.params["to"] != "+15550100" || q.params["ref"] != "k-sms-1" {
				t.Errorf("params = %v", q.params)
			}
			text := q.params["text"]
			if n := utf8.RuneCountInString(text); n == 0 || n > 160 {
				t.Errorf("text has %d characters, want 1–160: %q", n, text)
			}
			if tc.cfg.Method == "GET" && q.params["account"] != "7" {
				t.Errorf("GET lost the URL's own query: %v", q.params)
			}
		})
	}
}

func TestSMSTemplateErrorNamesReceiver(t *testing.T) {
	_, err := NewSMS(SMSConfig{URL: "https://sms.example.net/send", Fields: map[string]string{"text": "{{.Nope}}"}},
		Options{Receiver: "pager"})
	if err == nil {
		t.Fatal("NewSMS accepted a template with an unknown field")
	}
	for _, want := range []string{`receiver "pager"`, "sms", "fields.text", "Nope"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
