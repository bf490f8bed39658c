package actions_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/actions/netlink"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
	"github.com/phantomsoc/phantomsoc/store"
)

// rig is an Enforcer over a real store and the netlink backend of one or
// more gateway namespaces.
type rig struct {
	tp  *nstest.Topology
	db  *store.DB
	enf *actions.Enforcer
	// svc is a listener in the gateway the attacker probes.
	svc string
}

// openBackend is the netlink backend of namespace ns, closed when tb ends.
func openBackend(tb testing.TB, ns string) *netlink.Backend {
	tb.Helper()
	b, err := netlink.New(layout(), nstest.Path(ns))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// openDB is a fresh database, closed when tb ends.
func openDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "ps.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func layout() *actions.Layout {
	l := &actions.Layout{Mgmt: []netip.Prefix{netip.MustParsePrefix(nstest.Mgmt + "/32")}, RatePerMinute: 3, RateBurst: 1}
	if err := l.Validate(); err != nil {
		panic(err)
	}
	return l
}

func newRig(t *testing.T, opts actions.Options, extra ...actions.Gateway) *rig {
	t.Helper()
	tp := nstest.New(t)
	db := openDB(t)
	b := openBackend(t, tp.Gateway)
	gws := append([]actions.Gateway{{Name: "gw1", Backend: b, Shield: actions.Shield{Protected: []actions.Protected{{Prefix: netip.MustParsePrefix(nstest.Mgmt + "/32"), Why: "management address of gw1"}}}}}, extra...)
	enf, err := actions.New(opts, gws, db)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{tp: tp, db: db, enf: enf, svc: net.JoinHostPort(nstest.GatewayOut, "8022")}
	nstest.Listen(t, tp.Gateway, r.svc)
	if err := enf.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	enf.Reconcile(t.Context()) // creates the table
	return r
}

func (r *rig) reachable(t *testing.T, from string) bool {
	t.Helper()
	return nstest.Blocked(r.tp.Attacker, from, r.svc) != nil
}

