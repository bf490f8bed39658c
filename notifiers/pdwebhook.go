package notifiers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the inbound PagerDuty webhook.
const (
	DefaultPagerDutyWebhookListen = "127.0.0.1:8095"
	DefaultPagerDutyWebhookPath   = "/pagerduty"
)

// maxWebhookBody bounds a webhook request: PagerDuty's incident events
// are a few kilobytes.
const maxWebhookBody = 256 << 10

// HeaderPagerDutySignature carries "v1=<hex HMAC-SHA256 of the body>",
// one per secret PagerDuty holds for the subscription, comma-separated.
const HeaderPagerDutySignature = "X-PagerDuty-Signature"

// PagerDutyWebhookConfig configures the inbound PagerDuty webhook (a V3
// webhook subscription), through which an acknowledgement in PagerDuty
// stops the escalation of the alerts it pages about.
type PagerDutyWebhookConfig struct {
	// Listen is host:port; default 127.0.0.1:8095 (put a TLS reverse proxy
	// in front for PagerDuty to reach it).
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// Path is the URL path served; default /pagerduty.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// SecretEnv/SecretFile hold the subscription's signing secret.
	SecretEnv  string `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	SecretFile string `yaml:"secret_file,omitempty" json:"secret_file,omitempty"`
}

// Validate checks the config without resolving the secret.
func (c *PagerDutyWebhookConfig) Validate() error {
	var errs fieldErrs
	validateSecretRef(&errs, "secret", c.SecretEnv, c.SecretFile, true)
	if c.Listen != "" {
		host, port, err := net.SplitHostPort(c.Listen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			errs.add("listen", "%q: want host:port", c.Listen)
		} else if host == "" {
			errs.add("listen", "%q: name the address to listen on (127.0.0.1, or 0.0.0.0 for every interface)", c.Listen)
		}
	}
	if c.Path != "" && (!strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " ?#\t\r\n")) {
		errs.add("path", "%q: want an absolute URL path", c.Path)
	}
	return errs.join()
}

// PagerDutyIncidentEvent is an incident's acknowledgement or resolution
// as PagerDuty reported it.
type PagerDutyIncidentEvent struct {
	// EventID is PagerDuty's ID of the webhook event.
	EventID string
	// Type is "incident.acknowledged" or "incident.resolved".
	Type       string
	OccurredAt time.Time
	// IncidentID is PagerDuty's incident ID ("PGR0VU2").
	IncidentID string
	// DedupKey is the incident's key: the dedup_key of the event that
	// opened it, which for our incidents is the Message.Key.
	DedupKey string
	// Agent and AgentID name who acted (a user's summary is their name);
	// empty when PagerDuty names nobody (an automatic resolution).
	Agent, AgentID string
}

// ErrUnknownIncident is what a handler returns for an incident that is
// not (or no longer) one of ours: the webhook answers 2xx so PagerDuty
// does not retry it, and logs it.
var ErrUnknownIncident = errors.New("unknown incident")

// PagerDutyWebhook serves PagerDuty V3 webhooks: it checks the signature,
// and hands incident acknowledgements and resolutions to a handler.
type PagerDutyWebhook struct {
	listen, path string
	secret       Secret
	handle       func(context.Context, PagerDutyIncidentEvent) error
	log          *slog.Logger

	mu sync.Mutex
	ln net.Listener
}

// NewPagerDutyWebhook validates cfg and resolves the secret; handle is
// called for each signed incident.acknowledged or incident.resolved
// event, and its error (other than ErrUnknownIncident) makes PagerDuty
// retry.
func NewPagerDutyWebhook(cfg PagerDutyWebhookConfig, handle func(context.Context, PagerDutyIncidentEvent) error, o Options) (*PagerDutyWebhook, error) {
	const what = "pagerduty webhook"
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if handle == nil {
		return nil, fmt.Errorf("%s: no handler", what)
	}
	w := &PagerDutyWebhook{listen: cfg.Listen, path: cfg.Path, handle: handle, log: o.logger("pagerduty-webhook")}
	if w.listen == "" {
		w.listen = DefaultPagerDutyWebhookListen
	}
	if w.path == "" {
		w.path = DefaultPagerDutyWebhookPath
	}
	var err error
	if w.secret, err = loadSecret("secret", cfg.SecretEnv, cfg.SecretFile); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return w, nil
}

// Listen binds the address, so that a port in use fails at startup.
func (w *PagerDutyWebhook) Listen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", w.listen)
	if err != nil {
		return fmt.Errorf("pagerduty webhook: %w", err)
	}
	w.ln = ln
	return nil
}

// Addr is the bound address (after Listen), for a listen port of 0.
func (w *PagerDutyWebhook) Addr() net.Addr {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ln == nil {
		return nil
	}
	return w.ln.Addr()
}

// URL is where to point the subscription, as bound (after Listen).
func (w *PagerDutyWebhook) URL() string {
	a := w.Addr()
	if a == nil {
		return ""
	}
	return "http://" + a.String() + w.path
}

// Close releases the listener of a webhook that never ran; Run closes
// it otherwise.
func (w *PagerDutyWebhook) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ln == nil {
		return nil
	}
	err := w.ln.Close()
	w.ln = nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("pagerduty webhook: close: %w", err)
	}
	return nil
}

// Run serves until ctx ends (binding first unless Listen was called),
// then lets requests in flight finish for up to five seconds.
func (w *PagerDutyWebhook) Run(ctx context.Context) error {
	if err := w.Listen(); err != nil {
		return err
	}
	w.mu.Lock()
	ln := w.ln
	w.mu.Unlock()
	mux := http.NewServeMux()
	mux.Handle(w.path, w)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelDebug),
	}
	w.log.Info("pagerduty webhook listening", "addr", ln.Addr().String(), "path", w.path)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { errc <- srv.Serve(ln) })
	defer wg.Wait()
	select {
	case err := <-errc:
		_ = w.Close()
		return fmt.Errorf("pagerduty webhook: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	_ = w.Close()
	if err != nil {
		return fmt.Errorf("pagerduty webhook: shutdown: %w", err)
	}
	return nil
}

// pdWebhook is the part of a V3 webhook payload we read.
type pdWebhook struct {
	Event struct {
		ID           string    `json:"id"`
		EventType    string    `json:"event_type"`
		ResourceType string    `json:"resource_type"`
		OccurredAt   time.Time `json:"occurred_at"`
		Agent        *struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
		} `json:"agent"`
		Data struct {
			ID          string `json:"id"`
			IncidentKey string `json:"incident_key"`
		} `json:"data"`
	} `json:"event"`
}

// ServeHTTP answers 405 to anything but POST, 413 past the size bound,
// 401 without a valid signature, 400 to a body that is not a webhook,
// 204 to an event that was handled or is ignored (another type, an
// incident that is not ours), and 500 when handling failed (PagerDuty
// retries).
func (w *PagerDutyWebhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxWebhookBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			w.log.Warn("pagerduty webhook refused", "reason", "body too large", "remote", r.RemoteAddr)
			http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(rw, "read body", http.StatusBadRequest)
		return
	}
	if !w.signed(r.Header.Values(HeaderPagerDutySignature), body) {
		w.log.Warn("pagerduty webhook refused", "reason", "bad signature", "remote", r.RemoteAddr)
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	var p pdWebhook
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(rw, "not a PagerDuty webhook", http.StatusBadRequest)
		return
	}
	ev := p.Event
	switch ev.EventType {
	case "incident.acknowledged", "incident.resolved":
	default:
		w.log.Debug("pagerduty webhook ignored", "event_type", ev.EventType, "event_id", ev.ID)
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	ie := PagerDutyIncidentEvent{EventID: ev.ID, Type: ev.EventType, OccurredAt: ev.OccurredAt,
		IncidentID: ev.Data.ID, DedupKey: ev.Data.IncidentKey}
	if ev.Agent != nil {
		ie.Agent, ie.AgentID = oneLine(ev.Agent.Summary), ev.Agent.ID
	}
	log := w.log.With("event_type", ie.Type, "event_id", ie.EventID, "incident", ie.IncidentID, "dedup_key", ie.DedupKey)
	if ie.DedupKey == "" {
		log.Info("pagerduty webhook ignored", "reason", "incident has no dedup key")
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	switch err := w.handle(r.Context(), ie); {
	case errors.Is(err, ErrUnknownIncident):
		log.Info("pagerduty webhook ignored", "reason", "not one of our incidents", "err", err)
	case err != nil:
		log.Error("pagerduty webhook failed", "err", err)
		http.Error(rw, "could not record the event", http.StatusInternalServerError)
		return
	default:
		log.Info("pagerduty webhook handled", "agent", ie.Agent)
	}
	rw.WriteHeader(http.StatusNoContent)
}

// signed reports whether any "v1=" signature in the headers is the body's
// HMAC-SHA256 with our secret. PagerDuty sends one per secret while a
// secret is rotated, comma-separated.
func (w *PagerDutyWebhook) signed(headers []string, body []byte) bool {
	mac := hmac.New(sha256.New, []byte(w.secret.reveal()))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, h := range headers {
		for sig := range strings.SplitSeq(h, ",") {
			v, ok := strings.CutPrefix(strings.TrimSpace(sig), "v1=")
			if !ok {
				continue
			}
			got, err := hex.DecodeString(v)
			if err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}
