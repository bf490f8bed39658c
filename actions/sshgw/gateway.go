// Package sshgw enforces on a gateway reached over SSH: it keeps one
// persistent connection per gateway and runs nft there in sessions on it, with
// fixed command lines and scripts rendered from validated values on stdin.
package sshgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/phantomsoc/phantomsoc/actions"
)

// ErrDown is wrapped by every call made while the gateway is not connected,
// or whose connection broke under it: the caller keeps the work pending and
// retries once Up reports true again. Everything the backend sends is
// idempotent, so a retry after a call that may have landed is safe.
var ErrDown = fmt.Errorf("%w: not connected", actions.ErrGatewayDown)

// ErrHostKey is wrapped when the gateway's host key is not the one
// known_hosts holds for it. It needs a human: Run keeps retrying, but never
// talks to a host it cannot verify.
var ErrHostKey = errors.New("host key verification failed")

// ErrClosed is wrapped by calls made after Close.
var ErrClosed = errors.New("gateway closed")

// DefaultKeepalive is how often Run checks an idle connection when the
// config is silent.
const DefaultKeepalive = 15 * time.Second

// Reconnect backoff: quick enough that a restarted sshd is back within a
// second, capped so a gateway that is gone for hours costs nothing.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	// stableUptime is how long a connection must last for its loss to
	// count as news rather than one more failure of a flapping link.
	stableUptime = time.Minute
	// connectTimeout bounds dial, handshake and the first commands, so a
	// black-holed gateway cannot stall the reconnect loop.
	connectTimeout = 20 * time.Second
)