func (r *rig) audit(t *testing.T) []store.AuditRecord {
	t.Helper()
	recs, err := r.db.AuditList(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func hasAudit(recs []store.AuditRecord, action, subject string) bool {
	for _, rec := range recs {
		if rec.Action == action && (subject == "" || rec.Subject == subject) {
			return true
		}
	}
	return false
}

func enforcement(t *testing.T, db *store.DB, id string) map[string]string {
	t.Helper()
	m, err := db.Enforcements([]string{id})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range m[id] {
		out[e.Gateway] = e.State
	}
	return out
}

func TestBlockRollbackAndKernelExpiry(t *testing.T) {
	r := newRig(t, actions.Options{})
	ctx := t.Context()
	if !r.reachable(t, nstest.Attacker2) {
		t.Fatal("attacker cannot reach the gateway before any block")
	}
	res, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Decision.ID
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("blocked attacker still connects")
	}
	if !r.reachable(t, nstest.Attacker) {
		t.Fatal("a neighbour of the blocked address lost its access")
	}
	if got := enforcement(t, r.db, id); got["gw1"] != engine.EnforceApplied {
		t.Fatalf("enforcement = %v, want gw1 applied", got)
	}
	st, err := r.enf.Status(ctx, "gw1")
	if err != nil || len(st) != 1 || st[0].Counters["sources:block4"].Packets == 0 || st[0].Elements["block4"] != 1 {
		t.Fatalf("status after block = %+v, %v; want one block4 element and a dropped packet counted", st, err)
	}

	if _, err := r.enf.Rollback(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	if !r.reachable(t, nstest.Attacker2) {
		t.Fatal("rolled-back block still drops")
	}
	d, err := r.db.Decision(id)
	if err != nil || d.State != engine.StateRolledBack {
		t.Fatalf("decision after rollback = %+v, %v", d, err)
	}

	// A short TTL ends in the kernel by itself.
	res, err = r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: "192.0.2.0/28", TTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("CIDR block does not cover an address inside it")
	}
	time.Sleep(2 * time.Second)
	if !r.reachable(t, nstest.Attacker2) {
		t.Fatal("block outlived its TTL in the kernel")
	}
	r.enf.Reconcile(ctx)
	d, _ = r.db.Decision(res.Decision.ID)
	if d.State != engine.StateExpired {
		t.Errorf("decision past TTL is %q after reconcile, want expired", d.State)
	}
	recs := r.audit(t)
	for _, want := range []struct{ action, subject string }{
		{actions.AuditCreated, id}, {actions.AuditApplied, id}, {actions.AuditRolledBack, id}, {actions.AuditExpired, res.Decision.ID},
	} {
		if !hasAudit(recs, want.action, want.subject) {
			t.Errorf("no %s audit record for %s", want.action, want.subject)
		}
	}
	if rep, err := r.db.VerifyAudit(); err != nil || !rep.OK {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}

func TestRenewRefreshesTimeoutAndRollbackKeepsTheOther(t *testing.T) {
	r := newRig(t, actions.Options{})
	ctx := t.Context()
	first, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.enf.Status(ctx, "gw1")
	if err != nil || st[0].Elements["block4"] != 1 {
		t.Fatalf("status = %+v, %v; want one block4 element for two decisions", st, err)
	}
	b := openBackend(t, r.tp.Gateway)
	expiry := func() time.Duration {
		st, err := b.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, el := range st.Elements {
			if el.Set == "block4" {
				return el.Expires
			}
		}
		t.Fatal("no block4 element")
		return 0
	}
	if e := expiry(); e < time.Hour {
		t.Fatalf("renewed block expires in %s, want the longer TTL (~2h)", e)
	}
	// Rolling back the longer one leaves the first in force, with its own
	// time left.
	if _, err := r.enf.Rollback(ctx, second.Decision.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if e := expiry(); e > time.Minute || e < 30*time.Second {
		t.Fatalf("after rolling back the renewal the element expires in %s, want the first decision's ~1m", e)
	}
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("rolling back one of two blocks on the same address lifted both")
	}
	if got := enforcement(t, r.db, first.Decision.ID); got["gw1"] != engine.EnforceApplied {
		t.Errorf("first decision's enforcement = %v, want applied", got)
	}
}

func TestDriftIsRepairedAndRestartReapplies(t *testing.T) {
	r := newRig(t, actions.Options{})
	ctx := t.Context()
	if _, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if out, err := r.tp.Exec(r.tp.Gateway, "nft", "flush", "ruleset"); err != nil {
		t.Fatalf("nft flush ruleset: %v: %s", err, out)
	}
	if !r.reachable(t, nstest.Attacker2) {
		t.Fatal("flush did not lift the block (test premise)")
	}
	r.enf.Reconcile(ctx)
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("reconcile did not restore the flushed table")
	}
	if !hasAudit(r.audit(t), actions.AuditRepaired, "gw1") {
		t.Error("no repair audit record")
	}

	// A stray element someone added by hand is removed; a missing one is
	// re-added.
	if out, err := r.tp.Exec(r.tp.Gateway, "nft", "add", "element", "inet", "phantomsoc", "block4", "{ 192.0.2.10 }"); err != nil {
		t.Fatalf("add stray: %v: %s", err, out)
	}
	if out, err := r.tp.Exec(r.tp.Gateway, "nft", "delete", "element", "inet", "phantomsoc", "block4", "{ "+nstest.Attacker2+" }"); err != nil {
		t.Fatalf("delete element: %v: %s", err, out)
	}
	r.enf.Reconcile(ctx)
	if !r.reachable(t, nstest.Attacker) || r.reachable(t, nstest.Attacker2) {
		t.Fatal("reconcile did not remove the stray element and restore the missing one")
	}

	// A new process on the same store re-applies after a reboot-like flush.
	if out, err := r.tp.Exec(r.tp.Gateway, "nft", "flush", "ruleset"); err != nil {
		t.Fatalf("nft flush ruleset: %v: %s", err, out)
	}
	b := openBackend(t, r.tp.Gateway)
	restarted, err := actions.New(actions.Options{ReconcileEvery: time.Hour}, []actions.Gateway{{Name: "gw1", Backend: b}}, r.db)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- restarted.Run(rctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.reachable(t, nstest.Attacker2) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("restarted enforcer did not re-apply the active block")
	}
}

func TestHostileAndProtectedValuesAreRefused(t *testing.T) {
	opts := actions.Options{Guard: actions.Guard{Protected: []actions.Protected{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Why: "allowlist"}}}}
	r := newRig(t, opts)
	ctx := t.Context()
	cases := []struct {
		name string
		req  actions.Request
		want string
	}{
		{"shell in interface", actions.Request{Type: engine.ActionTunnel, Target: nstest.Attacker2, Iface: "wg0; nft flush ruleset", TTL: time.Hour}, "tunnel interface"},
		{"shell in target", actions.Request{Type: engine.ActionBlock, Target: "192.0.2.11; nft flush ruleset", TTL: time.Hour}, "not an address"},
		{"whole internet", actions.Request{Type: engine.ActionBlock, Target: "0.0.0.0/0", TTL: time.Hour}, "--force"},
		{"whole internet v6", actions.Request{Type: engine.ActionBlock, Target: "::/0", TTL: time.Hour}, "--force"},
		{"forced still never loopback", actions.Request{Type: engine.ActionBlock, Target: "0.0.0.0/0", TTL: time.Hour, Force: true}, "loopback"},
		{"management address", actions.Request{Type: engine.ActionBlock, Target: nstest.Mgmt, TTL: time.Hour}, "management address"},
		{"range holding the management address", actions.Request{Type: engine.ActionBlock, Target: "192.0.2.0/24", TTL: time.Hour}, "management address"},
		{"allowlisted", actions.Request{Type: engine.ActionBlock, Target: "203.0.113.9", TTL: time.Hour}, "allowlist"},
		{"mapped allowlisted", actions.Request{Type: engine.ActionBlock, Target: "::ffff:203.0.113.9", TTL: time.Hour}, "allowlist"},
		{"loopback", actions.Request{Type: engine.ActionBlock, Target: "127.0.0.1", TTL: time.Hour}, "loopback"},
		{"no ttl", actions.Request{Type: engine.ActionBlock, Target: nstest.Attacker2}, "ttl"},
		{"unknown type", actions.Request{Type: "nuke", Target: nstest.Attacker2, TTL: time.Hour}, "type"},
		{"unknown gateway", actions.Request{Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour, Gateways: []string{"gw9"}}, "not configured"},
		{"bad port", actions.Request{Type: engine.ActionFirewall, Port: "tcp/99999", TTL: time.Hour}, "port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Actor = "test"
			before := len(r.audit(t))
			_, err := r.enf.Submit(ctx, c.req)
			if !errors.Is(err, actions.ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Submit = %v, want refused mentioning %q", err, c.want)
			}
			recs := r.audit(t)
			if len(recs) != before+1 || recs[len(recs)-1].Action != actions.AuditRefused {
				t.Fatalf("want one %s audit record, got %d new", actions.AuditRefused, len(recs)-before)
			}
		})
	}
	st, err := r.enf.Status(ctx, "gw1")
	if err != nil || !st[0].Intact || len(st[0].Elements) != 0 {
		t.Fatalf("after hostile requests the table is %+v, %v; want intact and empty", st, err)
	}
}

