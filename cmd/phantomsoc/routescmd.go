package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine/route"
)

func newRoutesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "Show the alert routing tree, or test which receivers an alert would reach",
		Long: `routes reads the routing: section of the config. An alert's labels are
scenario, severity, risk, confidence, source (or prefixes), host, asset,
role, criticality, exposure, owner, gateway, country, asn and org, plus the
scenario's own labels.`,
	}
	show := &cobra.Command{
		Use:     "show",
		Short:   "Print the routing tree",
		Example: "  phantomsoc --config /etc/phantomsoc.yaml routes show",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := loadRouter(g)
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), r.Tree())
			return err
		},
	}
	var labels []string
	test := &cobra.Command{
		Use:   "test --label k=v …",
		Short: "Print which routes an alert with these labels takes, which receivers it reaches, and why",
		Example: "  phantomsoc routes test --label scenario=ssh-bruteforce --label risk=8.2 --label role=bastion\n" +
			"  phantomsoc routes test --label scenario=ssh-user-enum -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := loadRouter(g)
			if err != nil {
				return err
			}
			ls := map[string]string{}
			for _, l := range labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok || k == "" {
					return fmt.Errorf("--label %q: want NAME=VALUE", l)
				}
				ls[k] = v
			}
			return routesTest(cmd.OutOrStdout(), g, r, ls)
		},
	}
	test.Flags().StringArrayVar(&labels, "label", nil, "an alert label NAME=VALUE (repeatable)")
	cmd.AddCommand(show, test)
	return cmd
}

func loadRouter(g *globals) (*route.Router, error) {
	cfg, err := loadConfig(g.config)
	if err != nil {
		return nil, err
	}
	if !cfg.routingConfigured() {
		return nil, errors.New("no routing: section in the config (see `phantomsoc config show` and the example config)")
	}
	return route.New(cfg.Routing)
}

func routesTest(w io.Writer, g *globals, r *route.Router, labels map[string]string) error {
	steps := r.Explain(labels)
	var receivers []string
	seen := map[string]bool{}
	for _, res := range r.Match(labels) {
		for _, rc := range res.Receivers {
			if !seen[rc] {
				seen[rc] = true
				receivers = append(receivers, rc)
			}
		}
	}
	sort.Strings(receivers)
	if g.output == outputJSON {
		return writeJSON(w, struct {
			Labels    map[string]string `json:"labels"`
			Receivers []string          `json:"receivers"`
			Steps     []route.Step      `json:"steps"`
		}{labels, receivers, steps})
	}
	for _, s := range steps {
		mark := "  "
		switch {
		case s.Selected:
			mark = "→ "
		case !s.Tried:
			mark = "- "
		case s.Matched:
			mark = "+ "
		}
		fmt.Fprintf(w, "%s%s%s", mark, strings.Repeat("  ", s.Depth), s.Route)
		if len(s.Receivers) > 0 {
			fmt.Fprintf(w, "  [%s]", strings.Join(s.Receivers, ", "))
		}
		if s.Why != "" {
			fmt.Fprintf(w, "  (%s)", s.Why)
		}
		fmt.Fprintln(w)
	}
	if len(receivers) == 0 {
		fmt.Fprintln(w, "no receiver")
		return nil
	}
	fmt.Fprintf(w, "receivers: %s\n", strings.Join(receivers, ", "))
	return nil
}
