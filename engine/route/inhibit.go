package route

import (
	"strconv"
	"strings"
	"time"
)

// muteReason says why t is muted at now ("" when it is not): a silence or
// an inhibition.
func (d *Dispatcher) muteReason(t *tracked, now time.Time) string {
	if id := d.silencedBy(t.labels, now); id != "" {
		return "silence " + id
	}
	for i := range d.r.inhibit {
		rule := &d.r.inhibit[i]
		if !matchAll(rule.target, t.labels) {
			continue
		}
		for fp := range d.inhibit[i][equalKey(rule.equal, t.labels)] {
			if fp != t.fp {
				return "inhibited by " + fp
			}
		}
	}
	return ""
}

func equalKey(equal []string, labels map[string]string) string {
	if len(equal) == 1 {
		return labels[equal[0]]
	}
	var b strings.Builder
	for _, l := range equal {
		b.WriteString(strconv.Quote(labels[l]))
		b.WriteByte(',')
	}
	return b.String()
}

// indexInhibit records t as a source of every inhibit rule it matches.
func (d *Dispatcher) indexInhibit(t *tracked) {
	if len(d.r.inhibit) == 0 || !t.endsAt.IsZero() {
		return
	}
	if t.srcKeys == nil {
		t.srcKeys = make([]string, len(d.r.inhibit))
	}
	for i := range d.r.inhibit {
		rule := &d.r.inhibit[i]
		if !matchAll(rule.source, t.labels) {
			t.srcKeys[i] = ""
			continue
		}
		k := equalKey(rule.equal, t.labels)
		set := d.inhibit[i][k]
		if set == nil {
			set = map[string]struct{}{}
			d.inhibit[i][k] = set
		}
		set[t.fp] = struct{}{}
		// "\x00" marks membership under the empty key.
		t.srcKeys[i] = "\x00" + k
	}
}

func (d *Dispatcher) unindexInhibit(t *tracked) {
	for i, k := range t.srcKeys {
		if k == "" {
			continue
		}
		k = k[1:]
		if set := d.inhibit[i][k]; set != nil {
			delete(set, t.fp)
			if len(set) == 0 {
				delete(d.inhibit[i], k)
			}
		}
		t.srcKeys[i] = ""
	}
}