func TestDryRunShowsTheBatchAndAppliesNothing(t *testing.T) {
	r := newRig(t, actions.Options{})
	res, err := r.enf.Submit(t.Context(), actions.Request{Actor: "test", Type: engine.ActionBlock, Target: "192.0.2.0/28", TTL: time.Hour, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Script, "add element inet phantomsoc block4 { 192.0.2.0/28 timeout ") {
		t.Fatalf("dry-run script:\n%s", res.Script)
	}
	if !r.reachable(t, nstest.Attacker2) {
		t.Fatal("a dry run blocked")
	}
	if ds, _ := r.db.Decisions(store.DecisionQuery{}); len(ds) != 0 {
		t.Fatalf("a dry run stored %d decisions", len(ds))
	}
}

// journalTap counts applied enforcements as they are recorded.
type journalTap struct {
	*store.DB
	applied chan string
}

func (j journalTap) Record(ctx context.Context, ch *engine.Change) error {
	err := j.DB.Record(ctx, ch)
	for _, e := range ch.Enforcements {
		if e.State == engine.EnforceApplied {
			j.applied <- e.DecisionID
		}
	}
	return err
}

func TestCapAndApprovalHoldAutomaticActions(t *testing.T) {
	tp := nstest.New(t)
	db := openDB(t)
	b := openBackend(t, tp.Gateway)
	tap := journalTap{DB: db, applied: make(chan string, 16)}
	now := time.Now()
	enf, err := actions.New(actions.Options{MaxPerMinute: 2, Now: func() time.Time { return now }}, []actions.Gateway{{Name: "gw1", Backend: b}}, tap)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- enf.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var ds []engine.Decision
	for i, target := range []string{"192.0.2.21", "192.0.2.22", "192.0.2.23"} {
		ds = append(ds, engine.Decision{ID: "de-0000000" + string(rune('1'+i)), Time: now, Action: engine.ActionBlock, Target: netip.MustParsePrefix(target + "/32"),
			TTL: time.Hour, Expires: now.Add(time.Hour), Auto: true, State: engine.StateActive, Risk: 8})
	}
	ds = append(ds, engine.Decision{ID: "de-00000004", Time: now, Action: engine.ActionIsolate, Target: netip.MustParsePrefix(nstest.Internal + "/32"),
		TTL: time.Hour, Expires: now.Add(time.Hour), Auto: true, State: engine.StateActive, Risk: 9})
	if err := db.Commit(ctx, &engine.Commit{Decisions: ds, Seq: 4}); err != nil {
		t.Fatal(err)
	}
	enf.Committed(&engine.Commit{Decisions: ds})
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-tap.applied:
			got[id] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("applied %v, want two automatic blocks", got)
		}
	}
	if !got["de-00000001"] || !got["de-00000002"] {
		t.Fatalf("applied %v, want the first two", got)
	}
	for _, id := range []string{"de-00000003", "de-00000004"} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			d, err := db.Decision(id)
			if err == nil && d.State == engine.StatePending {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %+v, %v; want pending (held)", id, d, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	recs, _ := db.AuditList(0, 0)
	if !hasAudit(recs, actions.AuditHeld, "de-00000003") || !hasAudit(recs, actions.AuditHeld, "de-00000004") {
		t.Error("held decisions have no audit record")
	}
	if _, err := enf.Approve(ctx, "de-00000004", "test"); err != nil {
		t.Fatal(err)
	}
	// Port 1 is closed: a reachable host answers with a reset at once; an
	// isolated one hears nothing.
	err = nstest.Connect(tp.Internal, nstest.Internal, net.JoinHostPort(nstest.Attacker, "1"), 300*time.Millisecond)
	if err == nil || strings.Contains(err.Error(), "refused") {
		t.Fatalf("isolated host's connection = %v, want it dropped (a timeout)", err)
	}
}

