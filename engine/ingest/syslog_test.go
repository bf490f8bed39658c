package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

const (
	msg3164 = "<38>Jan  5 10:00:01 gw1 sshd[4242]: Failed password for root from 198.51.100.7 port 52211 ssh2"
	msg5424 = "<38>1 2024-01-05T10:00:02.003Z gw1 sshd 4242 - - Failed password for invalid user admin from 2001:db8::7 port 40022 ssh2"
)

func startSyslog(t *testing.T, o SyslogOptions) (*Syslog, *running) {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	if o.Parser == nil {
		o.Parser = newFake
	}
	s, err := NewSyslog(o)
	if err != nil {
		t.Fatalf("NewSyslog = %v", err)
	}
	r := start(t, s)
	select {
	case <-s.Ready():
	case err := <-r.errc:
		r.stopped = true
		t.Fatalf("Run = %v before ready", err)
	case <-time.After(waitLimit):
		t.Fatal("syslog never became ready")
	}
	return s, r
}

func dial(t *testing.T, s *Syslog) net.Conn {
	t.Helper()
	c, err := net.Dial(s.o.Network, s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

func octet(m string) string { return fmt.Sprintf("%d %s", len(m), m) }

// readClosed reports an error unless the server closed c: EOF, or a reset
// when it closed with input unread.
func readClosed(c net.Conn) error {
	n, err := c.Read(make([]byte, 1))
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return fmt.Errorf("client read = %d, %v; want the connection closed", n, err)
}

func totalLines(bs []engine.Batch) int {
	n := 0
	for _, b := range bs {
		n += b.Lines
	}
	return n
}

func reasons(bs []engine.Batch) []string {
	var rs []string
	for _, r := range rejects(bs) {
		rs = append(rs, r.Reason)
	}
	return rs
}

func TestSyslogUDP(t *testing.T) {
	s, r := startSyslog(t, SyslogOptions{Network: "udp", MaxMessage: 256})
	c := dial(t, s)
	for _, m := range []string{msg3164, msg5424 + "\n", "<38>" + strings.Repeat("z", 300), "<38>Jan  5 10:00:05 gw1 sshd[1]: bad 198.51.100.9"} {
		write(t, c, m)
	}
	r.waitFor("4 datagrams", func(bs []engine.Batch) bool { return totalLines(bs) >= 4 })
	if got, want := raws(r.batches), []string{msg3164, msg5424}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if got, want := reasons(r.batches), []string{"datagram longer than 256 bytes", "bad line"}; !slices.Equal(got, want) {
		t.Errorf("rejects = %q, want %q", got, want)
	}
	origin := "syslog-udp:" + c.LocalAddr().String()
	for i, ev := range events(r.batches) {
		if ev.Origin != origin || ev.Line != int64(i+1) {
			t.Errorf("event %d from %s line %d, want %s line %d", i, ev.Origin, ev.Line, origin, i+1)
		}
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v after cancel", err)
	}
}

func TestSyslogTCPFraming(t *testing.T) {
	s, r := startSyslog(t, SyslogOptions{Network: "tcp", MaxMessage: 256})
	c := dial(t, s)
	after := "<38>Jan  5 10:00:03 gw1 sshd[4243]: Invalid user test from 203.0.113.5 port 1022"
	write(t, c, octet(msg5424)+msg3164+"\n"+
		"12x garbage frame\n"+
		octet("<38>"+strings.Repeat("o", 296))+
		"\r\n"+octet(after)+
		"<38>Jan  5 10:00:04 gw1 sshd[4244]: bad 198.51.100.3\r\n"+
		"<38>"+strings.Repeat("n", 400)+"\n"+
		after+"\n")
	r.waitFor("8 frames", func(bs []engine.Batch) bool { return totalLines(bs) >= 8 })
	if got, want := raws(r.batches), []string{msg5424, msg3164, after, after}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	// "12x garbage frame" is a newline-framed line the parser does not
	// know: counted, not an event, not a framing error.
	want := []string{"frame of 300 bytes exceeds 256", "bad line", "frame longer than 256 bytes"}
	if got := reasons(r.batches); !slices.Equal(got, want) {
		t.Errorf("rejects = %q, want %q", got, want)
	}

	// A length no syslog frame has: framing is lost, the server says why
	// and closes the connection.
	bad := dial(t, s)
	write(t, bad, "12345678901 <38>hello\n")
	if err := bad.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if err := readClosed(bad); err != nil {
		t.Errorf("after lost framing: %v", err)
	}
	r.waitFor("framing reject", func(bs []engine.Batch) bool { return len(rejects(bs)) >= 4 })
	if rs := rejects(r.batches); !strings.HasPrefix(rs[3].Reason, "framing lost: ") {
		t.Errorf("reject = %+v, want framing lost", rs[3])
	}

	// The first connection still works.
	write(t, c, octet(msg3164))
	r.waitEvents(5)
}

func TestSyslogTCPConcurrent(t *testing.T) {
	const conns, perConn = 40, 25
	s, r := startSyslog(t, SyslogOptions{Network: "tcp", BatchMax: 64})
	var wg sync.WaitGroup
	for i := range conns {
		c := dial(t, s)
		wg.Go(func() {
			var sb strings.Builder
			for j := range perConn {
				m := fmt.Sprintf("<38>Jan  5 10:00:01 gw%d sshd[%d]: Failed password from 198.51.100.%d port %d", i, j, i, j)
				if j%2 == 0 {
					sb.WriteString(octet(m))
				} else {
					sb.WriteString(m + "\n")
				}
			}
			if _, err := io.WriteString(c, sb.String()); err != nil {
				t.Errorf("conn %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	r.waitEvents(conns * perConn)
	next := map[string]int64{}
	for _, b := range r.batches {
		if len(b.Events) > 64 {
			t.Errorf("batch of %d events, want at most 64", len(b.Events))
		}
	}
	for _, ev := range events(r.batches) {
		next[ev.Origin]++
		if ev.Line != next[ev.Origin] || !strings.Contains(ev.Raw, fmt.Sprintf("sshd[%d]", ev.Line-1)) {
			t.Errorf("%s: event %q numbered %d, want %d", ev.Origin, ev.Raw, ev.Line, next[ev.Origin])
		}
	}
	if len(next) != conns {
		t.Errorf("events from %d origins, want %d", len(next), conns)
	}
}

// TestSyslogShutdown checks that cancelling Run closes the listener and every
// connection and that no goroutine outlives it.
func TestSyslogShutdown(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, r := startSyslog(t, SyslogOptions{Network: network})
			var cs []net.Conn
			for range 5 {
				c := dial(t, s)
				write(t, c, msg3164+"\n")
				cs = append(cs, c)
			}
			r.waitEvents(5)
			if network == "tcp" {
				write(t, cs[0], "120 <38>half a frame") // a reader blocked mid-frame
			}
			if err := r.stop(); err != nil {
				t.Errorf("Run = %v after cancel", err)
			}
			if network == "tcp" {
				for _, c := range cs {
					if err := c.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
						t.Fatal(err)
					}
					if err := readClosed(c); err != nil {
						t.Errorf("after shutdown: %v", err)
					}
				}
			}
			for _, c := range cs {
				c.Close()
			}
			deadline := time.Now().Add(waitLimit)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<16)
					t.Fatalf("%d goroutines after shutdown, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				}
				runtime.Gosched()
			}
		})
	}
}

func TestNewSyslogInvalid(t *testing.T) {
	for _, o := range []SyslogOptions{{Network: "sctp", Parser: newFake}, {Network: "udp"}} {
		if _, err := NewSyslog(o); err == nil {
			t.Errorf("NewSyslog(%+v) = nil error", o)
		}
	}
}

func TestSyslogBatchesStayBoundedUnderGarbage(t *testing.T) {
	s := &Syslog{o: SyslogOptions{BatchMax: 16}}
	msgs := make(chan msg, 5000)
	for range 5000 {
		msgs <- msg{rej: engine.Reject{Reason: "bad frame", Raw: "{garbage"}, isRej: true}
	}
	out := make(chan engine.Batch, 1000)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.collect(ctx, msgs, out); close(done) }()
	seen := 0
	for seen < 5000 {
		b := <-out
		if n := b.Lines; n > 8*16 {
			t.Fatalf("a batch holds %d lines, want at most %d", n, 8*16)
		}
		seen += b.Lines
	}
	cancel()
	<-done
}
