package main

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check a config file or print the effective configuration"}
	check := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a config file; every error names file:line:col and the field",
		Example: `  phantomsoc config check /etc/phantomsoc.yaml
  phantomsoc --config /etc/phantomsoc.yaml config check`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := g.config
			if len(args) == 1 {
				path = args[0]
			}
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			if _, err := buildStages(&cfg, nil, nil); err != nil {
				return err
			}
			if path == "" {
				path = "embedded defaults"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%d sources, %d assets, %d gateways)\n", path, len(cfg.Sources), len(cfg.Enrich.Assets), len(cfg.Enforcement.Gateways))
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (embedded defaults overlaid with --config) as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.config)
			if err != nil {
				return err
			}
			out, err := yaml.Marshal(cfg)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.AddCommand(check, show)
	return cmd
}
