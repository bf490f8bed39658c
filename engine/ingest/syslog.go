package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// SyslogOptions configures a Syslog receiver.
type SyslogOptions struct {
	// Network is "udp" or "tcp".
	Network string
	// Addr is the listen address, e.g. "127.0.0.1:5514" or ":514".
	Addr   string
	Parser NewParser
	// MaxMessage bounds one message (default 64 KiB); longer ones are
	// rejected.
	MaxMessage int
	BatchMax   int
	// MaxConns bounds concurrent TCP connections (default 512); more are
	// closed on accept.
	MaxConns int
	// MaxPeers bounds the UDP senders whose parser state is kept (default
	// 1024); beyond it an arbitrary sender's state is forgotten.
	MaxPeers int
	Logger   *slog.Logger
}

// Syslog receives syslog messages over UDP (one per datagram) or TCP
// (octet-counted or LF-framed, detected per message) and hands each raw
// message, <PRI> included, to a parser per stream.
type Syslog struct {
	o       SyslogOptions
	log     *slog.Logger
	ready   chan struct{}
	addr    net.Addr
	started atomic.Bool
}

// NewSyslog validates o and applies its defaults. It does not listen yet:
// Run does, and closes Ready once Addr is known.
func NewSyslog(o SyslogOptions) (*Syslog, error) {
	if o.Network != "udp" && o.Network != "tcp" {
		return nil, fmt.Errorf("syslog source: network %q: want udp or tcp", o.Network)
	}
	if o.Parser == nil {
		return nil, errors.New("syslog source: no parser")
	}
	o.MaxMessage = orDefault(o.MaxMessage, DefaultMaxMessage)
	o.BatchMax = orDefault(o.BatchMax, DefaultBatchMax)
	o.MaxConns = orDefault(o.MaxConns, 512)
	o.MaxPeers = orDefault(o.MaxPeers, 1024)
	return &Syslog{
		o:     o,
		log:   orDiscard(o.Logger).With("component", "ingest", "source", "syslog-"+o.Network),
		ready: make(chan struct{}),
	}, nil
}

// Name returns "syslog-udp:ADDR" or "syslog-tcp:ADDR" with the configured
// address.
func (s *Syslog) Name() string { return "syslog-" + s.o.Network + ":" + s.o.Addr }

// Ready is closed once Run is listening.
func (s *Syslog) Ready() <-chan struct{} { return s.ready }

// Addr is the bound address; it is valid after Ready is closed.
func (s *Syslog) Addr() net.Addr {
	select {
	case <-s.ready:
		return s.addr
	default:
		return nil
	}
}

// msg is one received message after parsing.
type msg struct {
	ev      engine.Event
	isEvent bool
	rej     engine.Reject
	isRej   bool
	arrived time.Time
}

// Run listens and receives until ctx ends, then closes the listener and
// every connection and returns nil once all of them are done. It may be
// called once.
func (s *Syslog) Run(ctx context.Context, out chan<- engine.Batch) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("syslog source: Run called twice")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan msg, 256)
	var lc net.ListenConfig
	switch s.o.Network {
	case "udp":
		pc, err := lc.ListenPacket(ctx, "udp", s.o.Addr)
		if err != nil {
			return fmt.Errorf("syslog source: listen udp %s: %w", s.o.Addr, err)
		}
		s.addr = pc.LocalAddr()
		wg.Go(func() {
			<-ctx.Done()
			pc.Close()
		})
		wg.Go(func() { s.serveUDP(ctx, pc, msgs) })
	case "tcp":
		ln, err := lc.Listen(ctx, "tcp", s.o.Addr)
		if err != nil {
			return fmt.Errorf("syslog source: listen tcp %s: %w", s.o.Addr, err)
		}
		s.addr = ln.Addr()
		wg.Go(func() { s.serveTCP(ctx, ln, msgs) })
	}
	s.log.Info("syslog listening", "addr", s.addr.String())
	close(s.ready)
	s.collect(ctx, msgs, out)
	return nil
}

// collect batches whatever messages are waiting, up to BatchMax events.
func (s *Syslog) collect(ctx context.Context, msgs <-chan msg, out chan<- engine.Batch) {
	for {
		var b engine.Batch
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			b.Arrived = m.arrived
			addMsg(&b, m)
		}
	more:
		// Lines that are not events (rejects, noise) count too, or a flood
		// of garbage would grow one batch without bound.
		for len(b.Events) < s.o.BatchMax && b.Lines < 8*s.o.BatchMax {
			select {
			case m := <-msgs:
				addMsg(&b, m)
			default:
				break more
			}
		}
		if send(ctx, out, b) != nil {
			return
		}
	}
}

