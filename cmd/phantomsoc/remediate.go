package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/control"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// enforcer is what the remediation commands need: the Enforcer in this
// process, or the one in the process owning the database.
type enforcer interface {
	Submit(ctx context.Context, r actions.Request) (actions.Result, error)
	Rollback(ctx context.Context, id, actor string) (actions.Result, error)
	Unblock(ctx context.Context, target, actor string) ([]actions.Result, error)
	Approve(ctx context.Context, id, actor string) (actions.Result, error)
	ApproveEdited(ctx context.Context, id string, ed actions.Edit, actor string) (actions.Result, error)
	Status(ctx context.Context, name string) ([]actions.GatewayStatus, error)
	Reject(ctx context.Context, id, reason, actor string) (actions.Result, error)
	Preview(ctx context.Context, id string) (string, error)
	Health() []actions.Health
	Drops(ctx context.Context) ([]actions.Drops, error)
	Extend(ctx context.Context, id string, by time.Duration, actor string) (actions.Result, error)
}

var _ enforcer = (*actions.Enforcer)(nil)

type idCall struct {
	ID     string        `json:"id"`
	Actor  string        `json:"actor"`
	Reason string        `json:"reason,omitempty"`
	By     time.Duration `json:"by,omitempty"`
	Edit   actions.Edit  `json:"edit,omitzero"`
}

// serveEnforcer exposes enf on the control socket.
func serveEnforcer(srv *control.Server, enf *actions.Enforcer) {
	ctx := context.Background()
	srv.Handle("submit", func(args []byte) (any, error) {
		var r actions.Request
		if err := json.Unmarshal(args, &r); err != nil {
			return nil, err
		}
		return enf.Submit(ctx, r)
	})
	srv.Handle("rollback", func(args []byte) (any, error) {
		var c idCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return enf.Rollback(ctx, c.ID, c.Actor)
	})
	srv.Handle("unblock", func(args []byte) (any, error) {
		var c idCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return enf.Unblock(ctx, c.ID, c.Actor)
	})
	srv.Handle("approve", func(args []byte) (any, error) {
		var c idCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return enf.ApproveEdited(ctx, c.ID, c.Edit, c.Actor)
	})
	srv.Handle("reject", func(args []byte) (any, error) {
		var c idCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return enf.Reject(ctx, c.ID, c.Reason, c.Actor)
	})
	srv.Handle("preview", func(args []byte) (any, error) {
		var id string
		if err := json.Unmarshal(args, &id); err != nil {
			return nil, err
		}
		return enf.Preview(ctx, id)
	})
	srv.Handle("health", func([]byte) (any, error) { return enf.Health(), nil })
	srv.Handle("drops", func([]byte) (any, error) { return enf.Drops(ctx) })
	srv.Handle("extend", func(args []byte) (any, error) {
		var c idCall
		if err := json.Unmarshal(args, &c); err != nil {
			return nil, err
		}
		return enf.Extend(ctx, c.ID, c.By, c.Actor)
	})
	srv.Handle("gateways", func(args []byte) (any, error) {
		var name string
		if err := json.Unmarshal(args, &name); err != nil {
			return nil, err
		}
		return enf.Status(ctx, name)
	})
}

// remoteEnforcer calls the owning process.
type remoteEnforcer struct{ c *control.Client }

