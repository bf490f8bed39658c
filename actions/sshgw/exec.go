package sshgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/phantomsoc/phantomsoc/actions"
)

// The only command lines ever sent, all constants: whatever varies (the
// script) travels on stdin, rendered from validated values, so nothing a
// user or an event supplied can reach the gateway's shell.
const (
	cmdApply   = "nft -f -"
	cmdList    = "nft -j list table " + actions.TableFamily + " " + actions.TableName
	cmdTables  = "nft -j list tables " + actions.TableFamily
	cmdVersion = "nft --version"
	// cmdWhere reads where sshd sees the session come from. It never
	// runs under sudo: sudo resets the environment.
	cmdWhere   = `echo "$SSH_CONNECTION"`
	sudoPrefix = "sudo -n "
)

// Output limits: a table listing with 100,000 elements is about 20 MB of
// JSON; anything far beyond is not nft talking.
const (
	maxListOutput = 256 << 20
	maxStderr     = 8 << 10
)

// command is c, run through sudo when the config asks; -n makes a sudo that
// wants a password fail at once instead of waiting for one.
func (g *Gateway) command(c string) string {
	if g.cfg.Sudo {
		return sudoPrefix + c
	}
	return c
}

// exitError is a command that ran and failed.
type exitError struct {
	cmd    string
	status int
	stderr string
}

func (e *exitError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", e.cmd, e.status)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

// runCmd runs cmd in a new session on client with stdin and returns its
// stdout. A connection that broke under the command gives an error wrapping
// ErrDown; a command that failed, an *exitError.
func runCmd(ctx context.Context, client *ssh.Client, cmd string, stdin io.Reader, maxOut int) ([]byte, error) {
	s, err := client.NewSession()
	if err != nil {
		if _, ok := errors.AsType[*ssh.OpenChannelError](err); ok {
			// The server refused a session (MaxSessions, say) on a
			// connection that is otherwise fine.
			return nil, fmt.Errorf("open session: %w", err)
		}
		return nil, fmt.Errorf("open session: %w: %w", ErrDown, err)
	}
	defer s.Close()
	stdout := &capped{max: maxOut}
	stderr := &capped{max: maxStderr}
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	// Closing the channel ends Run; nft applies a script in one
	// transaction at EOF, so a script cut short changes nothing.
	stop := context.AfterFunc(ctx, func() { s.Close() })
	err = s.Run(cmd)
	if !stop() {
		return nil, fmt.Errorf("%s: %w", cmd, context.Cause(ctx))
	}
	if ee, ok := errors.AsType[*ssh.ExitError](err); ok {
		status := ee.ExitStatus()
		if ee.Signal() != "" {
			status = -1
		}
		return nil, &exitError{cmd: cmd, status: status, stderr: stderr.text()}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", cmd, ErrDown, err)
	}
	if stdout.over {
		return nil, fmt.Errorf("%s: output exceeds %d bytes", cmd, maxOut)
	}
	return stdout.Bytes(), nil
}

// capped is a buffer that keeps the first max bytes and drops the rest, so a
// runaway command cannot exhaust memory yet still runs to its exit status.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); len(p) > room {
		c.over = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

// text is the captured stderr for an error message: nft's diagnostics repeat
// the offending script line (up to 512 elements long) with a caret line under
// it; the first lines, cut short, say enough.
func (c *capped) text() string {
	lines := strings.Split(strings.TrimSpace(c.String()), "\n")
	if len(lines) > 6 {
		lines = append(lines[:6], "…")
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "…"
		}
	}
	return strings.Join(lines, "\n")
}
