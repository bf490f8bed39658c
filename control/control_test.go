package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func TestStatusRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	srv, err := NewServer(sock, func() Status { return Status{PID: 7, Mode: "daemon", Stats: engine.Stats{Alerts: 3}} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run = %v before ready", err)
	}
	st, err := NewClient(sock).Status(t.Context())
	if err != nil {
		t.Fatalf("Status = %v", err)
	}
	if st.PID != 7 || st.Alerts != 3 || st.Mode != "daemon" {
		t.Errorf("Status = %+v, want pid 7, 3 alerts, daemon", st)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode = %v, want 0600", perm)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind after shutdown: %v", err)
	}
}

func TestClientNotRunning(t *testing.T) {
	_, err := NewClient(filepath.Join(t.TempDir(), "none.sock")).Status(t.Context())
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Status = %v, want ErrNotRunning", err)
	}
}

func TestCalls(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	srv, err := NewServer(sock, func() Status { return Status{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("double", func(args []byte) (any, error) {
		var n int
		if err := json.Unmarshal(args, &n); err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, fmt.Errorf("item %d: %w", n, ErrNotFound)
		}
		return 2 * n, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	<-srv.Ready()
	c := NewClient(sock)
	var got int
	if err := c.Call(t.Context(), "double", 21, &got); err != nil || got != 42 {
		t.Errorf("Call(double, 21) = %d, %v; want 42", got, err)
	}
	if err := c.Call(t.Context(), "double", -1, &got); !errors.Is(err, ErrNotFound) {
		t.Errorf("Call(double, -1) = %v, want ErrNotFound", err)
	}
	if err := c.Call(t.Context(), "double", "x", &got); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("Call(double, \"x\") = %v, want a server error", err)
	}
	if err := c.Call(t.Context(), "nope", 1, &got); err == nil || !strings.Contains(err.Error(), "unknown call") {
		t.Errorf("Call(nope) = %v, want unknown call", err)
	}
	cancel()
	<-done
}

func TestServerLeavesForeignFilesAlone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	if err := os.WriteFile(sock, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(sock, func() Status { return Status{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Run over a regular file = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(sock); string(b) != "precious" {
		t.Errorf("the file at the socket path was touched: %q", b)
	}
}