// The remote side reports an error as text; a partial result (a plan that
// failed after the decision was recorded) is not returned across the socket.
func (r remoteEnforcer) Submit(ctx context.Context, req actions.Request) (out actions.Result, err error) {
	return out, r.c.Call(ctx, "submit", req, &out)
}
func (r remoteEnforcer) Rollback(ctx context.Context, id, actor string) (out actions.Result, err error) {
	return out, r.c.Call(ctx, "rollback", idCall{ID: id, Actor: actor}, &out)
}
func (r remoteEnforcer) Unblock(ctx context.Context, target, actor string) (out []actions.Result, err error) {
	return out, r.c.Call(ctx, "unblock", idCall{ID: target, Actor: actor}, &out)
}
func (r remoteEnforcer) Approve(ctx context.Context, id, actor string) (out actions.Result, err error) {
	return out, r.c.Call(ctx, "approve", idCall{ID: id, Actor: actor}, &out)
}
func (r remoteEnforcer) Reject(ctx context.Context, id, reason, actor string) (out actions.Result, err error) {
	return out, r.c.Call(ctx, "reject", idCall{ID: id, Actor: actor, Reason: reason}, &out)
}
func (r remoteEnforcer) ApproveEdited(ctx context.Context, id string, ed actions.Edit, actor string) (out actions.Result, err error) {
	return out, r.c.Call(ctx, "approve", idCall{ID: id, Actor: actor, Edit: ed}, &out)
}
func (r remoteEnforcer) Extend(ctx context.Context, id string, by time.Duration, actor string) (out actions.Result, err error) {
	return out, r.c.Call(ctx, "extend", idCall{ID: id, Actor: actor, By: by}, &out)
}
func (r remoteEnforcer) Preview(ctx context.Context, id string) (out string, err error) {
	return out, r.c.Call(ctx, "preview", id, &out)
}

// Health asks the owner; an unreachable owner reports no gateways (the
// console shows the connection error itself).
func (r remoteEnforcer) Health() []actions.Health {
	var out []actions.Health
	_ = r.c.Call(context.Background(), "health", nil, &out)
	return out
}
func (r remoteEnforcer) Drops(ctx context.Context) (out []actions.Drops, err error) {
	return out, r.c.Call(ctx, "drops", nil, &out)
}
func (r remoteEnforcer) Status(ctx context.Context, name string) (out []actions.GatewayStatus, err error) {
	return out, r.c.Call(ctx, "gateways", name, &out)
}

