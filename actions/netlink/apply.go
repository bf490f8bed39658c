package netlink

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/phantomsoc/phantomsoc/actions"
)

// Apply runs batch in one transaction, deletes first. A delete is a destroy:
// an element that already expired or was never there is not an error (a
// plain delete would fail the whole batch). An add of an element that is
// there refreshes its timeout.
func (b *Backend) Apply(ctx context.Context, batch actions.Batch) error {
	if batch.Empty() {
		return nil
	}
	what := fmt.Sprintf("apply %d deletes, %d adds", len(batch.Delete), len(batch.Add))
	dels, err := b.encodeAll(batch.Delete, true)
	if err != nil {
		return fmt.Errorf("netlink: %s: %w", what, err)
	}
	adds, err := b.encodeAll(batch.Add, false)
	if err != nil {
		return fmt.Errorf("netlink: %s: %w", what, err)
	}
	if err := ctxErr(ctx, what); err != nil {
		return err
	}
	if err := b.growWriteBuffer(kernelCount(dels, adds)); err != nil {
		return err
	}
	if err := b.queueElements(dels, b.conn.SetDestroyElements, "destroy", "in"); err != nil {
		b.abort()
		return fmt.Errorf("netlink: %w", err)
	}
	if err := b.queueElements(adds, b.conn.SetAddElements, "add", "to"); err != nil {
		b.abort()
		return fmt.Errorf("netlink: %w", err)
	}
	if err := b.conn.Flush(); err != nil {
		if errors.Is(err, unix.EEXIST) {
			// The kernel's only EEXIST for an add without NLM_F_EXCL:
			// an interval set refuses ranges that overlap (a host
			// inside a blocked CIDR, or the CIDR around a host).
			return fmt.Errorf("netlink: %s: an added range overlaps one already in its set: %w", what, err)
		}
		return fmt.Errorf("netlink: %s: %w", what, err)
	}
	return nil
}