// Config is one SSH gateway.
type Config struct {
	// Name is the gateway's name in errors, logs and audit records.
	Name string
	// Addr is host:port, an IP address or a hostname.
	Addr string
	User string
	// KnownHosts is the known_hosts file the gateway's host key must be in.
	KnownHosts string
	// KeyFile is the private key; empty means the ssh-agent at
	// SSH_AUTH_SOCK.
	KeyFile string
	// Keepalive is the interval of keepalive requests on an idle
	// connection; a request unanswered within it drops the connection.
	Keepalive time.Duration
	// Sudo runs nft as `sudo -n nft` for a user that is not root.
	Sudo bool
	// Dial opens the TCP connection; nil is a net.Dialer. Tests dial from
	// inside a network namespace; a deployment could dial through a jump
	// host.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var (
	// hostnamePattern is a DNS name: dot-separated labels of letters,
	// digits and inner hyphens.
	hostnamePattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)
	})
	// userPattern is what OpenSSH accepts as a login name, narrowed.
	userPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`) })
)

// Validate checks c and applies the defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Name == "" || strings.IndexFunc(c.Name, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		errs = append(errs, fmt.Errorf("name %q: want a non-empty name without spaces", c.Name))
	}
	if err := validAddr(c.Addr); err != nil {
		errs = append(errs, err)
	}
	if !userPattern().MatchString(c.User) {
		errs = append(errs, fmt.Errorf("user %q: want a login name", c.User))
	}
	if c.KnownHosts == "" {
		errs = append(errs, errors.New("known_hosts: a file holding the gateway's host key is required"))
	}
	if c.Keepalive == 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.Keepalive < time.Second {
		errs = append(errs, fmt.Errorf("keepalive %s: want at least 1s", c.Keepalive))
	}
	if c.KeyFile == "" && os.Getenv("SSH_AUTH_SOCK") == "" {
		errs = append(errs, errors.New("no key_file and no SSH_AUTH_SOCK: give a private key or run an ssh-agent"))
	}
	return errors.Join(errs...)
}

func validAddr(addr string) error {
	if _, err := netip.ParseAddrPort(addr); err == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("addr %q: want host:port", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("addr %q: port must be 1-65535", addr)
	}
	if _, err := netip.ParseAddr(host); err != nil && !hostnamePattern().MatchString(host) {
		return fmt.Errorf("addr %q: %q is neither an IP address nor a hostname", addr, host)
	}
	return nil
}

// Gateway is one SSH-attached gateway. Run owns its connection; the
// actions.Backend methods run nft on whatever connection is current.
type Gateway struct {
	cfg    Config
	layout *actions.Layout
	log    *slog.Logger
	// signer is the key from KeyFile; nil means ask the agent at each
	// connect, so an agent restarted meanwhile is picked up.
	signer ssh.Signer
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)

	mu      sync.Mutex
	client  *ssh.Client
	version string
	remote  netip.Addr
	lastErr error
	changed chan struct{}
	running bool
	closed  bool
	// stop ends the running Run; Close calls it.
	stop context.CancelFunc
}

// New validates cfg and layout and prepares a gateway; Run connects it. The
// layout is copied, so the caller may go on using its own.
func New(cfg Config, layout *actions.Layout, logger *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway %s: config: %w", cfg.Name, err)
	}
	if layout == nil {
		return nil, fmt.Errorf("gateway %s: no layout", cfg.Name)
	}
	l := &actions.Layout{
		Mgmt:            append([]netip.Prefix(nil), layout.Mgmt...),
		QuarantineAllow: append([]actions.Service(nil), layout.QuarantineAllow...),
		RatePerMinute:   layout.RatePerMinute,
		RateBurst:       layout.RateBurst,
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("gateway %s: layout: %w", cfg.Name, err)
	}
	// Read known_hosts once now so a typo fails at startup, not at the
	// first connect; each connect reads it again to pick up edits.
	if _, err := knownhosts.New(cfg.KnownHosts); err != nil {
		return nil, fmt.Errorf("gateway %s: known_hosts: %w", cfg.Name, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg:     cfg,
		layout:  l,
		log:     logger.With("component", "sshgw", "gateway", cfg.Name),
		dial:    cfg.Dial,
		changed: make(chan struct{}),
	}
	if g.dial == nil {
		d := &net.Dialer{KeepAlive: cfg.Keepalive}
		g.dial = d.DialContext
	}
	if cfg.KeyFile != "" {
		s, err := loadKey(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("gateway %s: %w", cfg.Name, err)
		}
		g.signer = s
	}
	return g, nil
}

// Name is the gateway's name.
func (g *Gateway) Name() string { return g.cfg.Name }

// Up reports whether the gateway is connected and nft answered on it.
func (g *Gateway) Up() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.client != nil && !g.closed
}

// LastError is why the gateway is down: the failed connect or the error that
// ended the last connection; nil while up.
func (g *Gateway) LastError() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastErr
}

// RemoteClient is the address the gateway sees our SSH connection come from,
// as sshd reports it in SSH_CONNECTION: the administering session that must
// never be blocked. It is kept across reconnects (the next connection almost
// always comes from the same place, and a guard must not lapse while the
// gateway is down); ok is false until the first connection.
func (g *Gateway) RemoteClient() (netip.Addr, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.remote, g.remote.IsValid()
}

// Changed returns a channel closed at the next change of Up or LastError,
// so the enforcer can retry pending work when the gateway comes back without
// polling.
func (g *Gateway) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// notify wakes Changed's waiters; g.mu must be held.
func (g *Gateway) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// Run connects the gateway and keeps it connected until ctx ends or Close is
// called: it checks the connection with keepalive requests and, when it
// drops or cannot be made, reconnects with exponential backoff.
func (g *Gateway) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		return fmt.Errorf("gateway %s: run: %w", g.cfg.Name, ErrClosed)
	case g.running:
		g.mu.Unlock()
		return fmt.Errorf("gateway %s: run: already running", g.cfg.Name)
	}
	g.running, g.stop = true, cancel
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running, g.stop = false, nil
		g.mu.Unlock()
	}()

	backoff := minBackoff
	var lastMsg string
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Jitter spreads the reconnects of many gateways after a
			// shared outage.
			t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		c, err := g.connect(ctx)
		if ctx.Err() != nil {
			if c != nil {
				c.client.Close()
			}
			return nil
		}
		if err != nil {
			g.setDown(nil, err)
			// One line per distinct failure: a gateway down for a day
			// must not flood the log, yet a new cause must show.
			if msg := err.Error(); msg != lastMsg {
				lastMsg = msg
				if errors.Is(err, ErrHostKey) || isAuthError(err) {
					g.log.Error("gateway unreachable: fix its host key or credentials", "error", err)
				} else {
					g.log.Info("gateway unreachable", "error", err, "retry_in", backoff)
				}
			} else {
				g.log.Debug("connect failed", "error", err, "retry_in", backoff)
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		lastMsg = ""
		g.setUp(c)
		upAt := time.Now()
		err = g.serve(ctx, c)
		if ctx.Err() != nil {
			g.setDown(c, nil)
			return nil
		}
		err = fmt.Errorf("gateway %s: connection lost: %w", g.cfg.Name, err)
		g.setDown(c, err)
		g.log.Info("gateway down", "error", err, "up_for", time.Since(upAt).Round(time.Millisecond))
		// A connection that dies right after it is made (sshd
		// dropping us, a flapping link) must not be redialled in a
		// tight loop: only one that stayed up resets the backoff.
		if time.Since(upAt) >= stableUptime {
			backoff = minBackoff
		} else {
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

func (g *Gateway) setUp(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.client, g.version, g.lastErr = c.client, c.version, nil
	if c.remote.IsValid() {
		g.remote = c.remote
	}
	g.notify()
	g.log.Info("gateway up", "addr", g.cfg.Addr, "remote_client", c.remote, "nft_version", c.version)
}

// setDown records err; c, when not nil, is the connection that ended, which
// is forgotten only if it is still the current one.
func (g *Gateway) setDown(c *conn, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	changed := false
	if c != nil && g.client == c.client {
		g.client, changed = nil, true
	}
	// The same failure again is no news for Changed's waiters.
	if err != nil && (g.lastErr == nil || g.lastErr.Error() != err.Error()) {
		g.lastErr, changed = err, true
	}
	if changed {
		g.notify()
	}
}

// serve watches c until it drops, a keepalive goes unanswered or ctx ends;
// it closes c and returns why.
func (g *Gateway) serve(ctx context.Context, c *conn) error {
	waitc := make(chan error, 1)
	go func() { waitc <- c.client.Wait() }()
	t := time.NewTicker(g.cfg.Keepalive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.client.Close()
			<-waitc
			return ctx.Err()
		case err := <-waitc:
			c.client.Close()
			if err == nil {
				err = errors.New("closed by the gateway")
			}
			return err
		case <-t.C:
			if err := g.keepalive(c.client); err != nil {
				c.client.Close()
				<-waitc
				return err
			}
		}
	}
}

// keepalive sends OpenSSH's keepalive request; any answer (OpenSSH refuses
// the request it does not implement) proves the peer is there. A request
// left unanswered for one interval means a dead path TCP has not noticed.
func (g *Gateway) keepalive(client *ssh.Client) error {
	reply := make(chan error, 1)
	go func() {
		_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	t := time.NewTimer(g.cfg.Keepalive)
	defer t.Stop()
	select {
	case err := <-reply:
		if err != nil {
			return fmt.Errorf("keepalive: %w", err)
		}
		return nil
	case <-t.C:
		// Closing unblocks SendRequest, so its goroutine ends here too.
		client.Close()
		<-reply
		return fmt.Errorf("keepalive: no answer within %s", g.cfg.Keepalive)
	}
}

// Close drops the connection and stops Run; every later call fails with
// ErrClosed.
func (g *Gateway) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.stop != nil {
		g.stop()
	}
	if g.client != nil {
		g.client.Close()
		g.client = nil
	}
	g.lastErr = fmt.Errorf("gateway %s: %w", g.cfg.Name, ErrClosed)
	g.notify()
	return nil
}

// current is the connection to run a command on, or why there is none.
func (g *Gateway) current() (*ssh.Client, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return nil, "", ErrClosed
	case g.client == nil:
		return nil, "", ErrDown
	}
	return g.client, g.version, nil
}
