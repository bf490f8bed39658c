package main

import (
	"bufio"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/phantomsoc/phantomsoc/engine/synth"
)

func newSynthCmd(g *globals) *cobra.Command {
	o := synth.DefaultOptions()
	var out string
	var days float64
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Write a deterministic synthetic sshd auth log (documentation addresses only)",
		Long: `synth writes a realistic OpenSSH auth log with fast, slow and distributed
brute force, user enumeration, scanners, a compromise after failures and
legitimate users with typos. Every address is a documentation address
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). The same seed
gives the same bytes. It feeds ` + "`phantomsoc bench`" + ` and the bundled demo.`,
		Example: `  phantomsoc synth --lines 200000 --out /tmp/auth.log
  phantomsoc synth --days 2 | phantomsoc replay -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Duration = time.Duration(days * float64(24*time.Hour))
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			truth, err := synth.Generate(bw, o)
			if err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if out != "" && out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d lines to %s\n", truth.Lines, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "-", "file to write (- for stdout)")
	cmd.Flags().IntVar(&o.Lines, "lines", 0, "exactly this many lines (scales the attack mix); 0: as many as the mix makes")
	cmd.Flags().Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	cmd.Flags().Float64Var(&days, "days", 7, "days the log covers")
	cmd.Flags().StringVar(&o.Host, "host", o.Host, "syslog host name")
	return cmd
}
