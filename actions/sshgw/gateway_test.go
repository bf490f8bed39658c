package sshgw

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/internal/nstest"
)

var _ actions.Backend = (*Gateway)(nil)

// testLayout keeps the management host reachable, as a deployment would.
func testLayout() *actions.Layout {
	return &actions.Layout{
		Mgmt:            []netip.Prefix{netip.MustParsePrefix(nstest.Mgmt + "/32")},
		QuarantineAllow: []actions.Service{{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Proto: actions.ProtoUDP, Port: 53}},
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tWriter sends log lines to t.Log, so they show only for failing tests.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// testConfig reaches s from the attacker namespace, bound to the management
// address so blocking the other attacker addresses never cuts the session.
func testConfig(tp *nstest.Topology, s *sshd) Config {
	return Config{
		Name:       "edge1",
		Addr:       s.Addr,
		User:       "root",
		KnownHosts: s.KnownHosts,
		KeyFile:    s.ClientKey,
		// Generous: a loaded CI machine must not take a slow answer for a
		// dead path. The keepalive test sets its own.
		Keepalive: 5 * time.Second,
		Dial:      dialFrom(tp.Attacker, nstest.Mgmt),
	}
}

// runGateway creates a gateway for cfg, runs it until the test ends and
// waits for it to come up.
func runGateway(t testing.TB, cfg Config) *Gateway {
	t.Helper()
	g := startGateway(t, cfg)
	waitUp(t, g, true, 15*time.Second)
	return g
}

func startGateway(t testing.TB, cfg Config) *Gateway {
	t.Helper()
	g, err := New(cfg, testLayout(), testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		g.Close()
	})
	return g
}

// waitUp waits for Up to report want, woken by Changed rather than polling.
func waitUp(t testing.TB, g *Gateway, want bool, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		ch := g.Changed()
		if g.Up() == want {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("Up() still %v after %s; last error: %v", !want, within, g.LastError())
		}
	}
}

func TestHostKeyVerification(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	otherKey := filepath.Join(t.TempDir(), "other")
	if out, err := execOut("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	other := readPublicKey(t, otherKey+".pub")
	for _, tc := range []struct {
		name       string
		knownHosts string
		wantErr    string // "" means the connection succeeds
	}{
		{"right key", knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey), ""},
		// The host key of another host listed first must not confuse
		// the algorithm choice.
		{"right key among others", knownhosts.Line([]string{"192.0.2.200"}, other) + "\n" +
			knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey), ""},
		{"wrong key", knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, other), "someone is in the middle"},
		{"unknown host", knownhosts.Line([]string{"192.0.2.200"}, s.HostKey), "is not in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tp, s)
			cfg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
			writeFile(t, cfg.KnownHosts, tc.knownHosts+"\n")
			g, err := New(cfg, testLayout(), testLogger(t))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			c, err := g.connect(t.Context())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				c.client.Close()
				return
			}
			if c != nil {
				c.client.Close()
			}
			if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("connect = %v, want ErrHostKey saying %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "gateway edge1: connect "+s.Addr) {
				t.Errorf("connect = %v, want it to name the gateway and address", err)
			}
			t.Logf("refused: %v", err)
		})
	}

	// Run reports the refusal and stays down.
	cfg := testConfig(tp, s)
	cfg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, cfg.KnownHosts, knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, other)+"\n")
	g := startGateway(t, cfg)
	deadline := time.After(15 * time.Second)
	for {
		ch := g.Changed()
		if err := g.LastError(); err != nil {
			if !errors.Is(err, ErrHostKey) || g.Up() {
				t.Fatalf("LastError() = %v, Up() = %v; want ErrHostKey and down", err, g.Up())
			}
			break
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("no error reported after 15s")
		}
	}
	if err := g.Apply(t.Context(), actions.Batch{Add: []actions.Element{blockElem(nstest.Attacker2, time.Minute)}}); !errors.Is(err, ErrDown) {
		t.Errorf("Apply on an unverified gateway = %v, want ErrDown", err)
	}
}

func blockElem(addr string, ttl time.Duration) actions.Element {
	a := netip.MustParseAddr(addr)
	return actions.Element{Set: actions.SetName("block", a.Is6()), Prefix: netip.PrefixFrom(a, a.BitLen()), Timeout: ttl}
}

