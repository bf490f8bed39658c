package evidence

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
	"github.com/phantomsoc/phantomsoc/store"
)

// seedItems stores three items for incident in-00000001 and one for
// another incident.
func seedItems(t *testing.T, e *testEnv) []Item {
	t.Helper()
	ctx := t.Context()
	var out []Item
	for i, c := range []struct {
		typ, incident, content string
		meta                   map[string]string
	}{
		{engine.EvidenceLogs, "in-00000001", "Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n", map[string]string{"file": "/var/log/auth.log", "inode": "1234", "offset_start": "0", "offset_end": "89"}},
		{engine.EvidenceRuleset, "in-00000001", `{"nftables":[{"table":{"family":"inet","name":"phantomsoc"}}]}`, map[string]string{"gateway": "edge1", "phase": "before"}},
		{engine.EvidenceEnrichment, "in-00000001", `{"target":"192.0.2.10/32"}`, map[string]string{"target": "192.0.2.10/32"}},
		{engine.EvidenceEnrichment, "in-00000002", `{"target":"198.51.100.7/32"}`, nil},
	} {
		it, err := e.c.Add(ctx, Item{Type: c.typ, Incident: c.incident, Source: "test", Collector: "alice", Meta: c.meta, Collected: t0.Add(timeStep(i))}, []byte(c.content))
		if err != nil {
			t.Fatalf("Add %s: %v", c.typ, err)
		}
		out = append(out, it)
	}
	return out
}

func TestCollectDedupAndAudit(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := t.Context()
	content := []byte("Nov 23 10:00:01 gw1 sshd[101]: Failed password for root from 192.0.2.10 port 4242 ssh2\n")
	it := Item{Type: engine.EvidenceLogs, Incident: "in-00000001", Source: "/var/log/auth.log", Collector: "alice", Collected: t0}
	first, err := e.c.Add(ctx, it, content)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != Hash(content) || first.Size != int64(len(content)) || first.AuditSeq == 0 {
		t.Fatalf("Add = %+v, want the content's hash, size and an audit record", first)
	}
	again, err := e.c.Add(ctx, it, content)
	if err != nil || again.AuditSeq != first.AuditSeq {
		t.Errorf("Add of the same content for the same incident = %+v, %v; want the first item back", again, err)
	}
	it.Incident = "in-00000002"
	second, err := e.c.Add(ctx, it, content)
	if err != nil || second.ID != first.ID || second.AuditSeq == first.AuditSeq {
		t.Errorf("Add for another incident = %+v, %v; want a new item on the same content", second, err)
	}
	entries, _ := os.ReadDir(e.blobs.Dir())
	if len(entries) != 1 {
		t.Errorf("blob directory holds %d files, want 1 (the content once)", len(entries))
	}
	items, err := e.db.Evidence(store.EvidenceQuery{})
	if err != nil || len(items) != 2 {
		t.Fatalf("Evidence() = %d items, %v; want 2", len(items), err)
	}
	rec, err := e.db.AuditRecord(first.AuditSeq)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Action != store.ActionEvidenceCollected || rec.Subject != "in-00000001" || rec.Actor != "alice" || !strings.Contains(string(rec.Detail), first.ID) {
		t.Errorf("audit record = %+v, want evidence.collected by alice about in-00000001 naming %s", rec, first.ID)
	}
	if rep, err := e.db.VerifyAudit(); err != nil || !rep.OK {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
	if rep := VerifyStored(e.blobs, items, e.audit()); !rep.OK {
		t.Errorf("VerifyStored = %+v", rep)
	}
}

func exportBundle(t *testing.T, e *testEnv, incident string) []byte {
	t.Helper()
	items, err := e.db.Evidence(store.EvidenceQuery{Incident: incident})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManifest(incident, t0, items, e.audit())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Export(&buf, e.blobs, m); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

func TestExportVerifyRoundTrip(t *testing.T) {
	e := newEnv(t, Options{})
	items := seedItems(t, e)
	bundle := exportBundle(t, e, "in-00000001")
	entries := readBundle(t, bundle)
	names := make([]string, len(entries))
	for i, en := range entries {
		names[i] = en.name
	}
	want := []string{manifestName, manifestSum, blobPrefix + items[0].ID, blobPrefix + items[1].ID, blobPrefix + items[2].ID}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("bundle holds %v, want %v", names, want)
	}
	var m Manifest
	if err := json.Unmarshal(entries[0].data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != 3 || m.Items[0].SHA256 != items[0].ID || m.Items[0].Meta["inode"] != "1234" || m.Items[0].AuditSeq != items[0].AuditSeq || m.Items[0].AuditHash == "" {
		t.Errorf("manifest item 1 = %+v", m.Items[0])
	}
	for _, audit := range []AuditLookup{nil, e.audit()} {
		rep, err := VerifyBundle(bytes.NewReader(bundle), audit)
		if err != nil || !rep.OK || rep.Checked != 3 || rep.Audit != (audit != nil) {
			t.Errorf("VerifyBundle (audit %v) = %+v, %v; want 3 items OK", audit != nil, rep, err)
		}
	}
}

// TestVerifyNamesTampering flips one byte at a time in a bundle and checks
// the report names the place.
func TestVerifyNamesTampering(t *testing.T) {
	e := newEnv(t, Options{})
	items := seedItems(t, e)
	bundle := exportBundle(t, e, "in-00000001")
	blobName := blobPrefix + items[1].ID
	cases := []struct {
		name   string
		tamper func(es []tarEntry) []tarEntry
		want   []string // substrings of the problems, in order
	}{
		{"blob byte flipped", func(es []tarEntry) []tarEntry {
			for i := range es {
				if es[i].name == blobName {
					es[i].data[5] ^= 0x01
				}
			}
			return es
		}, []string{blobName + ": content hashes to", "the content changed"}},
		{"manifest meta byte flipped", func(es []tarEntry) []tarEntry {
			i := bytes.Index(es[0].data, []byte(`"inode": "1234"`))
			es[0].data[i+len(`"inode": "12`)] = '9'
			return es
		}, []string{"manifest.json: sha256", "item 1 (logs " + items[0].ID[:12] + "): custody record digest"}},
		{"manifest hash flipped", func(es []tarEntry) []tarEntry {
			i := bytes.Index(es[0].data, []byte(`"sha256": "`+items[2].ID))
			j := i + len(`"sha256": "`)
			es[0].data[j] = flipHex(es[0].data[j])
			return es
		}, []string{"manifest.json: sha256", "item 3 (enrichment " + items[2].ID[:12] + "): sha256 " + string(flipHex(items[2].ID[0]))}},
		{"manifest hash file rewritten too", func(es []tarEntry) []tarEntry {
			i := bytes.Index(es[0].data, []byte(`"collector": "alice"`))
			copy(es[0].data[i+len(`"collector": "`):], "a1ice")
			es[1].data = []byte(Hash(es[0].data) + "  manifest.json\n")
			return es
		}, []string{"item 1", "custody record digest"}},
		{"blob removed", func(es []tarEntry) []tarEntry {
			var out []tarEntry
			for _, en := range es {
				if en.name != blobName {
					out = append(out, en)
				}
			}
			return out
		}, []string{"item 2 (ruleset " + items[1].ID[:12] + "): content " + blobName + " missing"}},
		{"blob added", func(es []tarEntry) []tarEntry {
			extra := []byte("planted")
			return append(es, tarEntry{blobPrefix + Hash(extra), extra})
		}, []string{blobPrefix + Hash([]byte("planted")) + ": content not listed in the manifest"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := readBundle(t, bundle)
			tampered := writeBundle(t, tc.tamper(es))
			rep, err := VerifyBundle(bytes.NewReader(tampered), nil)
			if err != nil {
				t.Fatalf("VerifyBundle: %v", err)
			}
			if rep.OK {
				t.Fatalf("VerifyBundle of a tampered bundle = OK")
			}
			var got []string
			for _, p := range rep.Problems {
				got = append(got, p.Where+": "+p.What)
			}
			text := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems:\n%s\nwant one naming %q", text, w)
				}
			}
		})
	}
}

