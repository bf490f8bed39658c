package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/internal/sshdtest"
)

// loopSSHD is Debian's OpenSSH server on a loopback port with its own host
// key and one authorized client key, for a test that logs in as root.
type loopSSHD struct {
	port       int
	clientKey  string
	knownHosts string
	cmd        *exec.Cmd
	mu         sync.Mutex
	log        bytes.Buffer
}

func startLoopSSHD(t *testing.T) *loopSSHD {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sshd runs the session as root over loopback")
	}
	for _, bin := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "tmux"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install openssh-server openssh-client tmux): %v", bin, err)
		}
	}
	dir := t.TempDir()
	s := &loopSSHD{clientKey: filepath.Join(dir, "client"), knownHosts: filepath.Join(dir, "known_hosts")}
	hostKey := filepath.Join(dir, "host")
	for _, k := range []string{hostKey, s.clientKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	pub := func(k string) string {
		b, err := os.ReadFile(k + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write := func(name, data string) {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "authorized_keys"), pub(s.clientKey))
	write(s.knownHosts, fmt.Sprintf("[127.0.0.1]:%d %s", s.port, pub(hostKey)))
	config := filepath.Join(dir, "sshd_config")
	write(config, sshdtest.Config(fmt.Sprintf("127.0.0.1:%d", s.port), hostKey, dir, "AcceptEnv NO_COLOR"))
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", config)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		var once sync.Once
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Server listening on") {
				once.Do(func() { close(ready) })
			}
		}
		_ = s.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-done
		if t.Failed() {
			s.mu.Lock()
			t.Logf("sshd log:\n%s", s.log.String())
			s.mu.Unlock()
		}
	})
	select {
	case <-ready:
	case <-done:
		t.Fatalf("sshd exited: %s", s.log.String())
	case <-time.After(10 * time.Second):
		t.Fatal("sshd not listening after 10s")
	}
	return s
}

// sshCommand is the ssh -t command line that runs remote as root.
func (s *loopSSHD) sshCommand(env, remote string) string {
	opts := fmt.Sprintf("-t -p %d -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR", s.port, s.clientKey, s.knownHosts)
	if env != "" {
		opts += " -o SendEnv=" + strings.SplitN(env, "=", 2)[0]
		return fmt.Sprintf("env %s ssh %s root@127.0.0.1 %s", env, opts, remote)
	}
	return fmt.Sprintf("ssh %s root@127.0.0.1 %s", opts, remote)
}

// processesOn lists the pids whose command line mentions s.
func processesOn(s string) []int {
	out, _ := exec.Command("pgrep", "-f", "--", regexp.QuoteMeta(s)).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// colourSGR matches an SGR sequence that sets a foreground or background
// colour (bold, reverse and the like are not colour).
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9]+)*m`)

// TestConsoleOverSSH runs the console as an SSH session's command, through
// Debian's sshd and `ssh -t` in an 80×24 tmux pane: it renders, follows a
// resize, approves a pending block with one key, and the audit record
// names the SSH login and its client address. A NO_COLOR session draws
// without colour. Every process it started is gone at the end.
func TestConsoleOverSSH(t *testing.T) {
	sshd := startLoopSSHD(t)
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, env string
	}{
		{"colour", ""},
		{"NO_COLOR", "NO_COLOR=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "ssh.db")
			t.Cleanup(func() {
				// Killing the pane ends ssh, sshd then ends the session:
				// nothing of it may outlive the test.
				deadline := time.Now().Add(10 * time.Second)
				for len(processesOn(db)) > 0 && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
				if left := processesOn(db); len(left) > 0 {
					for _, pid := range left {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
					t.Errorf("processes %v outlived the session", left)
				}
			})
			tm := newTerm(t, sshd.sshCommand(tc.env, fmt.Sprintf("%s --db %s console --demo", bin, db)))
			s := tm.waitFor("● live", 30*time.Second)
			if !strings.Contains(s, "as console:root@127.0.0.1") {
				t.Errorf("status line does not name the SSH login:\n%s", s)
			}
			if strings.HasPrefix(s, "phantomsoc ") {
				t.Errorf("at 80 columns the tab bar has no room for the title:\n%s", s)
			}

			// A wider terminal: the console redraws to it (the title
			// fits), and back.
			resize := func(w, h int) {
				if out, err := exec.Command("tmux", "resize-window", "-t", tm.name, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h)).CombinedOutput(); err != nil {
					t.Fatalf("tmux resize-window: %v: %s", err, out)
				}
			}
			resize(132, 40)
			tm.waitFor("phantomsoc [1 Overview]", 10*time.Second)
			resize(80, 24)
			deadline := time.Now().Add(10 * time.Second)
			for strings.HasPrefix(tm.screen(), "phantomsoc ") && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if s := tm.screen(); strings.HasPrefix(s, "phantomsoc ") || len(strings.Split(strings.TrimRight(s, "\n"), "\n")) > 24 {
				t.Fatalf("back at 80×24 the console did not redraw:\n%s", s)
			}

			tm.keys("4")
			tm.waitFor("ssh-distribut", 30*time.Second)
			colours := colourSGR.FindAllString(tm.screenEscapes(), -1)
			// The colour profile can settle a frame late (the terminal's
			// answers to the program's queries cross the SSH link): look
			// again, as the live feed redraws, before calling the colour
			// session colourless.
			for deadline := time.Now().Add(10 * time.Second); tc.env == "" && len(colours) == 0 && time.Now().Before(deadline); {
				time.Sleep(200 * time.Millisecond)
				colours = colourSGR.FindAllString(tm.screenEscapes(), -1)
			}
			if tc.env != "" && len(colours) > 0 {
				t.Errorf("NO_COLOR session drew colours %q:\n%s", colours, tm.screen())
			}
			if tc.env == "" && len(colours) == 0 {
				t.Error("the colour session drew no colour: the NO_COLOR check proves nothing")
			}
			tm.keys("a")
			tm.waitFor("approved", 15*time.Second)
			tm.keys("q")
			deadline = time.Now().Add(15 * time.Second)
			for tm.alive() && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if tm.alive() {
				t.Fatalf("the SSH session did not end on q:\n%s", tm.screen())
			}

			out, err := exec.Command(bin, "--db", db, "audit", "list", "-o", "json").Output()
			if err != nil {
				t.Fatal(err)
			}
			var approved []string
			for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
				var rec struct{ Action, Actor string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("audit list line %q: %v", line, err)
				}
				if rec.Action == "decision.approved" {
					approved = append(approved, rec.Actor)
				}
			}
			if len(approved) != 1 || approved[0] != "console:root@127.0.0.1" {
				t.Errorf("approvals by %q, want one by console:root@127.0.0.1 (the SSH login and client)\n%s", approved, out)
			}
		})
	}
}