// withEnforcer runs fn against the owning process's Enforcer when one
// answers on the control socket, else against one built here on the
// database (opened read-write) and the configured gateways.
func withEnforcer(ctx context.Context, g *globals, dryRun bool, stdout io.Writer, fn func(enforcer) error) error {
	path, err := g.resolveDB()
	if err != nil {
		return err
	}
	c := control.NewClient(socketPath(path))
	if _, err := c.Status(ctx); err == nil {
		return fn(remoteEnforcer{c: c})
	} else if !errors.Is(err, control.ErrNotRunning) {
		return err
	}
	if !g.logLevelSet {
		// A one-shot command's output is its result; lifecycle logs
		// (store opened, gateway up) would bury it.
		g.logLevel = "warn"
	}
	logger, err := g.logger(os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(g.config)
	if err != nil {
		return err
	}
	db, err := openStore(path, store.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer db.Close()
	enf, err := buildEnforcement(&cfg, db, cfg.DryRun || dryRun, stdout, logger)
	if err != nil {
		return err
	}
	defer enf.Close()
	if enf.rulesets != nil {
		col, err := liveCollector(&cfg, playbookDeps{db: db, enf: enf, dbPath: path})
		if err != nil {
			return err
		}
		enf.recordRulesets(col)
	}
	// No daemon holds the incidents: an approval here contains its
	// incident through a manager of this command's own.
	incidents, err := buildIncidents(&cfg, db, logger)
	if err != nil {
		return err
	}
	enf.followIncidents(incidents)
	if err := enf.enf.Load(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, s := range enf.ssh {
		wg.Go(func() { _ = s.Run(ctx) })
	}
	// Give SSH gateways a moment to connect: one that does not stays
	// pending and is applied by the daemon's reconcile loop.
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range enf.ssh {
		for !s.Up() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return fn(enf.enf)
}

// actor names the person running the command in audit records.
func actor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := os.Getenv("SSH_CONNECTION"); s != "" {
		if f := strings.Fields(s); len(f) > 0 {
			name += "@" + f[0]
		}
	}
	return "cli:" + name
}

// remediateFlags are the flags every remediation command shares.
type remediateFlags struct {
	ttl       time.Duration
	permanent bool
	gateways  []string
	reason    string
	force     bool
	dryRun    bool
}

func (f *remediateFlags) add(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.ttl, "ttl", 4*time.Hour, "how long the kernel keeps it (it expires even if phantomsoc is down)")
	cmd.Flags().BoolVar(&f.permanent, "permanent", false, "no TTL: stays until rolled back")
	cmd.Flags().StringSliceVar(&f.gateways, "gateway", nil, "gateway name(s), or all (default all)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why, for the audit trail")
	cmd.Flags().BoolVar(&f.force, "force", false, "allow a range wider than enforcement.min_prefix_v4/v6 (never a protected address)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the exact nft batch per gateway and apply nothing")
}

func (f *remediateFlags) request(typ, target string) actions.Request {
	r := actions.Request{Actor: actor(), Type: typ, Target: target, TTL: f.ttl, Permanent: f.permanent,
		Gateways: f.gateways, Reason: f.reason, Force: f.force, DryRun: f.dryRun}
	if f.permanent {
		r.TTL = 0
	}
	return r
}

func newBlockCmd(g *globals) *cobra.Command {
	var f remediateFlags
	cmd := &cobra.Command{
		Use:   "block ADDR|CIDR",
		Short: "Drop all traffic from an address or CIDR on every gateway, for a TTL",
		Long: `block adds the address or CIDR to the block set of phantomsoc's nftables
table on each gateway (all, or --gateway), with the TTL as the element's
kernel timeout. Blocking again refreshes the timeout. The allowlist,
loopback, management addresses and the administering SSH session are never
blocked; ranges wider than a /16 (IPv4) or /32 (IPv6) need --force. While a
daemon or console owns the database the command goes through it.`,
		Example: "  phantomsoc block 203.0.113.7 --ttl 4h --reason 'ssh brute force'\n  phantomsoc block 198.51.100.0/24 --gateway edge1 --dry-run",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return submit(cmd.Context(), cmd.OutOrStdout(), g, f.request(engine.ActionBlock, args[0]))
		},
	}
	f.add(cmd)
	return cmd
}

func newRemediateCmd(g *globals) *cobra.Command {
	var f remediateFlags
	var port, iface string
	cmd := &cobra.Command{
		Use:   "remediate TYPE [TARGET]",
		Short: "Apply any remediation type: block, rate-limit, firewall-rule, isolate, quarantine, tunnel",
		Long: `remediate applies one of the six remediation types, each with a TTL and an
exact inverse (decisions rollback ID):

  block          drop traffic from TARGET (address or CIDR)
  rate-limit     drop TARGET's new connections over enforcement.rate_limit
  firewall-rule  close --port PROTO/PORT for TARGET, or for everyone without TARGET
  isolate        cut internal host TARGET off; management addresses still reach it
  quarantine     internal host TARGET may reach only enforcement.quarantine_allow
  tunnel         cut tunnel peer TARGET on interface --iface`,
		Example: "  phantomsoc remediate firewall-rule --port tcp/2222 --ttl 1h\n  phantomsoc remediate isolate 198.51.100.10 --ttl 30m\n  phantomsoc remediate tunnel 192.0.2.44 --iface wg0",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := ""
			if len(args) == 2 {
				target = args[1]
			}
			r := f.request(args[0], target)
			r.Port, r.Iface = port, iface
			return submit(cmd.Context(), cmd.OutOrStdout(), g, r)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&port, "port", "", "PROTO/PORT of a firewall rule, e.g. tcp/2222")
	cmd.Flags().StringVar(&iface, "iface", "", "tunnel interface")
	return cmd
}

func submit(ctx context.Context, w io.Writer, g *globals, r actions.Request) error {
	return withEnforcer(ctx, g, r.DryRun, w, func(e enforcer) error {
		res, err := e.Submit(ctx, r)
		if err != nil && res.Decision.ID == "" {
			return err
		}
		if perr := printResults(w, g, []actions.Result{res}); perr != nil {
			return perr
		}
		return err
	})
}

func printResults(w io.Writer, g *globals, rs []actions.Result) error {
	if g.output == outputJSON {
		enc := json.NewEncoder(w)
		for _, r := range rs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range rs {
		d := r.Decision
		if r.Script != "" {
			fmt.Fprintf(w, "dry run: %s %s, nothing applied; the batch:\n%s", d.Action, d.TargetString(), r.Script)
			continue
		}
		ttl := "permanent"
		if !d.Expires.IsZero() {
			ttl = d.TTL.String()
		}
		fmt.Fprintf(w, "%s  %s %s  %s  ttl %s\n", d.ID, d.Action, targetOrEveryone(&d), d.State, ttl)
		for _, e := range r.Enforcements {
			fmt.Fprintf(w, "  %-12s %s", e.Gateway, e.State)
			if e.Error != "" {
				fmt.Fprintf(w, "  (%s)", e.Error)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func targetOrEveryone(d *engine.Decision) string {
	s := d.TargetString()
	if s == "" {
		s = "everyone"
	}
	if d.Port != 0 {
		s += fmt.Sprintf(" %s/%d", d.Proto, d.Port)
	}
	if d.Iface != "" {
		s += " on " + d.Iface
	}
	return s
}

func newUnblockCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "unblock ADDR|CIDR",
		Short:   "Roll back every active block of exactly this address or CIDR",
		Example: "  phantomsoc unblock 203.0.113.7",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withEnforcer(ctx, g, false, w, func(e enforcer) error {
				rs, err := e.Unblock(ctx, args[0], actor())
				if perr := printResults(w, g, rs); perr != nil {
					return perr
				}
				return err
			})
		},
	}
}

func newRollbackCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rollback ID",
		Short:   "Remove a decision from every gateway before its TTL ends",
		Example: "  phantomsoc decisions rollback de-00000042",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withEnforcer(ctx, g, false, w, func(e enforcer) error {
				r, err := e.Rollback(ctx, args[0], actor())
				if err != nil && r.Decision.ID == "" {
					return err
				}
				return errors.Join(printResults(w, g, []actions.Result{r}), err)
			})
		},
	}
}

