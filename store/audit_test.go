package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAuditVerifyTamper(t *testing.T) {
	const n = 37 // the record tampered with
	tests := []struct {
		name   string
		edit   func(t *testing.T, b *bolt.Bucket)
		broken uint64
		reason string
	}{
		{"flip a byte in the subject", func(t *testing.T, b *bolt.Bucket) {
			v := bytes.Clone(b.Get(u64(n)))
			i := bytes.Index(v, []byte(`"subject":"`))
			if i < 0 {
				t.Fatalf("record %d has no subject: %s", n, v)
			}
			v[i+len(`"subject":"`)] ^= 0x01
			mustPut(t, b, u64(n), v)
		}, n, "hash mismatch"},
		{"flip a byte in the detail", func(t *testing.T, b *bolt.Bucket) {
			v := bytes.Clone(b.Get(u64(n)))
			v = bytes.Replace(v, []byte(`"risk":7.5`), []byte(`"risk":1.5`), 1)
			mustPut(t, b, u64(n), v)
		}, n, "hash mismatch"},
		{"rewrite record and its hash", func(t *testing.T, b *bolt.Bucket) {
			r, err := decodeAudit(b.Get(u64(n)))
			if err != nil {
				t.Fatal(err)
			}
			r.Subject = "al-forged"
			r.Hash = hashRecord(&r)
			v, _ := encode(&r)
			mustPut(t, b, u64(n), v)
		}, n + 1, "links to"},
		{"undecodable", func(t *testing.T, b *bolt.Bucket) {
			mustPut(t, b, u64(n), []byte{schemaV1, '{', 'x'})
		}, n, "undecodable"},
		{"unknown schema byte", func(t *testing.T, b *bolt.Bucket) {
			v := bytes.Clone(b.Get(u64(n)))
			v[0] = 7
			mustPut(t, b, u64(n), v)
		}, n, "undecodable"},
		{"delete", func(t *testing.T, b *bolt.Bucket) {
			if err := b.Delete(u64(n)); err != nil {
				t.Fatal(err)
			}
		}, n, "missing"},
		{"reorder", func(t *testing.T, b *bolt.Bucket) {
			x, y := bytes.Clone(b.Get(u64(n))), bytes.Clone(b.Get(u64(n+1)))
			mustPut(t, b, u64(n), y)
			mustPut(t, b, u64(n+1), x)
		}, n, "reordered"},
		{"delete the last record", func(t *testing.T, b *bolt.Bucket) {
			if err := b.Delete(u64(100)); err != nil {
				t.Fatal(err)
			}
		}, 100, "missing"},
		{"append outside the store", func(t *testing.T, b *bolt.Bucket) {
			last, err := decodeAudit(b.Get(u64(100)))
			if err != nil {
				t.Fatal(err)
			}
			r := AuditRecord{Seq: 101, Time: last.Time, Actor: "mallory", Action: "note", Prev: last.Hash}
			r.Hash = hashRecord(&r)
			v, _ := encode(&r)
			mustPut(t, b, u64(101), v)
		}, 101, "past the chain head"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := testPath(t)
			db := openAt(t, path, Options{})
			for i := range 20 {
				if err := db.Commit(t.Context(), sampleCommit(i, 5)); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := db.VerifyAudit()
			if err != nil || !rep.OK || rep.Records != 100 {
				t.Fatalf("VerifyAudit before tampering = %+v, %v; want OK, 100 records", rep, err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			boltEdit(t, path, func(tx *bolt.Tx) error {
				tc.edit(t, tx.Bucket([]byte(bucketAudit)))
				return nil
			})
			db = openAt(t, path, Options{})
			rep, err = db.VerifyAudit()
			if err != nil {
				t.Fatalf("VerifyAudit = %v", err)
			}
			if rep.OK || rep.FirstBroken != tc.broken || !strings.Contains(rep.Reason, tc.reason) {
				t.Errorf("VerifyAudit = %+v, want record %d broken (%s)", rep, tc.broken, tc.reason)
			}
		})
	}
}

func mustPut(t *testing.T, b *bolt.Bucket, k, v []byte) {
	t.Helper()
	if err := b.Put(k, v); err != nil {
		t.Fatal(err)
	}
}

func TestAppendAudit(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(t.Context(), sampleCommit(0, 3)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		rec     AuditRecord
		wantErr bool
		detail  string
	}{
		{"analyst approve", AuditRecord{Actor: "alice", Action: "decision.approved", Subject: "dc-00000004",
			Detail: json.RawMessage("{ \"note\" : \"<ok> & done\" }")}, false, `{"note":"\u003cok\u003e \u0026 done"}`},
		{"null detail", AuditRecord{Actor: "bob", Action: "note", Detail: json.RawMessage("null")}, false, ""},
		{"explicit time", AuditRecord{Actor: "bob", Action: "note", Time: t0}, false, ""},
		{"no actor", AuditRecord{Action: "x"}, true, ""},
		{"no action", AuditRecord{Actor: "x"}, true, ""},
		{"bad detail", AuditRecord{Actor: "x", Action: "y", Detail: json.RawMessage("{nope")}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.AppendAudit(t.Context(), tc.rec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("AppendAudit(%+v) = %v, want error %v", tc.rec, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got.Seq == 0 || got.Hash == "" || got.Prev == "" || string(got.Detail) != tc.detail {
				t.Errorf("AppendAudit = %+v, want seq, hash, prev and detail %s", got, tc.detail)
			}
			if tc.rec.Time.IsZero() && !got.Time.Equal(testClock()) {
				t.Errorf("AppendAudit time = %v, want the store clock %v", got.Time, testClock())
			}
			list, err := db.AuditList(got.Seq, 1)
			if err != nil || len(list) != 1 || list[0].Hash != got.Hash || string(list[0].Detail) != tc.detail {
				t.Errorf("AuditList(%d, 1) = %+v, %v; want the appended record", got.Seq, list, err)
			}
		})
	}
	rep, err := db.VerifyAudit()
	if err != nil || !rep.OK || rep.Records != 8 {
		t.Errorf("VerifyAudit = %+v, %v; want OK with 8 records", rep, err)
	}
}

func TestAuditDeterministic(t *testing.T) {
	// A replay of the same commits writes the same chain.
	var heads []string
	for range 2 {
		db := openAt(t, testPath(t), Options{Now: func() time.Time { return time.Now() }})
		for i := range 5 {
			if err := db.Commit(t.Context(), sampleCommit(i, 3)); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := db.AuditList(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, recs[len(recs)-1].Hash)
	}
	if heads[0] != heads[1] {
		t.Errorf("chain heads of two replays = %s, %s; want equal", heads[0], heads[1])
	}
}

func TestAppendAuditInvalidUTF8StillVerifies(t *testing.T) {
	db := openTest(t)
	if _, err := db.AppendAudit(t.Context(), AuditRecord{Time: t0, Actor: "al\xffice", Action: "note", Subject: "bad\xffsubject"}); err != nil {
		t.Fatal(err)
	}
	rep, err := db.VerifyAudit()
	if err != nil || !rep.OK {
		t.Errorf("VerifyAudit after a record with invalid UTF-8 = %+v, %v", rep, err)
	}
}
