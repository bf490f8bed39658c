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
gives the same bytes. It feeds ` + "`phantomsoc bench`" + ` and the bundled demo.

--repeat writes the log that many times, one period after another, with the
same sources and users coming back each time: the lines grow and the
population does not, which is what shows whether memory stays flat in lines.
The copies end where a single one would, so the last line's year is the same.`,
		Example: `  phantomsoc synth --lines 200000 --out /tmp/auth.log
  phantomsoc synth --days 2 | phantomsoc replay -
  phantomsoc synth --lines 200000 --repeat 5 --out /tmp/auth-5weeks.log`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Duration = time.Duration(days * float64(24*time.Hour))
			o.Start = repeatStart(o.Start, o.Duration, o.Repeat)
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
	cmd.Flags().IntVar(&o.Repeat, "repeat", 1, "write the log this many times, one period after another, same sources")
	cmd.Flags().Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	cmd.Flags().Float64Var(&days, "days", 7, "days the log covers")
	cmd.Flags().StringVar(&o.Host, "host", o.Host, "syslog host name")
	return cmd
}

// repeatStart moves start back so that repeat copies of a period end where
// one would: yearless timestamps then infer the same year for the last line.
func repeatStart(start time.Time, period time.Duration, repeat int) time.Time {
	if repeat <= 1 {
		return start
	}
	return start.Add(-time.Duration(repeat-1) * period)
}
