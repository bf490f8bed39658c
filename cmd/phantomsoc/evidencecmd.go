package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/actions"
	"github.com/phantomsoc/phantomsoc/actions/sshgw"
	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/engine/enrich"
	"github.com/phantomsoc/phantomsoc/evidence"
	"github.com/phantomsoc/phantomsoc/store"
)

var (
	_ evidence.Index   = (*store.DB)(nil)
	_ evidence.History = (*store.DB)(nil)
	_ evidence.Runner  = (*sshgw.Gateway)(nil)
)

// errEvidenceBroken makes `evidence verify` exit non-zero.
var errEvidenceBroken = errors.New("evidence verification failed")

func newEvidenceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Collect, list, export and verify evidence with its chain of custody",
		Long: `Evidence items are content-addressed: each is stored once under its SHA-256
in a read-only blob directory next to the database (<db>.evidence/), indexed in
the database with who took it, when, from where and how (file, inode and byte
offsets; the command line; the capture filter), and registered in the audit
chain in the same transaction. Types: ` + strings.Join(engine.EvidenceTypes(), ", ") + `.

Commands run with fixed argument vectors built only from validated values
(addresses, prefixes, ports, interface and user names), locally or on an SSH
gateway from --config; nothing typed here reaches a shell.

While a daemon or console owns the database, every command goes through it:
it collects with its own gateway connections and enricher, and a bundle
passes through its control socket (at most 256 MiB). The collector recorded
in the item and the audit trail is the OS user unless --actor names one.`,
	}
	cmd.AddCommand(newEvidenceCollectCmd(g), newEvidenceListCmd(g), newEvidenceExportCmd(g), newEvidenceVerifyCmd(g))
	return cmd
}

// collectFlags are `evidence collect`'s flags before parsing.
type collectFlags struct {
	req                      evidence.Request
	target, from, to, filter string
	start, end               int64
	duration                 time.Duration
}

