// Package nstest builds throw-away network topologies out of network
// namespaces for enforcement tests: real kernels, real packets, documentation
// addresses only, every namespace removed when the test ends.
//
//	attacker ──veth── gateway ──veth── internal
//	192.0.2.10/24     192.0.2.1/24     198.51.100.10/24
//	192.0.2.11/24     198.51.100.1/24
//	192.0.2.99/24 (management host)
//	2001:db8:1::10/64 2001:db8:1::1/64, 2001:db8:2::1/64  2001:db8:2::10/64
//
// The gateway forwards between its two sides. Tests run phantomsoc's
// enforcement against the gateway namespace and probe it from the others.
package nstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses of the topology.
const (
	Attacker   = "192.0.2.10"
	Attacker2  = "192.0.2.11"
	Mgmt       = "192.0.2.99"
	GatewayOut = "192.0.2.1"
	GatewayIn  = "198.51.100.1"
	Internal   = "198.51.100.10"

	Attacker6   = "2001:db8:1::10"
	GatewayOut6 = "2001:db8:1::1"
	GatewayIn6  = "2001:db8:2::1"
	Internal6   = "2001:db8:2::10"
)

// Topology is the three namespaces of one test.
type Topology struct {
	// Attacker, Gateway and Internal are namespace names (ip netns).
	Attacker, Gateway, Internal string
	// GatewayIface is the gateway's interface towards the attacker.
	GatewayIface string
}

// Require skips t unless it can create network namespaces: it needs root
// (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip and nft commands.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (.ci/run runs as root)")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install iproute2 nftables): %v", bin, err)
		}
	}
}

// New builds the topology and removes it when t ends.
func New(t testing.TB) *Topology {
	t.Helper()
	Require(t)
	var r [3]byte
	_, _ = rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	tp := &Topology{Attacker: "ps" + id + "a", Gateway: "ps" + id + "g", Internal: "ps" + id + "i", GatewayIface: "gwout"}
	t.Cleanup(func() {
		for _, ns := range []string{tp.Attacker, tp.Gateway, tp.Internal} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, ns := range []string{tp.Attacker, tp.Gateway, tp.Internal} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		// Without duplicate address detection the link-local addresses
		// are usable at once, so IPv6 neighbour discovery needs no wait.
		if out, err := tp.Exec(ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"); err != nil {
			t.Fatalf("sysctl accept_dad in %s: %v: %s", ns, err, out)
		}
	}
	steps := [][]string{
		{"link", "add", "atk" + id, "netns", tp.Attacker, "type", "veth", "peer", "name", "gwo" + id, "netns", tp.Gateway},
		{"link", "add", "int" + id, "netns", tp.Internal, "type", "veth", "peer", "name", "gwi" + id, "netns", tp.Gateway},
		{"-n", tp.Attacker, "link", "set", "atk" + id, "name", "eth0"},
		{"-n", tp.Internal, "link", "set", "int" + id, "name", "eth0"},
		{"-n", tp.Gateway, "link", "set", "gwo" + id, "name", "gwout"},
		{"-n", tp.Gateway, "link", "set", "gwi" + id, "name", "gwin"},
	}
	addrs := map[string][][2]string{
		tp.Attacker: {{"eth0", Attacker + "/24"}, {"eth0", Attacker2 + "/24"}, {"eth0", Mgmt + "/24"}, {"eth0", Attacker6 + "/64"}},
		tp.Gateway:  {{"gwout", GatewayOut + "/24"}, {"gwout", GatewayOut6 + "/64"}, {"gwin", GatewayIn + "/24"}, {"gwin", GatewayIn6 + "/64"}},
		tp.Internal: {{"eth0", Internal + "/24"}, {"eth0", Internal6 + "/64"}},
	}
	for _, ns := range []string{tp.Attacker, tp.Gateway, tp.Internal} {
		for _, a := range addrs[ns] {
			steps = append(steps, []string{"-n", ns, "addr", "add", a[1], "dev", a[0], "nodad"})
		}
		steps = append(steps, []string{"-n", ns, "link", "set", "lo", "up"})
	}
	steps = append(steps,
		[]string{"-n", tp.Attacker, "link", "set", "eth0", "up"},
		[]string{"-n", tp.Internal, "link", "set", "eth0", "up"},
		[]string{"-n", tp.Gateway, "link", "set", "gwout", "up"},
		[]string{"-n", tp.Gateway, "link", "set", "gwin", "up"},
		[]string{"-n", tp.Attacker, "route", "add", "198.51.100.0/24", "via", GatewayOut},
		[]string{"-n", tp.Attacker, "-6", "route", "add", "2001:db8:2::/64", "via", GatewayOut6},
		[]string{"-n", tp.Internal, "route", "add", "default", "via", GatewayIn},
		[]string{"-n", tp.Internal, "-6", "route", "add", "default", "via", GatewayIn6},
	)
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	for _, k := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"} {
		if out, err := tp.Exec(tp.Gateway, "sysctl", "-qw", k); err != nil {
			t.Fatalf("sysctl %s: %v: %s", k, err, out)
		}
	}
	// The first IPv6 packet of a fresh link waits for neighbour discovery
	// (about a second): knock on a closed port once, both hops, so a
	// test's first probe measures the firewall, not the neighbour table.
	for _, hop := range [][2]string{{tp.Attacker, GatewayOut6}, {tp.Attacker, Internal6}, {tp.Internal, GatewayIn6}} {
		_ = Connect(hop[0], "", net.JoinHostPort(hop[1], "9"), 3*time.Second)
	}
	return tp
}

// Exec runs a command inside namespace ns and returns its combined output.
func (tp *Topology) Exec(ns string, name string, args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...).CombinedOutput()
}

// Path is the namespace's file, for setns or nftables.WithNetNSFd.
func Path(ns string) string { return "/var/run/netns/" + ns }

// Do runs fn on an OS thread switched into namespace ns. Sockets created in
// fn belong to ns for their whole life, even after the thread switches back.
func Do(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: if switching back failed it
		// would carry the wrong namespace, so Go retires it with this
		// goroutine.
		runtime.LockOSThread()
		target, err := os.Open(Path(ns))
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Listen opens a TCP listener in ns on addr (host:port) that accepts and
// closes connections until the test ends.
func Listen(t testing.TB, ns, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s on %s: %v", ns, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// Connect tries a TCP connection from ns, bound to local (an address of ns,
// "" for any), to addr within timeout. It returns nil when the handshake
// completed.
func Connect(ns, local, addr string, timeout time.Duration) error {
	var conn net.Conn
	err := Do(ns, func() error {
		d := net.Dialer{Timeout: timeout}
		if local != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var err error
		conn, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return err
	}
	return conn.Close()
}

// ErrReachable is returned by Blocked when a connection went through.
var ErrReachable = errors.New("connection succeeded")

// Blocked returns nil when a connection from ns (bound to local) to addr does
// not complete within a short timeout, ErrReachable when it does.
func Blocked(ns, local, addr string) error {
	if err := Connect(ns, local, addr, 400*time.Millisecond); err == nil {
		return ErrReachable
	}
	return nil
}