// TestVerifyAgainstAudit changes an item in the bundle consistently (the
// manifest hash recomputed, the custody digest too): only the audit chain
// can tell.
func TestVerifyAgainstAudit(t *testing.T) {
	e := newEnv(t, Options{})
	seedItems(t, e)
	es := readBundle(t, exportBundle(t, e, "in-00000001"))
	var m Manifest
	if err := json.Unmarshal(es[0].data, &m); err != nil {
		t.Fatal(err)
	}
	m.Items[0].Meta["inode"] = "9999"
	m.Items[0].Record = m.Items[0].Digest()
	es[0].data, _ = json.MarshalIndent(&m, "", "  ")
	es[1].data = []byte(Hash(es[0].data) + "  manifest.json\n")
	forged := writeBundle(t, es)
	if rep, _ := VerifyBundle(bytes.NewReader(forged), nil); !rep.OK {
		t.Fatalf("a consistent forgery should pass without the audit chain: %+v", rep)
	}
	rep, err := VerifyBundle(bytes.NewReader(forged), e.audit())
	if err != nil || rep.OK || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].What, "registered custody digest") {
		t.Errorf("VerifyBundle with the audit chain = %+v, %v; want item 1's custody digest refused", rep, err)
	}
}

func TestVerifyStoredNamesDamage(t *testing.T) {
	e := newEnv(t, Options{})
	items := seedItems(t, e)
	path := e.blobs.Path(items[0].ID)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	data[len(data)-2] ^= 0x20
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	all, _ := e.db.Evidence(store.EvidenceQuery{Incident: "in-00000001"})
	rep := VerifyStored(e.blobs, all, e.audit())
	if rep.OK || len(rep.Problems) != 1 || !strings.HasPrefix(rep.Problems[0].Where, "item 1 (logs "+items[0].ID[:12]) {
		t.Errorf("VerifyStored = %+v, want item 1 named", rep)
	}
	if err := Export(&bytes.Buffer{}, e.blobs, Manifest{Items: []ManifestItem{{Item: items[0]}}}); err == nil {
		t.Error("Export of a damaged item succeeded")
	}
}

func flipHex(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}
