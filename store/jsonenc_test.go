package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/phantomsoc/phantomsoc/engine"
)

// alertDetail is what jsonWriter.alertDetail writes, for encoding/json.
type alertDetail struct {
	Scenario   string    `json:"scenario"`
	Key        string    `json:"key"`
	Source     string    `json:"source,omitempty"`
	Prefixes   []string  `json:"prefixes,omitempty"`
	Severity   float64   `json:"severity"`
	Risk       float64   `json:"risk"`
	Confidence float64   `json:"confidence"`
	Count      int       `json:"count"`
	Propose    string    `json:"propose"`
	First      time.Time `json:"first"`
}

func newAlertDetail(a *engine.Alert) *alertDetail {
	d := &alertDetail{
		Scenario: a.Scenario, Key: a.Key, Severity: a.Severity, Risk: a.Risk,
		Confidence: a.Confidence, Count: a.Count, Propose: a.Propose, First: a.First,
	}
	if a.Source.IsValid() {
		d.Source = a.Source.String()
	}
	for _, p := range a.Prefixes {
		d.Prefixes = append(d.Prefixes, engine.PrefixString(p))
	}
	return d
}

// awkward are strings encoding/json escapes in every way it knows.
var awkward = []string{
	"", "plain", `<script>&"quoted"\`, "ctl\x00\x01\x1f\b\f\n\r\t\x7f", "bad utf8 \xff\xfe end",
	"sep \u2028 and \u2029", "ümlaut ✓ 🦀", "cut \xe2\x82",
}

func jsonTimes() []time.Time {
	return []time.Time{
		{}, t0, t0.Add(123456789), time.Date(2026, 11, 23, 8, 1, 2, 500, time.FixedZone("IST", 5*3600+1800)),
		time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("odd", -(3*3600+17))), time.Unix(0, 1).In(time.FixedZone("x", 7200)),
	}
}

var jsonFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 7.25, 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 123456789e15, math.MaxFloat64, 5e-324}

// jsonAlerts are alerts covering every field, empty and set, with awkward
// values.
func jsonAlerts() []engine.Alert {
	base := sampleCommit(2, 5).Alerts[0]
	var out []engine.Alert
	out = append(out, base, engine.Alert{})
	for i, s := range awkward {
		a := base
		a.ID, a.Scenario, a.Description, a.Key, a.Host, a.Propose = s, s, s, s, s, s
		a.Users = []string{s, "root"}
		a.Labels = map[string]string{s: s, "b": "2", "a&": "1"}
		a.Factors = []engine.Factor{{Name: s, Value: jsonFloats[i%len(jsonFloats)], Why: s}}
		a.Reasons = []engine.Factor{{Name: "r", Value: 0.5, Why: s}, {}}
		a.Blast = engine.BlastRadius{Assets: []string{s}, Gateways: []string{"gw1", s}, Addresses: math.MaxUint64}
		a.Evidence = []engine.Event{{
			Time: t0, Type: s, Indicator: true, Source: netip.MustParseAddr("2001:db8::1"), SourceHost: s,
			SourcePort: 22, Dest: netip.MustParseAddr("192.0.2.1"), DestPort: 2222, Proto: "tcp", Host: s,
			Program: "sshd", PID: 42, User: s, Method: "password", Pattern: "p", Signature: s, SignatureID: 7,
			Category: s, Severity: 2, Origin: s, Line: -3, Raw: s, Count: 9,
			Asset: &engine.Asset{Name: "a"}, Geo: &engine.Geo{Country: "NL"},
		}, {}}
		out = append(out, a)
	}
	addrs := []netip.Addr{{}, netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7"),
		netip.MustParseAddr("::ffff:192.0.2.9"), netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%<a\"b>")}
	for i, ad := range addrs {
		a := base
		a.Source, a.Dest = ad, addrs[(i+1)%len(addrs)]
		a.Time, a.First = jsonTimes()[i%len(jsonTimes())], jsonTimes()[(i+1)%len(jsonTimes())]
		a.Severity, a.Risk, a.Confidence = jsonFloats[i], jsonFloats[i+5], jsonFloats[i+9]
		a.Prefixes = []netip.Prefix{{}, netip.MustParsePrefix("203.0.113.16/28"), netip.MustParsePrefix("2001:db8:bad::/120"),
			netip.MustParsePrefix("192.0.2.1/32"), netip.PrefixFrom(netip.MustParseAddr("192.0.2.1"), 99)}
		a.Users, a.Labels, a.Factors, a.Reasons = []string{}, map[string]string{}, []engine.Factor{}, nil
		a.Blast = engine.BlastRadius{Users: []string{"u"}}
		a.Evidence[0].Time = jsonTimes()[(i+2)%len(jsonTimes())]
		out = append(out, a)
	}
	return out
}

func jsonDecisions() []engine.Decision {
	base := sampleCommit(2, 0).Decisions[0]
	out := []engine.Decision{base, {}}
	for i, s := range awkward {
		d := base
		d.ID, d.AlertID, d.Scenario, d.Action, d.State, d.Reason = s, s, s, s, s, s
		d.Gateways = []string{s}
		d.Proto, d.Iface, d.Port = s, s, uint16(i*7919)
		d.Time, d.Expires = jsonTimes()[i%len(jsonTimes())], jsonTimes()[(i+3)%len(jsonTimes())]
		d.Risk, d.TTL, d.Offense, d.Auto = jsonFloats[i], -time.Duration(i), -i, i%2 == 0
		d.Target = []netip.Prefix{{}, netip.MustParsePrefix("2001:db8::/64"), netip.MustParsePrefix("::ffff:192.0.2.1/128")}[i%3]
		out = append(out, d)
	}
	return out
}

func TestJSONWriterMatchesEncodingJSON(t *testing.T) {
	var w jsonWriter
	same := func(t *testing.T, what string, got []byte, want []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", what, err)
		}
		if w.bad {
			t.Fatalf("%s: jsonWriter refused a value encoding/json took", what)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", what, got, want)
		}
	}
	t.Run("alerts", func(t *testing.T) {
		for _, a := range jsonAlerts() {
			w.startValue()
			w.storedAlert(&a)
			want, err := encode(storedAlert(&a))
			same(t, "stored alert "+a.ID, w.b, want, err)

			w.reset()
			w.alertDetail(&a)
			want, err = json.Marshal(newAlertDetail(&a))
			same(t, "alert detail "+a.ID, w.b, want, err)
		}
	})
	t.Run("decisions", func(t *testing.T) {
		for _, d := range jsonDecisions() {
			w.startValue()
			w.decision(&d)
			want, err := encode(&d)
			same(t, "decision "+d.ID, w.b, want, err)

			// The audit detail is the stored decision: it must already be
			// in the canonical form AppendAudit would make of it.
			c, err := canonicalDetail(w.b[1:])
			same(t, "canonical decision "+d.ID, w.b[1:], c, err)

			o := engine.Offender{Target: d.Target, Count: d.Offense, Last: d.Time, Expires: d.Expires}
			w.startValue()
			w.offender(&o)
			want, err = encode(&o)
			same(t, "offender "+d.ID, w.b, want, err)
		}
	})
	t.Run("audit", func(t *testing.T) {
		for i, s := range awkward {
			r := AuditRecord{
				Seq: uint64(i) * 1e15, Time: jsonTimes()[i%len(jsonTimes())], Actor: s, Action: s, Subject: s,
				Detail: json.RawMessage(`{"a":"\u003c\u2028","b":[1,2.5,null]}`), Prev: s, Hash: s,
			}
			if i%2 == 1 {
				r.Detail = nil
			}
			w.startValue()
			w.auditRecord(&r)
			want, err := encode(&r)
			same(t, "audit record "+s, w.b, want, err)
		}
	})
}

// TestJSONWriterAddrRepeats: the text of the last address is reused only
// for that address, whatever came between.
func TestJSONWriterAddrRepeats(t *testing.T) {
	seq := []netip.Addr{
		netip.MustParseAddr("2001:db8::55"), netip.MustParseAddr("2001:db8::55"), {},
		netip.MustParseAddr("2001:db8::55"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.1"),
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("::ffff:192.0.2.1"), {}, {}, netip.MustParseAddr("192.0.2.1"),
	}
	var w jsonWriter
	for i, a := range seq {
		w.reset()
		w.addr(a)
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if string(w.b) != string(want) {
			t.Errorf("address %d (%v): wrote %s, want %s", i, a, w.b, want)
		}
	}
}

// TestJSONWriterRefuses checks that what encoding/json cannot encode still
// fails a commit with its error, and that nothing is stored.
func TestJSONWriterRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *engine.Commit)
		want   string
	}{
		{"NaN risk", func(c *engine.Commit) { c.Alerts[1].Risk = math.NaN() }, "unsupported value: NaN"},
		{"infinite factor", func(c *engine.Commit) { c.Alerts[0].Factors[0].Value = math.Inf(1) }, "unsupported value: +Inf"},
		{"alert year 10000", func(c *engine.Commit) { c.Alerts[2].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year outside of range"},
		{"evidence zone past 24h", func(c *engine.Commit) { c.Alerts[0].Evidence[0].Time = t0.In(time.FixedZone("x", 25*3600)) }, "timezone hour outside of range"},
		{"decision NaN risk", func(c *engine.Commit) { c.Decisions[0].Risk = math.NaN() }, "unsupported value: NaN"},
		{"expiry year -1", func(c *engine.Commit) { c.Decisions[0].Expires = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "year outside of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			c := sampleCommit(0, 5)
			tc.mutate(c)
			err := db.Commit(t.Context(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Commit = %v, want an error with %q", err, tc.want)
			}
			if st, err := db.Stats(); err != nil || st != (engine.Stats{}) {
				t.Errorf("Stats after failed commit = %+v, %v, want none", st, err)
			}
		})
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var w jsonWriter
		w.str(s)
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(w.b) != string(want) {
			t.Fatalf("str(%q) = %s, want %s", s, w.b, want)
		}
	})
}

// BenchmarkEncode is the JSON of one stored alert with its evidence, its
// audit detail and its audit record, by hand and by encoding/json.
func BenchmarkEncode(b *testing.B) {
	a := sampleCommit(1, 10).Alerts[0]
	a.Evidence = sampleCommit(1, 20).Alerts[0].Evidence[:1]
	for i := range 9 {
		ev := a.Evidence[0]
		ev.Raw = "Nov 23 08:01:02 gw1 sshd[4242]: Failed password for invalid user admin from 198.51.100.7 port 50022 ssh2"
		ev.Line = int64(1000 + i)
		a.Evidence = append(a.Evidence, ev)
	}
	rec := AuditRecord{Seq: 1234, Time: a.Time, Actor: ActorEngine, Action: ActionAlertRaised, Subject: a.ID, Prev: strings.Repeat("ab", 32)}
	b.Run("jsonWriter", func(b *testing.B) {
		var w, d jsonWriter
		b.ReportAllocs()
		for b.Loop() {
			w.startValue()
			w.storedAlert(&a)
			if _, ok := w.value(); !ok {
				b.Fatal("refused")
			}
			d.reset()
			d.alertDetail(&a)
			r := rec
			r.Detail = d.b
			r.Hash = hashRecord(&r)
			w.startValue()
			w.auditRecord(&r)
			w.value()
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encode(storedAlert(&a)); err != nil {
				b.Fatal(err)
			}
			d, err := json.Marshal(newAlertDetail(&a))
			if err != nil {
				b.Fatal(err)
			}
			r := rec
			if r.Detail, err = canonicalDetail(d); err != nil {
				b.Fatal(err)
			}
			r.Hash = hashRecord(&r)
			if _, err := encode(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestHashRecordFormat pins hashRecord to the canonical encoding its doc
// comment describes, written out field by field: chains written before
// must still verify.
func TestHashRecordFormat(t *testing.T) {
	for i, s := range append(awkward, strings.Repeat("long ", 200)) {
		r := AuditRecord{
			Seq: uint64(i) << 40, Time: jsonTimes()[i%len(jsonTimes())], Actor: s, Action: "a" + s, Subject: s + "s",
			Detail: json.RawMessage(s), Prev: strings.Repeat(s, 3),
		}
		h := sha256.New()
		var n [8]byte
		h.Write([]byte(auditDomain))
		binary.BigEndian.PutUint64(n[:], r.Seq)
		h.Write(n[:])
		for _, f := range []string{r.Time.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Subject, string(r.Detail), r.Prev} {
			binary.BigEndian.PutUint64(n[:], uint64(len(f)))
			h.Write(n[:])
			h.Write([]byte(f))
		}
		if got, want := hashRecord(&r), hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("hashRecord(%+v) = %s, want %s", r, got, want)
		}
	}
}
