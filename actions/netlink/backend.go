// Package netlink is the local backend: it keeps phantomsoc's nftables table
// over netlink (github.com/google/nftables) in the current network namespace
// or a named one. It builds the same table as the text renderer
// (actions.RenderTable), rule for rule and expression for expression, so the
// two backends are interchangeable and `nft list` reads either the same way.
package netlink

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"

	"github.com/google/nftables"
	mnl "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/phantomsoc/phantomsoc/actions"
)

// Backend is one network namespace's phantomsoc table, kept over one lasting
// netlink socket. Like every actions.Backend it serves one goroutine at a
// time.
type Backend struct {
	layout  actions.Layout
	ns      *os.File
	conn    *nftables.Conn
	sock    *mnl.Conn // conn's socket, for its buffer sizes
	table   *nftables.Table
	sets    map[string]actions.SetSpec
	version string
}

var _ actions.Backend = (*Backend)(nil)

// New opens a backend on the network namespace at nsPath ("" = the current
// one). It validates a copy of layout, so the caller's value is not changed.
func New(layout *actions.Layout, nsPath string) (*Backend, error) {
	if layout == nil {
		return nil, errors.New("netlink: no layout")
	}
	l := copyLayout(layout)
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("netlink: layout: %w", err)
	}
	ns, err := openNS(nsPath)
	if err != nil {
		return nil, err
	}
	// The fd stays open for the backend's life: the lasting socket is
	// bound to the namespace at dial time, and holding the fd also keeps
	// an unnamed namespace alive.
	var sock *mnl.Conn
	keep := func(c *mnl.Conn) error { sock = c; return nil }
	conn, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())), nftables.AsLasting(),
		nftables.WithSockOptions(keep, widenDumps, readBuffer))
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netlink: open nftables socket in %s: %w", ns.Name(), err)
	}
	b := &Backend{
		layout:  l,
		ns:      ns,
		conn:    conn,
		sock:    sock,
		table:   &nftables.Table{Family: nftables.TableFamilyINet, Name: actions.TableName},
		sets:    map[string]actions.SetSpec{},
		version: kernelVersion(),
	}
	for _, s := range append(actions.ActionSets(), actions.ConfigSets()...) {
		b.sets[s.Name] = s
	}
	return b, nil
}

// Close releases the netlink socket and the namespace fd.
func (b *Backend) Close() error {
	err := b.conn.CloseLasting()
	if cerr := b.ns.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("netlink: close: %w", err)
	}
	return nil
}

// openNS opens the namespace at path; "" is the namespace of the calling
// thread, which is what "current" means to a thread-switching runtime.
func openNS(path string) (*os.File, error) {
	if path == "" {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		path = "/proc/thread-self/ns/net"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("netlink: open network namespace: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, fmt.Errorf("netlink: %s is not a network namespace", path)
	}
	return f, nil
}

// widenDumps makes the kernel fill each dump message up to 32 KiB instead of
// a page. The kernel sizes dump messages by the largest buffer the socket
// ever passed to recvmsg (capped at 32 KiB), and the netlink library reads
// with a page-sized buffer first. Dumping an rbtree set restarts its walk at
// the first element for every message, so with pages List of 100,000
// elements is several times slower. One read of a small reply (the ruleset
// generation) with a 32 KiB buffer raises the size for the socket's life.
func widenDumps(c *mnl.Conn) error {
	req := mnl.Message{
		Header: mnl.Header{Type: mnl.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN), Flags: mnl.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	}
	if _, err := c.Send(req); err != nil {
		return fmt.Errorf("netlink: ask for the ruleset generation: %w", err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("netlink: socket: %w", err)
	}
	buf := make([]byte, 32<<10)
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		_, _, _, _, rerr = unix.Recvmsg(int(fd), buf, nil, 0)
		return rerr != unix.EAGAIN
	})
	if err = errors.Join(err, rerr); err != nil {
		return fmt.Errorf("netlink: read the ruleset generation: %w", err)
	}
	return nil
}

// Socket buffer sizes. With its own socket options the library leaves the
// buffers to us (it would otherwise size them per batch itself).
const (
	// maxElemBytes bounds one encoded kernel element: two 32-byte keys,
	// timeout, flags, userdata and their attribute headers.
	maxElemBytes = 128
	// batchOverhead covers the table, sets, chains and rules of a Rebuild.
	batchOverhead = 1 << 20
	// readBufferBytes holds the kernel's replies to a batch: nft's size.
	readBufferBytes = 8 << 20
)

func readBuffer(c *mnl.Conn) error {
	if err := c.SetReadBuffer(readBufferBytes); err != nil {
		return fmt.Errorf("netlink: set read buffer: %w", err)
	}
	return nil
}

// growWriteBuffer makes room for a batch of n kernel elements: a batch goes
// to the kernel in one sendmsg, which fails with EMSGSIZE beyond the send
// buffer.
func (b *Backend) growWriteBuffer(n int) error {
	want := n*maxElemBytes + batchOverhead
	have, err := b.sock.WriteBuffer()
	if err != nil {
		return fmt.Errorf("netlink: read write buffer size: %w", err)
	}
	if have >= want {
		return nil
	}
	if err := b.sock.SetWriteBuffer(want); err != nil {
		return fmt.Errorf("netlink: grow write buffer to %d bytes: %w", want, err)
	}
	return nil
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "netlink"
	}
	return "netlink (kernel " + unix.ByteSliceToString(u.Release[:]) + ")"
}

func copyLayout(l *actions.Layout) actions.Layout {
	c := *l
	c.Mgmt = append([]netip.Prefix(nil), l.Mgmt...)
	c.QuarantineAllow = append([]actions.Service(nil), l.QuarantineAllow...)
	return c
}

// ctxErr reports a cancelled context before any netlink work: a batch once
// sent cannot be cancelled, so the check happens before, never during.
func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netlink: %s: %w", what, err)
	}
	return nil
}
