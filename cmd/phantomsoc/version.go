package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

// buildInfo is what the release build injects.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd.OutOrStdout(), g)
		},
	}
}

func runVersion(w io.Writer, g *globals) error {
	info := g.info
	info.Go = runtime.Version()
	if g.output == outputJSON {
		return writeJSON(w, info)
	}
	_, err := fmt.Fprintf(w, "phantomsoc %s (commit %s, built %s, %s)\n", info.Version, info.Commit, info.Date, info.Go)
	return err
}
