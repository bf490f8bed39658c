package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bucketStates holds components' saved state: a nested bucket per
// component (the router), one record per key (a group, an alert, a
// silence), so that saving a change writes what changed, not the whole
// state.
const bucketStates = "states"

// migrateV5 adds the keyed component state.
func migrateV5(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketStates)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketStates, err)
	}
	return nil
}

// StateRecord is one record of a component's keyed state.
type StateRecord struct {
	Key string
	// Value is stored as JSON; nil deletes Key.
	Value any
}

// StateUpdate is a batch of changes to one component's keyed state.
type StateUpdate struct {
	Name string
	// Replace deletes every record saved before, and the component's
	// single-value state of schema 4 and older that the records
	// supersede, before saving Records.
	Replace bool
	Records []StateRecord
}

// encodedUpdate is a StateUpdate encoded before its transaction, so the
// write lock is not held while encoding.
type encodedUpdate struct {
	name    string
	replace bool
	keys    [][]byte
	vals    [][]byte // nil: delete
}

func (u *StateUpdate) encode() (*encodedUpdate, error) {
	if u.Name == "" {
		return nil, fmt.Errorf("save state: no component name")
	}
	e := &encodedUpdate{name: u.Name, replace: u.Replace, keys: make([][]byte, len(u.Records)), vals: make([][]byte, len(u.Records))}
	for i, r := range u.Records {
		if r.Key == "" || len(r.Key) > bolt.MaxKeySize {
			return nil, fmt.Errorf("save %s state: key of %d bytes: want 1 to %d", u.Name, len(r.Key), bolt.MaxKeySize)
		}
		e.keys[i] = []byte(r.Key)
		if r.Value == nil {
			continue
		}
		v, err := encode(r.Value)
		if err != nil {
			return nil, fmt.Errorf("encode %s state %s: %w", u.Name, r.Key, err)
		}
		e.vals[i] = v
	}
	return e, nil
}

func (e *encodedUpdate) apply(tx *bolt.Tx) error {
	root, err := bucket(tx, bucketStates)
	if err != nil {
		return err
	}
	name := []byte(e.name)
	if e.replace {
		if root.Bucket(name) != nil {
			if err := root.DeleteBucket(name); err != nil {
				return fmt.Errorf("clear %s state: %w", e.name, err)
			}
		}
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Delete([]byte(metaStatePrefix + e.name)); err != nil {
			return fmt.Errorf("remove %s single-value state: %w", e.name, err)
		}
	}
	b, err := root.CreateBucketIfNotExists(name)
	if err != nil {
		return fmt.Errorf("%s state bucket: %w", e.name, err)
	}
	for i, k := range e.keys {
		if e.vals[i] == nil {
			err = b.Delete(k)
		} else {
			err = b.Put(k, e.vals[i])
		}
		if err != nil {
			return fmt.Errorf("save %s state %s: %w", e.name, k, err)
		}
	}
	return nil
}

// EnqueueWithState is Enqueue and SaveState(u) in one transaction: the
// router's state and the notifications it produced are durable together,
// with one sync. It returns the keys of the notifications it added.
func (db *DB) EnqueueWithState(ctx context.Context, ns []Notification, u StateUpdate) ([]string, error) {
	e, err := u.encode()
	if err != nil {
		return nil, err
	}
	return db.enqueue(ctx, ns, e.apply)
}

// SaveState applies u to a component's keyed state and appends the audit
// records, in one transaction.
func (db *DB) SaveState(ctx context.Context, u StateUpdate, audit ...AuditRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := u.encode()
	if err != nil {
		return err
	}
	for i := range audit {
		if audit[i].Actor == "" || audit[i].Action == "" {
			return fmt.Errorf("save %s state: audit actor and action are required (got %q, %q)", u.Name, audit[i].Actor, audit[i].Action)
		}
		if audit[i].Time.IsZero() {
			audit[i].Time = db.now()
		}
	}
	return db.update("save "+u.Name+" state", func(tx *bolt.Tx) error {
		if err := e.apply(tx); err != nil {
			return err
		}
		if len(audit) == 0 {
			return nil
		}
		w, err := newAuditWriter(tx)
		if err != nil {
			return err
		}
		for _, r := range audit {
			if _, err := w.add(r); err != nil {
				return err
			}
		}
		return w.flush()
	})
}

// LoadState calls fn with each record of a component's keyed state, in
// key order; decode unmarshals the record and is valid only during the
// call. It returns how many records there were.
func (db *DB) LoadState(name string, fn func(key string, decode func(v any) error) error) (int, error) {
	n := 0
	err := db.view("load "+name+" state", func(tx *bolt.Tx) error {
		root, err := bucket(tx, bucketStates)
		if err != nil {
			return err
		}
		b := root.Bucket([]byte(name))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			n++
			key := string(k)
			return fn(key, func(into any) error { return decode(name+" state "+key, v, into) })
		})
	})
	return n, err
}

// metaStatePrefix keys a component's single-value state in the meta
// bucket: the form before schema 5, read once to migrate it.
const metaStatePrefix = "state/"

// PutState saves a component's state as one value: the form before
// schema 5. Only tests that build such a file use it; SaveState replaces
// it.
func (db *DB) PutState(ctx context.Context, name string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	val, err := encode(v)
	if err != nil {
		return fmt.Errorf("encode %s state: %w", name, err)
	}
	return db.update("save "+name+" state", func(tx *bolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		return meta.Put([]byte(metaStatePrefix+name), val)
	})
}

// State loads a component's single-value state into v; found is false
// when there is none (never saved, or migrated to keyed records).
func (db *DB) State(name string, v any) (found bool, err error) {
	err = db.view("load "+name+" state", func(tx *bolt.Tx) error {
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		val := meta.Get([]byte(metaStatePrefix + name))
		if val == nil {
			return nil
		}
		found = true
		return decode(name+" state", val, v)
	})
	return found, err
}
