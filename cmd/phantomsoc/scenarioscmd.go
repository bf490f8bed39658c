package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine/detect"
)

func newScenariosCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scenarios", Short: "List and validate detection scenarios"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the scenarios in effect (bundled, overridden and added by scenarios_dir)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.config)
			if err != nil {
				return err
			}
			scs, err := loadScenarios(&cfg)
			if err != nil {
				return err
			}
			return listScenarios(cmd.OutOrStdout(), g, scs)
		},
	}
	validate := &cobra.Command{
		Use:   "validate DIR|FILE...",
		Short: "Check scenario files; errors name file:line:col and the field",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, a := range args {
				scs, err := loadScenarioPath(a)
				if err != nil {
					return err
				}
				if _, err := detect.New(scs, detect.Options{}); err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
				n += len(scs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d scenarios OK\n", n)
			return nil
		},
	}
	cmd.AddCommand(list, validate)
	return cmd
}

type scenarioRow struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"`
	Severity    float64 `json:"severity"`
	Propose     string  `json:"propose"`
	Disabled    bool    `json:"disabled,omitempty"`
	Description string  `json:"description"`
}

func listScenarios(w io.Writer, g *globals, scs []detect.Scenario) error {
	tw := newTable(w)
	if g.output != outputJSON {
		fmt.Fprintln(tw, "NAME\tKIND\tSEVERITY\tPROPOSE\tDESCRIPTION")
	}
	for _, s := range scs {
		row := scenarioRow{Name: s.Name, Kind: s.Kind, Severity: s.Severity, Propose: s.Propose, Disabled: s.Disabled, Description: s.Description}
		if g.output == outputJSON {
			if err := writeJSON(w, row); err != nil {
				return err
			}
			continue
		}
		desc := row.Description
		if row.Disabled {
			desc = "(disabled) " + desc
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\n", row.Name, row.Kind, row.Severity, row.Propose, desc)
	}
	return tw.Flush()
}

// loadScenarioPath loads one scenario file or a directory of them.
func loadScenarioPath(path string) ([]detect.Scenario, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return detect.LoadDir(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return detect.Parse(data, path)
}