// roundTripElements covers every key kind and family, CIDRs and single
// addresses, timed and permanent elements.
func roundTripElements() []actions.Element {
	p := netip.MustParsePrefix
	return []actions.Element{
		{Set: "block4", Prefix: p("192.0.2.11/32"), Timeout: time.Hour},
		{Set: "block4", Prefix: p("203.0.113.0/24"), Timeout: 2 * time.Hour},
		{Set: "block6", Prefix: p("2001:db8:9::/48"), Timeout: 30 * time.Minute},
		{Set: "block6", Prefix: p("2001:db8:1::10/128")},
		{Set: "ratelimit4", Prefix: p("203.0.114.7/32"), Timeout: time.Minute},
		{Set: "firewall4", Prefix: p("0.0.0.0/0"), Proto: actions.ProtoTCP, Port: 2222, Timeout: 10 * time.Minute},
		{Set: "firewall6", Prefix: p("2001:db8::5/128"), Proto: actions.ProtoUDP, Port: 53, Timeout: 10 * time.Minute},
		{Set: "isolate4", Prefix: p("198.51.100.10/32"), Timeout: time.Hour},
		{Set: "quarantine6", Prefix: p("2001:db8:2::10/128"), Timeout: time.Hour},
		{Set: "tunnel4", Prefix: p("192.0.2.0/24"), Iface: "wg0", Timeout: 5 * time.Minute},
		{Set: "tunnel6", Prefix: p("2001:db8::1/128"), Iface: "wg-peer.1", Timeout: 5 * time.Minute},
	}
}

// sameElements compares by key and timeout; Expires is checked to be
// within the timeout.
func sameElements(t *testing.T, got, want []actions.Element) {
	t.Helper()
	byKey := func(a, b actions.Element) int { return strings.Compare(a.Key(), b.Key()) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byKey)
	slices.SortFunc(want, byKey)
	if len(got) != len(want) {
		t.Fatalf("got %d elements %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key() != w.Key() || g.Timeout != w.Timeout {
			t.Errorf("element %d = %s timeout %s, want %s timeout %s", i, g.Key(), g.Timeout, w.Key(), w.Timeout)
		}
		if w.Timeout > 0 && (g.Expires <= 0 || g.Expires > w.Timeout) {
			t.Errorf("element %s expires in %s, want within (0, %s]", g.Key(), g.Expires, w.Timeout)
		}
		if w.Timeout == 0 && g.Expires != 0 {
			t.Errorf("permanent element %s expires in %s", g.Key(), g.Expires)
		}
	}
}

func TestRebuildList(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()

	elems := roundTripElements()
	if err := g.Rebuild(ctx, elems); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	st, err := g.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !st.Present || !st.Intact || len(st.Missing) > 0 {
		t.Fatalf("List: Present %v Intact %v Missing %q, want a whole table", st.Present, st.Intact, st.Missing)
	}
	sameElements(t, st.Elements, elems)
	if !strings.HasPrefix(st.Version, "nftables v") {
		t.Errorf("Version = %q, want nft's version line", st.Version)
	}
	for _, r := range actions.Rules() {
		if _, ok := st.Counters[r.Comment]; r.Comment != "" && !ok {
			t.Errorf("no counter for rule %q", r.Comment)
		}
	}
	if out := nftIn(t, tp, "list", "table", "inet", "phantomsoc"); !strings.Contains(out, `"wg0" . 192.0.2.0/24`) {
		t.Errorf("nft list table in the gateway namespace lacks the tunnel element:\n%s", out)
	}

	// Apply on top: a delete, an add, a refresh of an existing element.
	b := actions.Batch{
		Delete: []actions.Element{elems[0], blockElem("192.0.2.12", 0)}, // the second was never there
		Add:    []actions.Element{blockElem("2001:db8:1::11", time.Minute), {Set: "block4", Prefix: elems[1].Prefix, Timeout: 3 * time.Hour}},
	}
	if err := g.Apply(ctx, b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	st, err = g.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := append(slices.Clone(elems[2:]), b.Add...)
	sameElements(t, st.Elements, want)
}

func TestHostileElementsRefused(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()
	if err := g.Rebuild(ctx, []actions.Element{blockElem(nstest.Attacker2, time.Hour)}); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			err := g.Apply(ctx, tc.batch)
			if err == nil || errors.Is(err, ErrDown) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply = %v, want a refusal saying %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "gateway edge1: apply: ") {
				t.Errorf("Apply = %v, want it to name the gateway", err)
			}
			err = g.Rebuild(ctx, slices.Concat(tc.batch.Add, tc.batch.Delete))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Rebuild = %v, want a refusal saying %q", err, tc.want)
			}
			// Nothing reached nft: the table and its one element
			// are as they were.
			st, err := g.List(ctx)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !st.Intact {
				t.Fatalf("table damaged: missing %q", st.Missing)
			}
			sameElements(t, st.Elements, []actions.Element{blockElem(nstest.Attacker2, time.Hour)})
		})
	}
}