// TestPlanIsAllOrNothingAcrossGateways breaks the second gateway's table
// behind phantomsoc's back (its block set is gone, so the kernel refuses the
// batch): the first gateway must be rolled back, both left pending, and the
// reconcile loop must then repair the second and apply on both.
func TestPlanIsAllOrNothingAcrossGateways(t *testing.T) {
	tp2 := nstest.New(t)
	b2 := openBackend(t, tp2.Gateway)
	r := newRig(t, actions.Options{}, actions.Gateway{Name: "gw2", Backend: b2})
	ctx := t.Context()
	if out, err := tp2.Exec(tp2.Gateway, "nft", "delete", "set", "inet", "phantomsoc", "block4"); err == nil {
		t.Fatalf("deleting a set still used by a rule succeeded: %s", out)
	}
	// The set is referenced by a rule: flush the chain first, then drop it.
	for _, args := range [][]string{{"flush", "chain", "inet", "phantomsoc", "sources"}, {"delete", "set", "inet", "phantomsoc", "block4"}} {
		if out, err := tp2.Exec(tp2.Gateway, "nft", args...); err != nil {
			t.Fatalf("nft %v: %v: %s", args, err, out)
		}
	}
	res, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour})
	if err == nil {
		t.Fatal("plan on a broken gateway succeeded")
	}
	if !r.reachable(t, nstest.Attacker2) {
		t.Fatal("gw1 kept the block although gw2 failed: half-applied plan")
	}
	got := enforcement(t, r.db, res.Decision.ID)
	if got["gw1"] != engine.EnforcePending || got["gw2"] != engine.EnforcePending {
		t.Fatalf("enforcement after a failed plan = %v, want pending on both", got)
	}
	if !hasAudit(r.audit(t), actions.AuditFailed, res.Decision.ID) {
		t.Error("no audit record of the failed plan")
	}
	r.enf.Reconcile(ctx)
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("reconcile did not apply the pending block on gw1")
	}
	got = enforcement(t, r.db, res.Decision.ID)
	if got["gw1"] != engine.EnforceApplied || got["gw2"] != engine.EnforceApplied {
		t.Fatalf("enforcement after reconcile = %v, want applied on both", got)
	}
	st, err := r.enf.Status(ctx, "gw2")
	if err != nil || !st[0].Intact || st[0].Elements["block4"] != 1 {
		t.Fatalf("gw2 after reconcile = %+v, %v", st, err)
	}
}

