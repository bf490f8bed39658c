package evidence

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Runner runs one evidence command and returns its standard output. argv
// has passed CheckArgv; an implementation checks it again before it runs
// anything. Output past maxOut bytes is an error. *sshgw.Gateway
// implements it for an SSH gateway; Local for this host.
type Runner interface {
	Capture(ctx context.Context, argv []string, maxOut int) ([]byte, error)
}

// Local runs evidence commands on this host, or inside the named network
// namespace (`ip netns exec NETNS …`) when Netns is set.
type Local struct {
	Netns string
}

// maxStderr bounds the diagnostics kept from a failing command.
const maxStderr = 4 << 10

// Capture runs argv with exec (no shell) and returns its stdout.
func (l Local) Capture(ctx context.Context, argv []string, maxOut int) ([]byte, error) {
	if err := CheckArgv(argv); err != nil {
		return nil, err
	}
	full := argv
	if l.Netns != "" {
		if !netnsPattern().MatchString(l.Netns) {
			return nil, invalid("network namespace %q: want a name as `ip netns` lists it", l.Netns)
		}
		full = append([]string{"ip", "netns", "exec", l.Netns}, argv...)
	}
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	// A command that ignores its kill still has its pipes closed.
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	diag := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(stderr, maxStderr))
		_, _ = io.Copy(io.Discard, stderr)
		diag <- b
	}()
	// One byte past the cap tells a full output from a runaway one,
	// which is killed rather than read to its end.
	out, _ := io.ReadAll(io.LimitReader(stdout, int64(maxOut)+1))
	over := len(out) > maxOut
	if over {
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, stdout)
	msg := strings.TrimSpace(string(<-diag))
	err = cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", argv[0], context.Cause(ctx))
	case over:
		return nil, fmt.Errorf("%s: output exceeds %d bytes", argv[0], maxOut)
	case err != nil && msg != "":
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return out, nil
}