func newApproveCmd(g *globals) *cobra.Command {
	var ed actions.Edit
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "Apply a pending decision, optionally with a shorter TTL or fewer gateways",
		Example: "  phantomsoc decisions approve de-00000042\n" +
			"  phantomsoc decisions approve de-00000042 --ttl 1h --gateway edge1",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withEnforcer(ctx, g, false, w, func(e enforcer) error {
				r, err := e.ApproveEdited(ctx, args[0], ed, actor())
				if err != nil && r.Decision.ID == "" {
					return err
				}
				return errors.Join(printResults(w, g, []actions.Result{r}), err)
			})
		},
	}
	cmd.Flags().DurationVar(&ed.TTL, "ttl", 0, "apply for this long from now instead of the proposed TTL")
	cmd.Flags().StringSliceVar(&ed.Gateways, "gateway", nil, "apply only on these gateways")
	return cmd
}

func newExtendCmd(g *globals) *cobra.Command {
	var by time.Duration
	cmd := &cobra.Command{
		Use:     "extend ID",
		Short:   "Lengthen an active decision; its kernel timeouts are refreshed on every gateway",
		Example: "  phantomsoc decisions extend dm-00000007 --by 12h",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			return withEnforcer(ctx, g, false, w, func(e enforcer) error {
				r, err := e.Extend(ctx, args[0], by, actor())
				if err != nil && r.Decision.ID == "" {
					return err
				}
				return errors.Join(printResults(w, g, []actions.Result{r}), err)
			})
		},
	}
	cmd.Flags().DurationVar(&by, "by", 4*time.Hour, "how much longer, from the current expiry")
	return cmd
}