// TestOverlappingDecisions: the kernel refuses overlapping intervals, so
// overlapping decisions are flattened into disjoint elements; rolling one
// back must leave the other's coverage exactly.
func TestOverlappingDecisions(t *testing.T) {
	r := newRig(t, actions.Options{Guard: actions.Guard{MinBits4: 8}})
	ctx := t.Context()
	host, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The range holds the management address, so it is the lower half of
	// the attacker's /24: 192.0.2.0/26 covers .10 and .11, not .99.
	wide, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: "192.0.2.0/26", TTL: time.Hour})
	if err != nil {
		t.Fatalf("overlapping block refused: %v", err)
	}
	if r.reachable(t, nstest.Attacker) || r.reachable(t, nstest.Attacker2) {
		t.Fatal("overlapping blocks leave a hole")
	}
	if _, err := r.enf.Rollback(ctx, wide.Decision.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if !r.reachable(t, nstest.Attacker) || r.reachable(t, nstest.Attacker2) {
		t.Fatal("after rolling back the range, only the host block must remain")
	}
	if _, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: "192.0.2.0/26", TTL: 3 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.enf.Rollback(ctx, host.Decision.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if r.reachable(t, nstest.Attacker) || r.reachable(t, nstest.Attacker2) {
		t.Fatal("rolling back the host lifted the range covering it")
	}
	st, err := r.enf.Status(ctx, "gw1")
	if err != nil || st[0].MissingElements != 0 || st[0].Stray != 0 {
		t.Fatalf("status = %+v, %v; want no drift", st, err)
	}
}

// TestLargeTableIsRewrittenKeepingCounters: above the read-back limit a
// reconcile that cannot trust the ruleset generation replaces the table
// instead of reading it; drift is repaired all the same and the drop
// counters survive.
func TestLargeTableIsRewrittenKeepingCounters(t *testing.T) {
	r := newRig(t, actions.Options{ReadBackLimit: 1})
	ctx := t.Context()
	for _, a := range []string{nstest.Attacker, nstest.Attacker2} {
		if _, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: a, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("block did not drop")
	}
	st, err := r.enf.Status(ctx, "gw1")
	if err != nil {
		t.Fatal(err)
	}
	dropped := st[0].Counters["sources:block4"].Packets
	if dropped == 0 {
		t.Fatal("no drop counted")
	}
	if out, err := r.tp.Exec(r.tp.Gateway, "nft", "delete", "element", "inet", "phantomsoc", "block4", "{ "+nstest.Attacker2+" }"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r.enf.Reconcile(ctx)
	// Read before any new probe: a reset counter would show 0.
	st, err = r.enf.Status(ctx, "gw1")
	if err != nil || st[0].Counters["sources:block4"].Packets < dropped || st[0].MissingElements != 0 || st[0].Stray != 0 {
		t.Fatalf("after the rewrite: %+v, %v; want the counter kept (>= %d) and no drift", st, err, dropped)
	}
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("the rewrite did not restore the deleted element")
	}
	recs := r.audit(t)
	found := false
	for _, rec := range recs {
		found = found || rec.Action == actions.AuditRepaired && strings.Contains(string(rec.Detail), "rewritten_with_elements")
	}
	if !found {
		t.Error("no audit record of the rewrite")
	}
}

// TestReconcileBeforeLoadTouchesNothing: a new process's enforcer knows no
// live decision until Load; reconciling then would take every element for
// a stray and lift every ban.
func TestReconcileBeforeLoadTouchesNothing(t *testing.T) {
	r := newRig(t, actions.Options{})
	ctx := t.Context()
	if _, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	b := openBackend(t, r.tp.Gateway)
	fresh, err := actions.New(actions.Options{}, []actions.Gateway{{Name: "gw1", Backend: b}}, r.db)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Reconcile(ctx)
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("a reconcile before Load lifted an active block")
	}
}