func TestPacketsBlocked(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()
	if a, ok := g.RemoteClient(); !ok || a != netip.MustParseAddr(nstest.Mgmt) {
		t.Fatalf("RemoteClient() = %v, %v; want %s", a, ok, nstest.Mgmt)
	}
	if err := g.Rebuild(ctx, nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	toGateway := net.JoinHostPort(nstest.GatewayOut, "8080")
	through := net.JoinHostPort(nstest.Internal, "80")
	nstest.Listen(t, tp.Gateway, toGateway)
	nstest.Listen(t, tp.Internal, through)
	reach := func(addr string) {
		t.Helper()
		if err := nstest.Connect(tp.Attacker, nstest.Attacker2, addr, 2*time.Second); err != nil {
			t.Fatalf("%s -> %s: %v, want it reachable", nstest.Attacker2, addr, err)
		}
	}
	reach(toGateway)
	reach(through)

	block := blockElem(nstest.Attacker2, time.Minute)
	if err := g.Apply(ctx, actions.Batch{Add: []actions.Element{block}}); err != nil {
		t.Fatalf("Apply block: %v", err)
	}
	for _, addr := range []string{toGateway, through} {
		if err := nstest.Blocked(tp.Attacker, nstest.Attacker2, addr); err != nil {
			t.Errorf("%s -> %s after block: %v", nstest.Attacker2, addr, err)
		}
	}
	// The session from the management address is untouched.
	st, err := g.List(ctx)
	if err != nil {
		t.Fatalf("List after block: %v", err)
	}
	if c := st.Counters["sources:block4"]; c.Packets == 0 {
		t.Errorf("counter sources:block4 = %+v, want the dropped SYNs", c)
	}

	if err := g.Apply(ctx, actions.Batch{Delete: []actions.Element{block}}); err != nil {
		t.Fatalf("Apply delete: %v", err)
	}
	reach(toGateway)
	reach(through)
}

func TestDrift(t *testing.T) {
	tp := newTopology(t)
	s := startSSHD(t, tp)
	g := runGateway(t, testConfig(tp, s))
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		nft     []string // run in the gateway namespace behind our back
		present bool
		missing []string
	}{
		{"rule deleted", []string{"flush", "chain", "inet", "phantomsoc", "input"}, true,
			[]string{"rule input:isolate4", "chain input with 7 rules (has 0)"}},
		{"management address removed", []string{"delete", "element", "inet", "phantomsoc", "mgmt4", "{ " + nstest.Mgmt + " }"}, true,
			[]string{"element mgmt4 " + nstest.Mgmt + "/32"}},
		{"ruleset flushed", []string{"flush", "ruleset"}, false,
			[]string{"table inet phantomsoc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := g.Rebuild(ctx, roundTripElements()); err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			nftIn(t, tp, tc.nft...)
			st, err := g.List(ctx)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if st.Present != tc.present || st.Intact {
				t.Errorf("List: Present %v Intact %v, want Present %v and not intact", st.Present, st.Intact, tc.present)
			}
			for _, m := range tc.missing {
				if !slices.Contains(st.Missing, m) {
					t.Errorf("Missing = %q, want it to name %q", st.Missing, m)
				}
			}
		})
	}
}

func execOut(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
