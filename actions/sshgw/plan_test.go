package sshgw

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
	"github.com/phantomsoc/phantomsoc/store"
)

// killAfterApply is edge1's backend with a hook: once edge1 has applied its
// share of a plan, it kills edge2's sshd and sessions, so the plan dies
// half-way, exactly between the two gateways.
type killAfterApply struct {
	*Gateway
	armed bool
	kill  func()
}

func (k *killAfterApply) Apply(ctx context.Context, b actions.Batch) error {
	err := k.Gateway.Apply(ctx, b)
	if err == nil && k.armed {
		k.armed = false
		k.kill()
	}
	return err
}

// TestPlanOnTwoGatewaysRollsBackWhenOneDies runs the Enforcer over two real
// sshd gateways and kills the second mid-plan: the first must be rolled
// back, both left pending, and once the second is back the reconcile loop
// applies the plan on both.
func TestPlanOnTwoGatewaysRollsBackWhenOneDies(t *testing.T) {
	tp1, tp2 := newTopology(t), newTopology(t)
	s1, s2 := startSSHD(t, tp1), startSSHD(t, tp2)
	c1, c2 := testConfig(tp1, s1), testConfig(tp2, s2)
	c2.Name = "edge2"
	g1, g2 := runGateway(t, c1), runGateway(t, c2)
	db, err := store.Open(filepath.Join(t.TempDir(), "ps.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hook := &killAfterApply{Gateway: g1, kill: s2.Kill}
	enf, err := actions.New(actions.Options{}, []actions.Gateway{
		{Name: "edge1", Backend: hook, Session: g1.RemoteClient},
		{Name: "edge2", Backend: g2, Session: g2.RemoteClient},
	}, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := enf.Load(ctx); err != nil {
		t.Fatal(err)
	}
	enf.Reconcile(ctx)
	svc := net.JoinHostPort(nstest.GatewayOut, "8022")
	nstest.Listen(t, tp1.Gateway, svc)
	nstest.Listen(t, tp2.Gateway, svc)
	reachable := func(tp *nstest.Topology) bool { return nstest.Blocked(tp.Attacker, nstest.Attacker2, svc) != nil }
	if !reachable(tp1) || !reachable(tp2) {
		t.Fatal("attacker cannot reach the gateways before any block")
	}

	// phantomsoc's own SSH session comes from the management address:
	// never blocked, even with no management address configured.
	if _, err := enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Mgmt, TTL: time.Hour}); !errors.Is(err, actions.ErrRefused) || !strings.Contains(err.Error(), "session administering") {
		t.Fatalf("blocking the administering session's address = %v, want refused", err)
	}

	hook.armed = true
	res, err := enf.Submit(ctx, actions.Request{Actor: "test", Type: engine.ActionBlock, Target: nstest.Attacker2, TTL: time.Hour})
	if err == nil || !errors.Is(err, actions.ErrGatewayDown) {
		t.Fatalf("plan with edge2 killed mid-way = %v, want a gateway-down failure", err)
	}
	if strings.Contains(nftIn(t, tp1, "list", "set", "inet", "phantomsoc", "block4"), nstest.Attacker2) || !reachable(tp1) {
		t.Fatal("edge1 kept its half of a failed plan")
	}
	m, err := db.Enforcements([]string{res.Decision.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m[res.Decision.ID] {
		if e.State != engine.EnforcePending {
			t.Errorf("%s: %s, want pending after the failed plan", e.Gateway, e.State)
		}
	}
	if len(m[res.Decision.ID]) != 2 {
		t.Errorf("enforcement records = %+v, want one per gateway", m[res.Decision.ID])
	}

	s2.Start()
	waitUp(t, g2, true, 35*time.Second)
	enf.Reconcile(ctx)
	if reachable(tp1) || reachable(tp2) {
		t.Fatal("after edge2 returned, reconcile did not apply the plan on both")
	}
	m, _ = db.Enforcements([]string{res.Decision.ID})
	for _, e := range m[res.Decision.ID] {
		if e.State != engine.EnforceApplied {
			t.Errorf("%s: %s after reconcile, want applied", e.Gateway, e.State)
		}
	}
}
