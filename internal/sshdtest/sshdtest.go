// Package sshdtest writes the configuration tests run Debian's OpenSSH
// server with: key-only root login from a directory the test owns.
package sshdtest

import (
	"path/filepath"
	"strings"
)

// Config is an sshd_config listening on addr (host:port) with hostKey, the
// authorized keys and the pid file in dir, and only public-key logins;
// extra lines ("AcceptEnv NO_COLOR") follow.
func Config(addr, hostKey, dir string, extra ...string) string {
	return strings.Join(append([]string{
		"ListenAddress " + addr,
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		// The test's temporary directory is not root's alone.
		"StrictModes no",
		"UsePAM no",
	}, append(extra, "")...), "\n")
}
