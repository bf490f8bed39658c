package actions

import (
	"context"
	"errors"
)

// ErrGatewayDown is what a backend's errors wrap when the gateway cannot be
// reached: its actions stay pending and are retried, while any other error
// is the gateway refusing the change.
var ErrGatewayDown = errors.New("gateway down")

// Backend is one gateway's nftables: netlink in a network namespace (package
// actions/netlink) or `nft -f -` over SSH (package actions/sshgw). The
// Enforcer is its only consumer. Every method is one kernel transaction or
// one read; implementations must be safe for use by one goroutine at a time.
type Backend interface {
	// Rebuild replaces phantomsoc's table, in one transaction, with the
	// layout's chains, sets and rules holding elems (plus the layout's own
	// configuration elements). Rules of other tables are never touched.
	Rebuild(ctx context.Context, elems []Element) error
	// Apply runs b in one transaction: all of it or none.
	Apply(ctx context.Context, b Batch) error
	// List reads the table back.
	List(ctx context.Context) (*State, error)
	Close() error
}

// State is a gateway's table as read back.
type State struct {
	// Present reports whether the table exists.
	Present bool
	// Intact reports whether every chain, set and rule of the layout is
	// there; when false the Enforcer rebuilds the table.
	Intact bool
	// Missing names what is not there, for the audit record of a repair.
	Missing []string
	// Elements are the action sets' elements with the time they have left
	// (configuration sets and meters are not listed).
	Elements []Element
	// Counters are per rule comment.
	Counters map[string]Counter
	// Version is the nft or kernel interface version, for `gateways show`.
	Version string
}

// Counter is a rule's packet and byte counts.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}
