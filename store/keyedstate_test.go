package store

import (
	"strings"
	"testing"
)

type rec struct {
	N int `json:"n"`
}

// loadAll reads a component's keyed state back as "key=n" lines.
func loadAll(t *testing.T, db *DB, name string) string {
	t.Helper()
	var out []string
	n, err := db.LoadState(name, func(key string, decode func(any) error) error {
		var r rec
		if err := decode(&r); err != nil {
			return err
		}
		out = append(out, key+"="+strings.Repeat("|", r.N))
		return nil
	})
	if err != nil || n != len(out) {
		t.Fatalf("LoadState(%s) = %d, %v", name, n, err)
	}
	return strings.Join(out, " ")
}

func TestKeyedState(t *testing.T) {
	path := testPath(t)
	db := openAt(t, path, Options{})
	ctx := t.Context()
	if err := db.PutState(ctx, "router", rec{N: 9}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		u       StateUpdate
		audit   []AuditRecord
		want    string
		wantErr string
	}{
		{name: "first records", u: StateUpdate{Name: "router", Records: []StateRecord{{"g/b", rec{2}}, {"g/a", rec{1}}}},
			want: "g/a=| g/b=||"},
		{name: "a change and a delete", u: StateUpdate{Name: "router", Records: []StateRecord{{"g/a", nil}, {"s/1", rec{3}}}},
			audit: []AuditRecord{{Actor: "alice", Action: "silence.added", Subject: "s1"}},
			want:  "g/b=|| s/1=|||"},
		{name: "deleting what is not there", u: StateUpdate{Name: "router", Records: []StateRecord{{"g/zz", nil}}},
			want: "g/b=|| s/1=|||"},
		{name: "replace", u: StateUpdate{Name: "router", Replace: true, Records: []StateRecord{{"meta", rec{0}}}},
			want: "meta="},
		{name: "no key", u: StateUpdate{Name: "router", Records: []StateRecord{{"", rec{1}}}},
			want: "meta=", wantErr: "key of 0 bytes"},
		{name: "audit without actor rolls nothing in", u: StateUpdate{Name: "router", Records: []StateRecord{{"x", rec{1}}}},
			audit: []AuditRecord{{Action: "x"}}, want: "meta=", wantErr: "actor and action are required"},
	}
	for _, st := range steps {
		err := db.SaveState(ctx, st.u, st.audit...)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: SaveState = %v, want error %q", st.name, err, st.wantErr)
		}
		if got := loadAll(t, db, "router"); got != st.want {
			t.Errorf("%s: records = %q, want %q", st.name, got, st.want)
		}
	}
	var legacy rec
	if found, err := db.State("router", &legacy); err != nil || found {
		t.Errorf("single-value state after a Replace: found %v (%v), want removed", found, err)
	}
	tail, err := db.AuditTail(1)
	if err != nil || len(tail) != 1 || tail[0].Action != "silence.added" {
		t.Errorf("audit tail = %+v, %v; want the silence saved with its records", tail, err)
	}
	if got := loadAll(t, db, "other"); got != "" {
		t.Errorf("another component's state = %q, want none", got)
	}
	ns := []Notification{{Key: "g/1:ops", Receiver: "ops", Status: "firing"}}
	for i, want := range []int{1, 0} {
		added, err := db.EnqueueWithState(ctx, ns, StateUpdate{Name: "router", Records: []StateRecord{{"g/c", rec{i + 1}}}})
		if err != nil || len(added) != want {
			t.Fatalf("EnqueueWithState #%d = %q, %v; want %d added", i+1, added, err, want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, Options{ReadOnly: true})
	if got := loadAll(t, db, "router"); got != "g/c=|| meta=" {
		t.Errorf("records after reopening = %q", got)
	}
}
