package netlink

import (
	"context"
	"fmt"
)

// Generation is the namespace's ruleset generation. The kernel bumps it with
// every committed transaction, whoever made it, so an unchanged value means
// the table is as phantomsoc last read or wrote it: reconcile can skip the
// full read, which for 100,000 interval elements is seconds of kernel time.
func (b *Backend) Generation(ctx context.Context) (uint32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	g, err := b.conn.GetGen()
	if err != nil {
		return 0, fmt.Errorf("netlink: ruleset generation: %w", err)
	}
	return g.ID, nil
}