func addMsg(b *engine.Batch, m msg) {
	b.Lines++
	if m.isEvent {
		b.Events = append(b.Events, m.ev)
	}
	if m.isRej {
		b.Rejects = append(b.Rejects, m.rej)
	}
}

// stream is the parser state of one TCP connection or UDP sender.
type stream struct {
	origin string
	p      LineParser
	n      int64
}

// handle parses one message (or records a frame reject) and queues it.
func (st *stream) handle(ctx context.Context, msgs chan<- msg, raw []byte, reject string) bool {
	st.n++
	m := msg{arrived: time.Now()}
	line := string(raw)
	switch {
	case reject != "":
		m.rej, m.isRej = engine.Reject{Origin: st.origin, Line: st.n, Reason: reject, Raw: cutRaw(line)}, true
	default:
		ev, ok, err := st.p.Parse(line, st.n)
		switch {
		case err != nil:
			m.rej, m.isRej = engine.Reject{Origin: st.origin, Line: st.n, Reason: err.Error(), Raw: cutRaw(line)}, true
		case ok:
			if ev.Origin == "" {
				ev.Origin = st.origin
			}
			if ev.Line == 0 {
				ev.Line = st.n
			}
			if ev.Raw == "" {
				ev.Raw = line
			}
			m.ev, m.isEvent = ev, true
		}
	}
	select {
	case msgs <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Syslog) serveUDP(ctx context.Context, pc net.PacketConn, msgs chan<- msg) {
	buf := make([]byte, s.o.MaxMessage+1)
	peers := make(map[string]*stream)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("syslog udp read", "err", err)
			continue
		}
		key := from.String()
		st := peers[key]
		if st == nil {
			if len(peers) >= s.o.MaxPeers {
				for k := range peers {
					delete(peers, k)
					break
				}
			}
			origin := "syslog-udp:" + key
			p, err := s.o.Parser(origin)
			if err != nil {
				s.log.Error("syslog udp: new parser", "origin", origin, "err", err)
				p = failParser{err}
			}
			st = &stream{origin: origin, p: p}
			peers[key] = st
		}
		data := bytes.TrimRight(buf[:n], "\r\n\x00")
		var reject string
		switch {
		case n > s.o.MaxMessage:
			reject = fmt.Sprintf("datagram longer than %d bytes", s.o.MaxMessage)
		case len(data) == 0:
			continue
		}
		if !st.handle(ctx, msgs, data, reject) {
			return
		}
	}
}

// failParser rejects every line with the error that prevented making the
// real parser, so the input is dead-lettered rather than lost.
type failParser struct{ err error }

func (f failParser) Parse(string, int64) (engine.Event, bool, error) {
	return engine.Event{}, false, fmt.Errorf("no parser: %w", f.err)
}

// serveTCP accepts connections until ctx ends, then closes the listener and
// all connections and waits for their goroutines.
func (s *Syslog) serveTCP(ctx context.Context, ln net.Listener, msgs chan<- msg) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  = make(map[net.Conn]struct{})
		closed bool
	)
	defer wg.Wait()
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait, as net/http does.
			s.log.Warn("syslog tcp accept", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		mu.Lock()
		switch {
		case closed:
			c.Close()
			mu.Unlock()
			return
		case len(conns) >= s.o.MaxConns:
			mu.Unlock()
			s.log.Warn("syslog tcp: too many connections, closing", "remote", c.RemoteAddr().String(), "max_conns", s.o.MaxConns)
			c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			s.serveConn(ctx, c, msgs)
		})
	}
}

func (s *Syslog) serveConn(ctx context.Context, c net.Conn, msgs chan<- msg) {
	remote := c.RemoteAddr().String()
	st := &stream{origin: "syslog-tcp:" + remote}
	p, err := s.o.Parser(st.origin)
	if err != nil {
		s.log.Error("syslog tcp: new parser", "remote", remote, "err", err)
		p = failParser{err}
	}
	st.p = p
	log := s.log.With("remote", remote)
	log.Debug("syslog connection opened")
	fr := newFrameReader(c, s.o.MaxMessage)
	for {
		raw, reject, err := fr.next()
		if err != nil {
			fe, lost := errors.AsType[*framingError](err)
			switch {
			case ctx.Err() != nil:
			case lost:
				log.Warn("closing syslog connection", "reason", fe.reason)
				st.handle(ctx, msgs, nil, fe.Error())
			case errors.Is(err, io.EOF):
				log.Debug("syslog connection closed by peer")
			default:
				log.Info("syslog connection read failed", "err", err)
			}
			return
		}
		if !st.handle(ctx, msgs, raw, reject) {
			return
		}
	}
}
