package assess

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// Explain renders an assessed alert's scores as plain text, one line per
// factor, for `phantomsoc alerts show ID`. It reads only the alert, so it
// explains stored alerts exactly as they were scored.
func Explain(a engine.Alert) string {
	var b strings.Builder
	id := a.ID
	if id == "" {
		id = "(unsaved)"
	}
	fmt.Fprintf(&b, "alert %s: %s", id, a.Scenario)
	if !a.Time.IsZero() {
		fmt.Fprintf(&b, " at %s", a.Time.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")
	if a.Description != "" {
		fmt.Fprintf(&b, "  %s\n", a.Description)
	}

	fmt.Fprintf(&b, "\nrisk %s/10 = product of:\n", num(a.Risk, 1))
	width := 0
	for _, f := range a.Factors {
		width = max(width, len(f.Name))
	}
	for _, f := range a.Reasons {
		width = max(width, len(f.Name))
	}
	for _, f := range a.Factors {
		v := "×" + num(f.Value, 2)
		switch f.Name {
		case FactorSeverity:
			v = num(f.Value, 1)
		case FactorClamp:
			v = "= " + num(f.Value, 1)
		}
		fmt.Fprintf(&b, "  %-*s %7s  %s\n", width, f.Name, v, f.Why)
	}

	fmt.Fprintf(&b, "\nconfidence %s = sum of:\n", num(a.Confidence, 2))
	for _, f := range a.Reasons {
		v := signed(f.Value)
		if f.Name == ReasonBase {
			v = num(f.Value, 2)
		}
		fmt.Fprintf(&b, "  %-*s %7s  %s\n", width, f.Name, v, f.Why)
	}

	b.WriteString("\nblast radius:\n")
	addrs := fmt.Sprint(a.Blast.Addresses)
	if a.Blast.Addresses == math.MaxUint64 {
		addrs = "at least " + addrs
	}
	target := ""
	switch {
	case len(a.Prefixes) > 0:
		ps := make([]string, len(a.Prefixes))
		for i, p := range a.Prefixes {
			ps[i] = engine.PrefixString(p)
		}
		target = " in " + strings.Join(ps, ", ")
	case a.Source.IsValid():
		target = " (" + a.Source.String() + ")"
	}
	fmt.Fprintf(&b, "  addresses %s%s\n", addrs, target)
	fmt.Fprintf(&b, "  assets    %s\n", list(a.Blast.Assets))
	fmt.Fprintf(&b, "  users     %s\n", list(a.Blast.Users))
	fmt.Fprintf(&b, "  gateways  %s\n", list(a.Blast.Gateways))
	return b.String()
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "none known"
	}
	const show = 8
	if len(xs) > show {
		return fmt.Sprintf("%d: %s, … (%d more)", len(xs), strings.Join(xs[:show], ", "), len(xs)-show)
	}
	return fmt.Sprintf("%d: %s", len(xs), strings.Join(xs, ", "))
}
