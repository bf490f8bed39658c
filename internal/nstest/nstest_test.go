package nstest

import (
	"net"
	"testing"
	"time"
)

// TestTopologyForwards checks the topology itself: the attacker reaches the
// gateway and, through it, the internal host, over IPv4 and IPv6.
func TestTopologyForwards(t *testing.T) {
	tp := New(t)
	Listen(t, tp.Gateway, net.JoinHostPort(GatewayOut, "22"))
	Listen(t, tp.Internal, net.JoinHostPort(Internal, "80"))
	Listen(t, tp.Internal, net.JoinHostPort(Internal6, "80"))
	for _, c := range []struct{ local, addr string }{
		{Attacker, net.JoinHostPort(GatewayOut, "22")},
		{Attacker2, net.JoinHostPort(Internal, "80")},
		{Attacker6, net.JoinHostPort(Internal6, "80")},
	} {
		if err := Connect(tp.Attacker, c.local, c.addr, 2*time.Second); err != nil {
			t.Errorf("%s -> %s: %v", c.local, c.addr, err)
		}
	}
}
