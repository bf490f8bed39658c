package sshgw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// conn is one established connection and what was learnt on it.
type conn struct {
	client  *ssh.Client
	version string
	remote  netip.Addr
}

// connect dials, verifies the host key, authenticates and checks that nft
// runs. A connection that cannot run nft is useless, so it counts as a
// failed connect and is retried like one.
func (g *Gateway) connect(ctx context.Context) (*conn, error) {
	fail := func(err error) (*conn, error) {
		return nil, fmt.Errorf("gateway %s: connect %s: %w", g.cfg.Name, g.cfg.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	hostKeys, err := knownhosts.New(g.cfg.KnownHosts)
	if err != nil {
		return fail(fmt.Errorf("known_hosts: %w", err))
	}
	auth, done, err := g.auth()
	if err != nil {
		return fail(err)
	}
	defer done()
	nc, err := g.dial(ctx, "tcp", g.cfg.Addr)
	if err != nil {
		return fail(err)
	}
	// The handshake has no context of its own: closing the socket is what
	// interrupts it when ctx ends or the connect timeout passes.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	cc := &ssh.ClientConfig{
		User:              g.cfg.User,
		Auth:              auth,
		HostKeyCallback:   g.verifyHost(hostKeys),
		HostKeyAlgorithms: knownAlgorithms(hostKeys, g.cfg.Addr, nc.RemoteAddr()),
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, g.cfg.Addr, cc)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return fail(fmt.Errorf("handshake: %w", context.Cause(ctx)))
	}
	if err != nil {
		nc.Close()
		return fail(err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	c := &conn{client: client}

	out, err := runCmd(ctx, client, cmdWhere, nil, 4096)
	if err != nil {
		client.Close()
		return fail(fmt.Errorf("read SSH_CONNECTION: %w", err))
	}
	// SSH_CONNECTION is "client-addr client-port server-addr server-port".
	if f := strings.Fields(string(out)); len(f) == 4 {
		if a, err := netip.ParseAddr(f[0]); err == nil {
			c.remote = a.Unmap().WithZone("")
		}
	}
	if !c.remote.IsValid() {
		g.log.Error("gateway did not say where our session comes from: the administering address is not guarded", "ssh_connection", strings.TrimSpace(string(out)))
	}
	out, err = runCmd(ctx, client, g.command(cmdVersion), nil, 4096)
	if err != nil {
		client.Close()
		return fail(fmt.Errorf("nft --version: %w", err))
	}
	c.version = strings.TrimSpace(string(out))
	return c, nil
}

// auth is the key file's signer, or the agent's keys; done releases the
// agent connection once the handshake is over.
func (g *Gateway) auth() (methods []ssh.AuthMethod, done func(), err error) {
	if g.signer != nil {
		return []ssh.AuthMethod{ssh.PublicKeys(g.signer)}, func() {}, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("no key_file and SSH_AUTH_SOCK is not set")
	}
	ac, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh-agent: %w", err)
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(ac).Signers)}, func() { ac.Close() }, nil
}

func loadKey(path string) (ssh.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	if _, ok := errors.AsType[*ssh.PassphraseMissingError](err); ok {
		return nil, fmt.Errorf("key file %s is passphrase-protected: load it into ssh-agent and leave key_file empty", path)
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return s, nil
}

// verifyHost checks the host key against known_hosts and turns knownhosts'
// terse errors into ones that say what to do.
func (g *Gateway) verifyHost(hostKeys ssh.HostKeyCallback) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := hostKeys(hostname, remote, key)
		if err == nil {
			return nil
		}
		offered := key.Type() + " " + ssh.FingerprintSHA256(key)
		if ke, ok := errors.AsType[*knownhosts.KeyError](err); ok {
			if len(ke.Want) == 0 {
				return fmt.Errorf("%w: %s is not in %s (it offered %s): check the fingerprint on the gateway, then add it",
					ErrHostKey, hostname, g.cfg.KnownHosts, offered)
			}
			want := make([]string, len(ke.Want))
			for i, k := range ke.Want {
				want[i] = fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line)
			}
			return fmt.Errorf("%w: %s offered %s but known_hosts has %s: the host key changed or someone is in the middle",
				ErrHostKey, hostname, offered, strings.Join(want, ", "))
		}
		if _, ok := errors.AsType[*knownhosts.RevokedError](err); ok {
			return fmt.Errorf("%w: %s offered %s, which known_hosts marks revoked", ErrHostKey, hostname, offered)
		}
		return fmt.Errorf("%w: %v", ErrHostKey, err)
	}
}

// probeKey matches no known_hosts line, so checking it lists the keys known
// for a host.
type probeKey struct{}

func (probeKey) Type() string                        { return "phantomsoc-probe" }
func (probeKey) Marshal() []byte                     { return []byte("phantomsoc-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key verifies nothing") }

var _ ssh.PublicKey = probeKey{}

// knownAlgorithms restricts the host key algorithms to the types known_hosts
// holds for the host. Without it x/crypto asks for RSA first, and a gateway
// known by its ed25519 key alone would fail verification although that key
// is right there.
func knownAlgorithms(hostKeys ssh.HostKeyCallback, addr string, remote net.Addr) []string {
	ke, ok := errors.AsType[*knownhosts.KeyError](hostKeys(addr, remote, probeKey{}))
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		algos := []string{k.Key.Type()}
		if k.Key.Type() == ssh.KeyAlgoRSA {
			// The key type names SHA-1 signatures, which OpenSSH no
			// longer offers; its key signs with SHA-2 as well.
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
		}
		for _, a := range algos {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// isAuthError reports a refused login; x/crypto has no type for it.
func isAuthError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unable to authenticate")
}
