// Package control is phantomsoc's local control API: the process that owns
// the store (daemon or console) serves it on a unix socket only its user can
// open; CLI commands are its clients while that process runs.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Status is what `phantomsoc status` shows about a running engine.
type Status struct {
	PID     int       `json:"pid"`
	Mode    string    `json:"mode"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	DB      string    `json:"db"`
	DryRun  bool      `json:"dry_run"`
	Sources []string  `json:"sources"`
	// Stats are this run's pipeline counters.
	engine.Stats
	// LatencyP99 is the arrival-to-durable-decision p99 upper bound.
	LatencyP99 string `json:"latency_p99"`
	// Queues are the pipeline stages' input queues.
	Queues []engine.Queue `json:"queues,omitempty"`
}

// StatusFunc reports the current status; it must be safe to call from any
// goroutine.
type StatusFunc func() Status

// Server serves the control API.
type Server struct {
	socket string
	status StatusFunc
	log    *slog.Logger
	ready  chan struct{}
	calls  map[string]CallFunc
}

// CallFunc answers one named call: args is the request's JSON body; the
// result is sent back as JSON. An error wrapping ErrNotFound becomes a 404.
type CallFunc func(args []byte) (any, error)

// ErrNotFound is what a call answers when the thing asked for does not
// exist; clients get an error wrapping it.
var ErrNotFound = errors.New("not found")

// NewServer returns a server for socket; status is required.
func NewServer(socket string, status StatusFunc, logger *slog.Logger) (*Server, error) {
	if socket == "" {
		return nil, errors.New("control: empty socket path")
	}
	if status == nil {
		return nil, errors.New("control: no status function")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{socket: socket, status: status, log: logger.With("component", "control"), ready: make(chan struct{}), calls: map[string]CallFunc{}}, nil
}

// Handle registers a call under name (letters, digits, '-' and '.'); it
// must be called before Run.
func (s *Server) Handle(name string, fn CallFunc) {
	s.calls[name] = fn
}

// Ready is closed once the socket accepts connections.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run listens until ctx ends, then removes the socket.
func (s *Server) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(s.socket), 0o700); err != nil {
		return fmt.Errorf("control socket dir: %w", err)
	}
	// A socket left by a killed process would make Listen fail; remove it
	// only when it is a socket and nobody answers on it.
	if fi, err := os.Lstat(s.socket); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("control socket %s: a file that is not a socket is in the way", s.socket)
		}
		if c, err := net.DialTimeout("unix", s.socket, 200*time.Millisecond); err == nil {
			c.Close()
			return fmt.Errorf("control socket %s: another phantomsoc process is serving it", s.socket)
		}
		if err := os.Remove(s.socket); err != nil {
			return fmt.Errorf("control socket %s: remove stale socket: %w", s.socket, err)
		}
	}
	ln, err := listenPrivate(ctx, s.socket)
	if err != nil {
		return fmt.Errorf("control socket %s: %w", s.socket, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.status())
	})
	mux.HandleFunc("POST /v1/call/{name}", s.serveCall)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("control socket listening", "socket", s.socket)
	close(s.ready)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("control socket %s: %w", s.socket, err)
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	<-errc
	_ = os.Remove(s.socket)
	return err
}

// maxArgs bounds a call's request body.
const maxArgs = 1 << 20

func (s *Server) serveCall(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	fn, ok := s.calls[name]
	if !ok {
		http.Error(w, fmt.Sprintf("unknown call %q", name), http.StatusNotFound)
		return
	}
	args, err := io.ReadAll(io.LimitReader(r.Body, maxArgs+1))
	if err != nil || len(args) > maxArgs {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	res, err := fn(args)
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusGone)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(res); err != nil {
		s.log.Warn("control call reply", "call", name, "err", err)
	}
}

// listenPrivate creates the socket already 0600: chmod after Listen would
// leave a moment in which the umask's mode lets other users connect.
func listenPrivate(ctx context.Context, path string) (net.Listener, error) {
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	var lc net.ListenConfig
	return lc.Listen(ctx, "unix", path)
}

// ErrNotRunning means no process answers on the socket.
var ErrNotRunning = errors.New("no phantomsoc process is serving the control socket")

// Client talks to a running Server.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for socket.
func NewClient(socket string) *Client {
	return &Client{socket: socket, http: &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}}
}

// WithTimeout returns a client for the same socket whose calls may take
// up to d: a call that waits on slow work (a packet capture, a large
// export) needs longer than NewClient's 5s. 0 leaves the bound to the
// call's context.
func (c *Client) WithTimeout(d time.Duration) *Client {
	h := *c.http
	h.Timeout = d
	return &Client{socket: c.socket, http: &h}
}

// notListening reports that nobody accepted the connection — only then may
// a caller fall back to opening the database itself; a connection that
// broke after it was made is an error, not an absent owner.
func notListening(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Call invokes a named call with args (JSON-encoded) and decodes the
// result into result.
func (c *Client) Call(ctx context.Context, name string, args, result any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("control call %s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://phantomsoc/v1/call/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if notListening(err) {
			return fmt.Errorf("%w (%s)", ErrNotRunning, c.socket)
		}
		return fmt.Errorf("control call %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		text := strings.TrimSpace(string(msg))
		if resp.StatusCode == http.StatusGone {
			return fmt.Errorf("%w: %s", ErrNotFound, text)
		}
		return fmt.Errorf("control call %s: %s: %s", name, resp.Status, text)
	}
	if err := json.NewDecoder(resp.Body).Decode(result); err != nil {
		return fmt.Errorf("control call %s: decode: %w", name, err)
	}
	return nil
}

// Status asks the running process for its status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://phantomsoc/v1/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if notListening(err) {
			return st, fmt.Errorf("%w (%s)", ErrNotRunning, c.socket)
		}
		return st, fmt.Errorf("control %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return st, fmt.Errorf("control %s: %s: %s", c.socket, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("control %s: decode status: %w", c.socket, err)
	}
	return st, nil
}
