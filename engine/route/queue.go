package route

import (
	"container/heap"
	"time"
)

// schedule sets g's due time: its next flush, or an escalation before it.
func (d *Dispatcher) schedule(g *group, now time.Time) {
	due := g.nextFlush
	levels := g.node.levels
	if !g.acked && g.level >= 1 && g.level < len(levels) {
		if esc := g.firstNotified.Add(time.Duration(levels[g.level].After)); esc.After(now) && esc.Before(due) {
			due = esc
		}
	}
	g.due = due
	if g.hidx < 0 {
		heap.Push(&d.queue, g)
	} else {
		heap.Fix(&d.queue, g.hidx)
	}
}

// groupQueue is a min-heap of groups by due time, then key, so Tick is
// deterministic.
type groupQueue []*group

func (q groupQueue) Len() int { return len(q) }
func (q groupQueue) Less(i, j int) bool {
	if c := q[i].due.Compare(q[j].due); c != 0 {
		return c < 0
	}
	return q[i].key < q[j].key
}
func (q groupQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].hidx, q[j].hidx = i, j
}
func (q *groupQueue) Push(x any) {
	g := x.(*group)
	g.hidx = len(*q)
	*q = append(*q, g)
}
func (q *groupQueue) Pop() any {
	old := *q
	g := old[len(old)-1]
	old[len(old)-1] = nil
	g.hidx = -1
	*q = old[:len(old)-1]
	return g
}
