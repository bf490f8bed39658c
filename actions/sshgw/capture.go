package sshgw

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// capturePrograms are the read-only programs Capture runs for evidence:
// listings and a time-boxed packet capture.
var capturePrograms = map[string]bool{"nft": true, "ss": true, "conntrack": true, "timeout": true}

// captureArg is what an argument may hold: the characters of addresses,
// prefixes, numbers, interface names and flags. Each is single-quoted on
// the command line as well, so even a character that slipped through
// could not be read by the gateway's shell.
var captureArg = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:/@%+=,\[\]-]+$`) })

// Capture runs one evidence command (nft, ss, conntrack, or tcpdump under
// timeout) on the gateway and returns its stdout, at most maxOut bytes. The
// program must be one of those and every argument is checked, then quoted:
// the line the gateway's shell reads holds nothing but quoted tokens.
func (g *Gateway) Capture(ctx context.Context, argv []string, maxOut int) ([]byte, error) {
	line, err := captureLine(argv)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: capture: %w", g.cfg.Name, err)
	}
	client, _, err := g.current()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: capture %s: %w", g.cfg.Name, argv[0], err)
	}
	out, err := runCmd(ctx, client, g.command(line), nil, maxOut)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: capture: %w", g.cfg.Name, err)
	}
	return out, nil
}

// captureLine checks argv and renders it as a command line of quoted
// tokens.
func captureLine(argv []string) (string, error) {
	if len(argv) == 0 || !capturePrograms[argv[0]] {
		return "", fmt.Errorf("command %q: not an evidence program", argv)
	}
	if argv[0] == "timeout" && !strings.Contains(" "+strings.Join(argv, " ")+" ", " tcpdump ") {
		return "", fmt.Errorf("command %q: timeout wraps tcpdump only", argv)
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		if !captureArg().MatchString(a) {
			return "", fmt.Errorf("command %s: argument %q holds characters outside [A-Za-z0-9_.:/@%%+=,[]-]", argv[0], a)
		}
		quoted[i] = "'" + a + "'"
	}
	return strings.Join(quoted, " "), nil
}