func TestExtendRefreshesTheKernelTimeout(t *testing.T) {
	r := newRig(t, actions.Options{})
	ctx := t.Context()
	res, err := r.enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.enf.Extend(ctx, res.Decision.ID, 2*time.Hour, "test"); err != nil {
		t.Fatal(err)
	}
	b := openBackend(t, r.tp.Gateway)
	st, err := b.List(ctx)
	if err != nil || len(st.Elements) != 1 || st.Elements[0].Expires < 2*time.Hour {
		t.Fatalf("after extending by 2h: %+v, %v; want one element with over 2h left", st, err)
	}
	d, err := r.db.Decision(res.Decision.ID)
	if err != nil || d.Expires.Sub(res.Decision.Expires) != 2*time.Hour {
		t.Fatalf("stored decision = %+v, %v; want its expiry 2h later", d, err)
	}
	if !hasAudit(r.audit(t), actions.AuditExtended, res.Decision.ID) {
		t.Error("no audit record of the extension")
	}
	if _, err := r.enf.Extend(ctx, "dm-99999999", time.Hour, "test"); err == nil {
		t.Error("extending an unknown decision succeeded")
	}
}

func TestApproveEditedNarrowsAndShortens(t *testing.T) {
	tp2 := nstest.New(t)
	b2 := openBackend(t, tp2.Gateway)
	r := newRig(t, actions.Options{}, actions.Gateway{Name: "gw2", Backend: b2})
	ctx := t.Context()
	now := time.Now()
	d := engine.Decision{ID: "de-00000001", Time: now.Add(-time.Minute), Action: engine.ActionBlock, Target: netip.MustParsePrefix(nstest.Attacker2 + "/32"),
		TTL: 12 * time.Hour, Expires: now.Add(12*time.Hour - time.Minute), State: engine.StatePending, Risk: 7}
	if err := r.db.Commit(ctx, &engine.Commit{Decisions: []engine.Decision{d}, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.enf.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.enf.ApproveEdited(ctx, d.ID, actions.Edit{Gateways: []string{"gw9"}}, "test"); err == nil {
		t.Fatal("approving onto an unknown gateway succeeded")
	}
	res, err := r.enf.ApproveEdited(ctx, d.ID, actions.Edit{TTL: time.Hour, Gateways: []string{"gw1"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(res.Decision.Expires); left > time.Hour || left < 59*time.Minute {
		t.Errorf("approved with 1h, expires in %s", left)
	}
	if r.reachable(t, nstest.Attacker2) {
		t.Fatal("gw1 did not apply the approved block")
	}
	st, err := b2.List(ctx)
	if err != nil || len(st.Elements) != 0 {
		t.Fatalf("gw2 holds %v (%v); the edit narrowed the decision to gw1", st.Elements, err)
	}
	recs := r.audit(t)
	found := false
	for _, rec := range recs {
		found = found || rec.Action == actions.AuditApproved && strings.Contains(string(rec.Detail), "proposed_expires")
	}
	if !found {
		t.Error("the approval's audit record does not show what was edited")
	}
}

// snapshots reads a gateway's sets around each apply through the backend,
// as the evidence collector reads its ruleset.
type snapshots struct {
	b     *netlink.Backend
	calls []string // "actor gateway decisions: before→after block4 elements"
}

func (s *snapshots) Bracket(ctx context.Context, gateway, actor string, ds []*engine.Decision, apply func(context.Context) error) error {
	count := func() int {
		st, err := s.b.List(ctx)
		if err != nil {
			return -1
		}
		n := 0
		for _, el := range st.Elements {
			if el.Set == "block4" {
				n++
			}
		}
		return n
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	before := count()
	err := apply(ctx)
	s.calls = append(s.calls, fmt.Sprintf("%s %s %s: %d→%d", actor, gateway, strings.Join(ids, ","), before, count()))
	return err
}

// TestSnapshotsBracketEveryApply checks the enforcer hands each batch it
// applies to the snapshotter, with the decisions and the actor, and that
// nothing is applied around it.
func TestSnapshotsBracketEveryApply(t *testing.T) {
	tp := nstest.New(t)
	b := openBackend(t, tp.Gateway)
	snap := &snapshots{b: b}
	db := openDB(t)
	enf, err := actions.New(actions.Options{Snapshots: snap}, []actions.Gateway{{Name: "gw1", Backend: b}}, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := enf.Load(ctx); err != nil {
		t.Fatal(err)
	}
	enf.Reconcile(ctx)
	res, err := enf.Submit(ctx, actions.Request{Actor: "cli:alice", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enf.Rollback(ctx, res.Decision.ID, "cli:bob"); err != nil {
		t.Fatal(err)
	}
	id := res.Decision.ID
	want := []string{"cli:alice gw1 " + id + ": 0→1", "cli:bob gw1 " + id + ": 1→0"}
	if strings.Join(snap.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("snapshots =\n%s\nwant\n%s", strings.Join(snap.calls, "\n"), strings.Join(want, "\n"))
	}
}