func newEvidenceCollectCmd(g *globals) *cobra.Command {
	var f collectFlags
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Collect one evidence item for an incident",
		Example: `  phantomsoc evidence collect --incident in-00000001 --type logs --file /var/log/auth.log --from 2026-11-23T10:00:00Z --to 2026-11-23T10:30:00Z
  phantomsoc evidence collect --incident in-00000001 --type ruleset --gateway edge1 --phase before --ref dc-00000042
  phantomsoc evidence collect --incident in-00000001 --type connections --source 192.0.2.10 --tool conntrack
  phantomsoc evidence collect --incident in-00000001 --type pcap --source 192.0.2.10 --iface eth0 --duration 30s --packets 1000
  phantomsoc evidence collect --incident in-00000001 --type auth-history --user root --user admin --from 24h
  phantomsoc evidence collect --incident in-00000001 --type enrichment --source 192.0.2.10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return evidenceCollect(cmd.Context(), cmd.OutOrStdout(), g, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.req.Incident, "incident", "", "incident ID the item belongs to")
	fs.StringVar(&f.req.Type, "type", "", "evidence type: "+strings.Join(engine.EvidenceTypes(), ", "))
	fs.StringVar(&f.req.Collector, "actor", "", "who collects (recorded in the item and the audit chain); default the OS user")
	fs.StringVar(&f.req.Gateway, "gateway", "", "gateway from --config to run on (ruleset, connections, pcap); default this host")
	fs.StringVar(&f.target, "source", "", "the source address or prefix (connections, pcap, enrichment)")
	fs.StringVar(&f.req.File, "file", "", "log file (logs, auth-history)")
	fs.StringVar(&f.from, "from", "", "window start: RFC 3339 time or a duration back from now (logs, auth-history)")
	fs.StringVar(&f.to, "to", "", "window end: RFC 3339 time or a duration back from now (logs)")
	fs.Int64Var(&f.start, "start", 0, "first byte offset (logs, instead of a window)")
	fs.Int64Var(&f.end, "end", 0, "end byte offset, exclusive; 0 = the size cap (logs)")
	fs.StringSliceVar(&f.req.Users, "user", nil, "user whose authentication history to take (auth-history; repeatable)")
	fs.StringVar(&f.req.Scope, "scope", "table", "ruleset: table (inet phantomsoc) or ruleset (everything)")
	fs.StringVar(&f.req.Phase, "phase", "", "ruleset: before or after the action named by --ref")
	fs.StringVar(&f.req.Ref, "ref", "", "ruleset: the decision or plan the snapshot brackets")
	fs.StringVar(&f.req.Tool, "tool", "ss", "connections: ss or conntrack")
	fs.StringVar(&f.req.Iface, "iface", "any", "pcap: interface to capture on")
	fs.DurationVar(&f.duration, "duration", evidence.DefaultDuration, fmt.Sprintf("pcap: capture length (at most %s)", evidence.MaxCaptureDuration))
	fs.IntVar(&f.req.MaxPackets, "packets", evidence.DefaultPackets, fmt.Sprintf("pcap: packet cap (at most %d)", evidence.MaxCapturePackets))
	fs.Uint16Var(&f.req.Port, "port", 0, "pcap: only this port")
	fs.StringVar(&f.filter, "filter", "", `pcap: "host ADDR" or "net PREFIX", optionally "and port N" (instead of --source/--port)`)
	return cmd
}

// parseWhen reads a time flag: RFC 3339 or a duration back from now.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	t, err := parseSince(s, now)
	if err != nil {
		return t, fmt.Errorf("--%s %q: want an RFC 3339 time or a duration like 30m", flag, s)
	}
	return t, nil
}

// request turns the flags into a validated request.
func (f *collectFlags) request(now time.Time) (evidence.Request, error) {
	r := f.req
	var errs []error
	var err error
	if r.From, err = parseWhen("from", f.from, now); err != nil {
		errs = append(errs, err)
	}
	if r.To, err = parseWhen("to", f.to, now); err != nil {
		errs = append(errs, err)
	}
	r.Start, r.End, r.Duration = f.start, f.end, f.duration
	if r.File != "" {
		// An owning process reads the file from its own working directory.
		if r.File, err = filepath.Abs(r.File); err != nil {
			errs = append(errs, fmt.Errorf("--file: %w", err))
		}
	}
	if f.target != "" {
		if r.Target, err = evidence.ParseTarget(f.target); err != nil {
			errs = append(errs, fmt.Errorf("--source: %w", err))
		}
	}
	if f.filter != "" {
		if f.target != "" || r.Port != 0 {
			errs = append(errs, errors.New("--filter replaces --source and --port: give one or the other"))
		} else if r.Target, r.Port, err = evidence.ParseFilter(f.filter); err != nil {
			errs = append(errs, fmt.Errorf("--filter: %w", err))
		}
	}
	if r.Collector == "" {
		r.Collector = actor()
	}
	return r, errors.Join(errs...)
}

func evidenceCollect(ctx context.Context, w io.Writer, g *globals, f *collectFlags) error {
	req, err := f.request(time.Now())
	if err != nil {
		return err
	}
	path, c, err := owner(ctx, g)
	if err != nil {
		return err
	}
	var it engine.EvidenceItem
	if c != nil {
		it, err = newRemoteEvidence(ctx, c).Collect(req)
	} else {
		it, err = collectLocal(ctx, g, path, req)
	}
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		return writeJSON(w, it)
	}
	fmt.Fprintf(w, "%s %s %d bytes from %s (audit record %d)\n%s\n", it.Type, it.ID, it.Size, it.Source, it.AuditSeq, filepath.Join(evidence.DefaultDir(path), it.ID))
	return nil
}

// collectLocal collects req into the database at path, which no other
// process owns, connecting the gateway it names.
func collectLocal(ctx context.Context, g *globals, path string, req evidence.Request) (engine.EvidenceItem, error) {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return engine.EvidenceItem{}, err
	}
	logger, err := g.logger(io.Discard)
	if err != nil {
		return engine.EvidenceItem{}, err
	}
	opts := evidence.Options{Runners: map[string]evidence.Runner{}}
	if req.Gateway != "" {
		run, stop, err := evidenceRunner(ctx, &cfg, req.Gateway, logger)
		if err != nil {
			return engine.EvidenceItem{}, err
		}
		defer stop()
		opts.Runners[req.Gateway] = run
	}
	if req.Type == engine.EvidenceEnrichment {
		enr, err := enrich.New(cfg.Enrich)
		if err != nil {
			return engine.EvidenceItem{}, fmt.Errorf("enrichment: %w", err)
		}
		defer enr.Close()
		opts.Enricher = enr
	}
	for _, s := range cfg.Sources {
		if s.Type == "file" && opts.LogFile == "" {
			opts.LogFile = s.Path
		}
	}
	var it engine.EvidenceItem
	err = openEvidence(path, store.Options{Logger: logger}, func(db *store.DB, blobs *evidence.Blobs) error {
		opts.History = db
		c, err := evidence.New(blobs, db, opts)
		if err != nil {
			return err
		}
		it, err = c.Collect(ctx, req)
		return err
	})
	return it, err
}

// evidenceRunner connects the named gateway of cfg for evidence commands;
// stop disconnects it.
func evidenceRunner(ctx context.Context, cfg *Config, name string, logger *slog.Logger) (run evidence.Runner, stop func(), err error) {
	var gc *actions.GatewayConfig
	for i := range cfg.Enforcement.Gateways {
		if cfg.Enforcement.Gateways[i].Name == name {
			gc = &cfg.Enforcement.Gateways[i]
		}
	}
	if gc == nil {
		return nil, nil, fmt.Errorf("--gateway %q: no such gateway in enforcement.gateways", name)
	}
	if gc.Type == actions.GatewayLocal {
		return evidence.Local{Netns: gc.NetNS}, func() {}, nil
	}
	layout, err := cfg.Enforcement.Layout()
	if err != nil {
		return nil, nil, fmt.Errorf("enforcement: %w", err)
	}
	gw, err := sshgw.New(sshgw.Config{Name: gc.Name, Addr: gc.Address, User: gc.User, KnownHosts: gc.KnownHosts, KeyFile: gc.KeyFile, Sudo: gc.Sudo}, layout, logger)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gw.Run(runCtx)
	}()
	stop = func() {
		cancel()
		gw.Close()
		<-done
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		changed := gw.Changed()
		if gw.Up() {
			return gw, stop, nil
		}
		if err := gw.LastError(); errors.Is(err, sshgw.ErrHostKey) {
			stop()
			return nil, nil, err
		}
		select {
		case <-changed:
		case <-deadline.C:
			err := gw.LastError()
			stop()
			return nil, nil, fmt.Errorf("gateway %s: not reachable within 30s: %w", name, err)
		case <-ctx.Done():
			stop()
			return nil, nil, ctx.Err()
		}
	}
}

// openEvidence opens the store at path and the blob directory beside it.
func openEvidence(path string, o store.Options, fn func(db *store.DB, blobs *evidence.Blobs) error) error {
	db, err := openStore(path, o)
	if err != nil {
		return err
	}
	defer db.Close()
	blobs, err := evidence.OpenBlobs(evidence.DefaultDir(path))
	if err != nil {
		return err
	}
	return fn(db, blobs)
}

func newEvidenceListCmd(g *globals) *cobra.Command {
	var incident string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List evidence items, oldest first",
		Example: "  phantomsoc evidence list --incident in-00000001 --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return evidenceList(cmd.Context(), cmd.OutOrStdout(), g, incident)
		},
	}
	cmd.Flags().StringVar(&incident, "incident", "", "only this incident's items")
	return cmd
}

func evidenceList(ctx context.Context, w io.Writer, g *globals, incident string) error {
	return withEvidence(ctx, g, func(ops evidenceOps) error {
		items, err := ops.List(store.EvidenceQuery{Incident: incident})
		if err != nil {
			return err
		}
		if g.output == outputJSON {
			for _, it := range items {
				if err := writeJSON(w, it); err != nil {
					return err
				}
			}
			return nil
		}
		tw := newTable(w)
		fmt.Fprintln(tw, "COLLECTED\tINCIDENT\tTYPE\tSHA256\tSIZE\tSOURCE\tCOLLECTOR\tAUDIT")
		for _, it := range items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.16s\t%d\t%s\t%s\t%d\n", it.Collected.Format(time.RFC3339), it.Incident, it.Type, it.ID, it.Size, it.Source, it.Collector, it.AuditSeq)
		}
		return tw.Flush()
	})
}

func newEvidenceExportCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "export INCIDENT",
		Short:   "Write an incident's evidence as a tar.gz bundle with a manifest of hashes",
		Example: "  phantomsoc evidence export in-00000001 -o in-00000001.tar.gz",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return evidenceExport(cmd.Context(), cmd.OutOrStdout(), g, args[0], out)
		},
	}
	// -o names the bundle here, as it does for tar; the listing format
	// has nothing to choose for a file.
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle file (default INCIDENT-evidence.tar.gz)")
	return cmd
}

func evidenceExport(ctx context.Context, w io.Writer, g *globals, incident, out string) error {
	if out == "" || out == outputTable || out == outputJSON {
		out = incident + "-evidence.tar.gz"
	}
	return withEvidence(ctx, g, func(ops evidenceOps) error {
		tmp, err := os.CreateTemp(filepath.Dir(out), ".evidence-*.tar.gz")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(tmp.Name())
		n, err := ops.Export(tmp, incident)
		if err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return fmt.Errorf("export: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(w, "%s: %d items\n", out, n)
		return nil
	})
}

func newEvidenceVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify FILE|INCIDENT",
		Short: "Recompute every hash of a bundle or of an incident's stored evidence; exit 1 on any mismatch",
		Long: `verify FILE checks an exported bundle: the manifest against its recorded hash,
each item's custody record against its digest, and each content's SHA-256 and
size; when the database is at hand, or a daemon or console that owns it
answers, each item is also checked against its audit record. verify INCIDENT
checks the stored items and their audit records, and the audit chain itself.`,
		Example: "  phantomsoc evidence verify in-00000001-evidence.tar.gz\n  phantomsoc evidence verify in-00000001",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return evidenceVerify(cmd.Context(), cmd.OutOrStdout(), g, args[0])
		},
	}
}

func evidenceVerify(ctx context.Context, w io.Writer, g *globals, arg string) error {
	var rep evidence.Report
	if fi, err := os.Stat(arg); err == nil && fi.Mode().IsRegular() {
		f, err := os.Open(arg)
		if err != nil {
			return err
		}
		defer f.Close()
		// The audit anchor is optional for a bundle: it travels to
		// places without the database.
		var audit evidence.AuditLookup
		if path, c, err := owner(ctx, g); c != nil {
			audit = newRemoteEvidence(ctx, c).Audit()
		} else if err == nil {
			if _, err := os.Stat(path); err == nil {
				if db, err := store.Open(path, store.Options{ReadOnly: true}); err == nil {
					defer db.Close()
					audit = localEvidence{db: db}.Audit()
				}
			}
		}
		if rep, err = evidence.VerifyBundle(f, audit); err != nil {
			return fmt.Errorf("%s: %w", arg, err)
		}
	} else {
		err := withEvidence(ctx, g, func(ops evidenceOps) error {
			var err error
			rep, err = ops.Verify(arg)
			return err
		})
		if err != nil {
			return err
		}
	}
	if g.output == outputJSON {
		if err := writeJSON(w, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "FAIL %s: %s\n", p.Where, p.What)
		}
		anchor := "without the audit chain (no database at hand)"
		if rep.Audit {
			anchor = "against the audit chain"
		}
		verdict := "ok"
		if !rep.OK {
			verdict = fmt.Sprintf("%d problems", len(rep.Problems))
		}
		fmt.Fprintf(w, "%s: %d of %d items checked %s: %s\n", arg, rep.Checked, rep.Items, anchor, verdict)
	}
	if !rep.OK {
		return errEvidenceBroken
	}
	return nil
}
