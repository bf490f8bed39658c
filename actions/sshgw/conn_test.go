package sshgw

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

func TestReconnect(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()
	if err := g.Rebuild(ctx, nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}

	s.Kill()
	waitUp(t, g, false, 10*time.Second)
	if err := g.LastError(); err == nil || !strings.Contains(err.Error(), "gateway edge1") {
		t.Errorf("LastError() = %v, want why edge1 went down", err)
	}
	add := actions.Batch{Add: []actions.Element{blockElem(nstest.Attacker2, time.Minute)}}
	if err := g.Apply(ctx, add); !errors.Is(err, ErrDown) {
		t.Errorf("Apply while down = %v, want ErrDown", err)
	}
	if _, err := g.List(ctx); !errors.Is(err, ErrDown) {
		t.Errorf("List while down = %v, want ErrDown", err)
	}
	if err := g.Rebuild(ctx, nil); !errors.Is(err, ErrDown) {
		t.Errorf("Rebuild while down = %v, want ErrDown", err)
	}

	s.Start()
	// The backoff has grown to a few seconds at most.
	waitUp(t, g, true, 35*time.Second)
	if err := g.Apply(ctx, add); err != nil {
		t.Fatalf("Apply after reconnect: %v", err)
	}
	st, err := g.List(ctx)
	if err != nil {
		t.Fatalf("List after reconnect: %v", err)
	}
	sameElements(t, st.Elements, add.Add)
}

// TestKeepaliveDetectsDeadPath drops the gateway's SSH traffic without a
// reset, as a dead link would: TCP notices nothing, the unanswered
// keepalive does.
func TestKeepaliveDetectsDeadPath(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	cfg := testConfig(tp, s)
	cfg.Keepalive = time.Second
	g := runGateway(t, cfg)
	// A table of the test's own, so phantomsoc's stays out of it.
	nftIn(t, tp, "add", "table", "inet", "deadpath")
	nftIn(t, tp, "add", "chain", "inet", "deadpath", "in", "{ type filter hook input priority -200; }")
	nftIn(t, tp, "add", "rule", "inet", "deadpath", "in", "tcp", "dport", "22", "drop")
	waitUp(t, g, false, 10*time.Second)
	if err := g.LastError(); err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Errorf("LastError() = %v, want the unanswered keepalive", err)
	}
	nftIn(t, tp, "delete", "table", "inet", "deadpath")
	waitUp(t, g, true, 35*time.Second)
	if _, err := g.List(t.Context()); err != nil {
		t.Errorf("List after the path came back: %v", err)
	}
}

// TestAgentAuth logs in with a key held by an ssh-agent at SSH_AUTH_SOCK.
func TestAgentAuth(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	pemBytes, err := os.ReadFile(s.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	cfg := testConfig(tp, s)
	cfg.KeyFile = ""
	g := runGateway(t, cfg)
	if _, err := g.List(t.Context()); err != nil {
		t.Errorf("List over an agent-authenticated connection: %v", err)
	}
}

func TestClose(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if g.Up() {
		t.Error("Up() after Close = true")
	}
	if _, err := g.List(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}
	if err := g.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}
