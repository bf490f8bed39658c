package store

import (
	"errors"
	"reflect"
	"testing"

	"github.com/phantomsoc/phantomsoc/engine"
)

func FuzzDecode(f *testing.F) {
	c := sampleCommit(3, 10)
	srcs := aggregateSources(c.Indicators)
	rec := AuditRecord{Seq: 1, Time: t0, Actor: "engine", Action: ActionAlertRaised, Subject: "al-1", Detail: []byte(`{"a":1}`)}
	rec.Hash = hashRecord(&rec)
	for _, v := range []any{&c.Alerts[0], &c.Decisions[0], &c.Decisions[1], srcs[0].sum, &rec, &c.Checkpoints[0], &c.Rejects[0]} {
		b, err := encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(encodeSource(srcs[0].sum))
	f.Add([]byte{})
	f.Add([]byte{2, '{', '}'})
	f.Add([]byte{schemaV1, 'n', 'u', 'l', 'l'})
	f.Add([]byte{schemaV1, '[', ']'})
	f.Fuzz(func(t *testing.T, val []byte) {
		_, errA := decodeAlert(val)
		_, errD := decodeDecision(val)
		_, errS := decodeSource(val)
		r, errR := decodeAudit(val)
		if errR == nil {
			_ = hashRecord(&r)
		}
		var o engine.Offender
		errO := decode("offender", val, &o)
		if errS == nil && len(val) > 0 && val[0] == schemaSourceBin {
			s, _ := decodeSource(val)
			again, err := decodeSource(encodeSource(&s))
			if err != nil || !reflect.DeepEqual(normSource(again), normSource(s)) {
				t.Fatalf("source summary does not round-trip: %+v -> %+v, %v", s, again, err)
			}
			return
		}
		if len(val) == 0 || val[0] != schemaV1 {
			for _, err := range []error{errA, errD, errS, errR, errO} {
				if !errors.Is(err, ErrSchema) {
					t.Fatalf("decode(%q) = %v, want ErrSchema", val, err)
				}
			}
		}
	})
}

// normSource makes empty and nil collections compare equal.
func normSource(s SourceSummary) SourceSummary {
	if len(s.ByType) == 0 {
		s.ByType = nil
	}
	if len(s.Users) == 0 {
		s.Users = nil
	}
	return s
}
