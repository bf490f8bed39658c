package sshgw

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/phantomsoc/phantomsoc/internal/nstest"
	"github.com/phantomsoc/phantomsoc/internal/sshdtest"
)

const sshdPath = "/usr/sbin/sshd"

// sshd is Debian's real OpenSSH server running in a test's gateway
// namespace, with its own host key and one authorized client key.
type sshd struct {
	t      testing.TB
	tp     *nstest.Topology
	dir    string
	config string
	// Addr is where it listens, host:port.
	Addr string
	// ClientKey is the private key in authorized_keys; KnownHosts holds
	// the host key under Addr.
	ClientKey, KnownHosts string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs bytes.Buffer
}

// newTopology builds the namespaces, skipping unless root with ip, nft and
// OpenSSH at hand.
func newTopology(t testing.TB) *nstest.Topology {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and run sshd")
	}
	for _, bin := range []string{sshdPath, "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install openssh-server): %v", bin, err)
		}
	}
	return nstest.New(t)
}

// startSSHD configures and starts sshd in tp's gateway namespace on
// nstest.GatewayOut:22 and stops it, with every session it forked, when the
// test ends.
func startSSHD(t testing.TB, tp *nstest.Topology) *sshd {
	t.Helper()
	dir := t.TempDir()
	s := &sshd{t: t, tp: tp, dir: dir, Addr: net.JoinHostPort(nstest.GatewayOut, "22")}
	hostKey := filepath.Join(dir, "host_ed25519")
	s.ClientKey = filepath.Join(dir, "client_ed25519")
	for _, k := range []string{hostKey, s.ClientKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "phantomsoc-test", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v: %s", k, err, out)
		}
	}
	s.HostKey = readPublicKey(t, hostKey+".pub")
	clientPub, err := os.ReadFile(s.ClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "authorized_keys"), string(clientPub))
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	writeFile(t, s.KnownHosts, knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)+"\n")
	s.config = filepath.Join(dir, "sshd_config")
	writeFile(t, s.config, sshdtest.Config(s.Addr, hostKey, dir, "LogLevel VERBOSE"))
	// sshd insists on its privilege separation directory, which Debian
	// creates only when the service starts.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			s.mu.Lock()
			t.Logf("sshd log:\n%s", s.logs.String())
			s.mu.Unlock()
		}
	})
	return s
}

// Start runs sshd and returns once it listens.
func (s *sshd) Start() {
	s.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", s.tp.Gateway, sshdPath, "-D", "-e", "-f", s.config)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start sshd: %v", err)
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Server listening on") {
				once.Do(func() { close(ready) })
			}
		}
		cmd.Wait()
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	select {
	case <-ready:
	case <-done:
		s.t.Fatalf("sshd exited: %s", s.logs.String())
	case <-time.After(10 * time.Second):
		s.t.Fatalf("sshd not listening after 10s: %s", s.logs.String())
	}
}

// Kill stops sshd and every process it forked: killing the listener alone
// leaves established sessions running, and the client connected.
func (s *sshd) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	// Collect the tree first: once the listener dies its children are
	// re-parented and no longer found through it.
	pids := append([]int{cmd.Process.Pid}, descendants(cmd.Process.Pid)...)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-done
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses; the
		// fields after its closing parenthesis are "state ppid …".
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		f := strings.Fields(string(rest))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out
}

// dialFrom dials from namespace ns, bound to local: the socket lives in ns
// for its whole life although the test process does not.
func dialFrom(ns, local string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := nstest.Do(ns, func() error {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

func readPublicKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return k
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// nftIn runs nft in the gateway namespace, as an operator on the box would.
func nftIn(t testing.TB, tp *nstest.Topology, args ...string) string {
	t.Helper()
	out, err := tp.Exec(tp.Gateway, "nft", args...)
	if err != nil {
		t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
