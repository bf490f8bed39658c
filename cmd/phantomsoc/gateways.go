package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/actions"
)

func newGatewaysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateways",
		Short: "List, inspect, test and add the gateways decisions are enforced on",
		Long: `A gateway is a firewall phantomsoc drives: "local" speaks netlink to this
host's kernel (or a named network namespace), "ssh" feeds nft batches to a
remote host over one verified SSH connection. Each holds one table,
inet phantomsoc, and nothing else of its ruleset is touched.`,
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "Each gateway: reachable, nft version, table present, element counts, drift",
		Example: "  phantomsoc gateways list --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return gatewayStatus(cmd.Context(), cmd.OutOrStdout(), g, "", false)
		},
	}
	show := &cobra.Command{
		Use:     "show NAME",
		Short:   "One gateway in detail, with per-rule drop counters",
		Example: "  phantomsoc gateways show edge1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return gatewayStatus(cmd.Context(), cmd.OutOrStdout(), g, args[0], true)
		},
	}
	test := &cobra.Command{
		Use:   "test [NAME]",
		Short: "Check that each gateway (or NAME) answers and holds an intact table; exit 1 if not",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return gatewayTest(cmd.Context(), cmd.OutOrStdout(), g, name)
		},
	}
	cmd.AddCommand(list, show, test, newGatewaysAddCmd(g))
	return cmd
}

