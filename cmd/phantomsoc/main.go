// Command phantomsoc is a terminal-first security-operations console: it
// ingests sshd and Suricata events, detects attacks, scores them, decides
// reversible remediations and keeps a verifiable audit trail.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

//go:generate go run . docs --out ../../docs/cli.md

// Set at link time by goreleaser (-X main.version=… etc.).
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(buildInfo{Version: version, Commit: commit, Date: date}).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "phantomsoc:", err)
		os.Exit(1)
	}
}