func gatewayStatus(ctx context.Context, w io.Writer, g *globals, name string, detail bool) error {
	return withEnforcer(ctx, g, true, io.Discard, func(e enforcer) error {
		sts, err := e.Status(ctx, name)
		if err != nil {
			return err
		}
		if g.output == outputJSON {
			for _, s := range sts {
				if err := writeJSON(w, s); err != nil {
					return err
				}
			}
			return nil
		}
		if len(sts) == 0 {
			fmt.Fprintln(w, "no gateways configured (enforcement.gateways in --config)")
			return nil
		}
		tw := newTable(w)
		fmt.Fprintln(tw, "NAME\tUP\tVERSION\tTABLE\tELEMENTS\tMISSING\tSTRAY\tSESSION\tERROR")
		for _, s := range sts {
			n := 0
			for _, c := range s.Elements {
				n += c
			}
			table := "absent"
			switch {
			case s.Table && s.Intact:
				table = "intact"
			case s.Table:
				table = "damaged"
			}
			fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Up, s.Version, table, n, s.MissingElements, s.Stray, s.Session, s.Error)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if !detail {
			return nil
		}
		for _, s := range sts {
			if len(s.Missing) > 0 {
				fmt.Fprintf(w, "\nmissing from the table: %s\n", strings.Join(s.Missing, ", "))
			}
			sets := make([]string, 0, len(s.Elements))
			for k := range s.Elements {
				sets = append(sets, k)
			}
			sort.Strings(sets)
			fmt.Fprintln(w, "\nSET\tELEMENTS")
			for _, k := range sets {
				fmt.Fprintf(w, "%s\t%d\n", k, s.Elements[k])
			}
			rules := make([]string, 0, len(s.Counters))
			for k := range s.Counters {
				rules = append(rules, k)
			}
			sort.Strings(rules)
			tw := newTable(w)
			fmt.Fprintln(tw, "\nRULE\tPACKETS\tBYTES")
			for _, k := range rules {
				fmt.Fprintf(tw, "%s\t%d\t%d\n", k, s.Counters[k].Packets, s.Counters[k].Bytes)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		return nil
	})
}

// errGatewayUnhealthy makes `gateways test` exit non-zero.
var errGatewayUnhealthy = errors.New("a gateway is unreachable or its table is not intact")

func gatewayTest(ctx context.Context, w io.Writer, g *globals, name string) error {
	return withEnforcer(ctx, g, true, io.Discard, func(e enforcer) error {
		sts, err := e.Status(ctx, name)
		if err != nil {
			return err
		}
		bad := false
		for _, s := range sts {
			verdict := "ok"
			switch {
			case !s.Up:
				verdict, bad = "unreachable: "+s.Error, true
			case !s.Table:
				verdict, bad = "reachable; table absent (the daemon creates it on start)", true
			case !s.Intact:
				verdict, bad = "reachable; table damaged: missing "+strings.Join(s.Missing, ", "), true
			}
			if g.output == outputJSON {
				if err := writeJSON(w, map[string]any{"name": s.Name, "ok": verdict == "ok", "verdict": verdict}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(w, "%s: %s\n", s.Name, verdict)
		}
		if bad {
			return errGatewayUnhealthy
		}
		return nil
	})
}

func newGatewaysAddCmd(g *globals) *cobra.Command {
	var gc actions.GatewayConfig
	var mgmt []string
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a gateway to the --config file (validated first; the file is rewritten only if all of it still loads)",
		Example: "  phantomsoc --config /etc/phantomsoc.yaml gateways add edge1 --type ssh --address 203.0.113.1:22 \\\n" +
			"      --user root --known-hosts /etc/phantomsoc/known_hosts --key-file /etc/phantomsoc/id_ed25519",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gc.Name, gc.Management = args[0], mgmt
			return addGateway(cmd.OutOrStdout(), g.config, gc)
		},
	}
	cmd.Flags().StringVar(&gc.Type, "type", actions.GatewaySSH, "local or ssh")
	cmd.Flags().StringVar(&gc.NetNS, "netns", "", "local: a named network namespace")
	cmd.Flags().StringVar(&gc.Address, "address", "", "ssh: host:port")
	cmd.Flags().StringVar(&gc.User, "user", "root", "ssh: user")
	cmd.Flags().StringVar(&gc.KnownHosts, "known-hosts", "", "ssh: known_hosts file holding the gateway's host key")
	cmd.Flags().StringVar(&gc.KeyFile, "key-file", "", "ssh: private key (default: the SSH agent)")
	cmd.Flags().BoolVar(&gc.Sudo, "sudo", false, "ssh: run nft through sudo -n")
	cmd.Flags().StringSliceVar(&mgmt, "management", nil, "the gateway's management addresses (never acted on)")
	return cmd
}

// addGateway appends gc to enforcement.gateways of the config file. The file
// is decoded, changed and re-encoded; comments do not survive, so the old
// file is kept next to it as .bak.
func addGateway(w io.Writer, path string, gc actions.GatewayConfig) error {
	if path == "" {
		return errors.New("gateways add needs --config FILE: the gateway is written there")
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var doc map[string]any
	if len(data) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if doc == nil {
		doc = map[string]any{}
	}
	enf, _ := doc["enforcement"].(map[string]any)
	if enf == nil {
		enf = map[string]any{}
	}
	list, _ := enf["gateways"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["name"] == gc.Name {
			return fmt.Errorf("%s: gateway %q already exists", path, gc.Name)
		}
	}
	entry := map[string]any{"name": gc.Name, "type": gc.Type}
	for k, v := range map[string]string{"netns": gc.NetNS, "address": gc.Address, "user": gc.User, "known_hosts": gc.KnownHosts, "key_file": gc.KeyFile} {
		if v != "" && (gc.Type == actions.GatewaySSH || k == "netns") {
			entry[k] = v
		}
	}
	if gc.Sudo {
		entry["sudo"] = true
	}
	if len(gc.Management) > 0 {
		entry["management"] = slices.Clone(gc.Management)
	}
	enf["gateways"] = append(list, entry)
	doc["enforcement"] = enf
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	// The new file must load as a whole before it replaces the old one.
	base, err := defaultConfig()
	if err != nil {
		return err
	}
	if _, err := decodeConfig(out, path, base); err != nil {
		return fmt.Errorf("gateway %s not added: %w", gc.Name, err)
	}
	if len(data) > 0 {
		if err := os.WriteFile(path+".bak", data, 0o600); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(w, "added gateway %s to %s", gc.Name, path)
	if len(data) > 0 {
		fmt.Fprintf(w, " (previous file kept as %s.bak)", path)
	}
	fmt.Fprintln(w)
	return nil
}
