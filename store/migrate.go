package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// migration is one ordered schema step. up runs inside the single write
// transaction that brings a file from its version to the binary's; the
// runner records version after up returns nil.
type migration struct {
	version uint64
	name    string
	up      func(tx *bolt.Tx) error
}

// shippedMigrations returns the schema history, oldest first. Append new
// steps; never edit or reorder a shipped one.
func shippedMigrations() []migration {
	return []migration{
		{version: 1, name: "initial layout", up: migrateV1},
		{version: 2, name: "enforcement states", up: migrateV2},
		{version: 3, name: "notification outbox", up: migrateV3},
		{version: 4, name: "pending notification index", up: migrateV4},
		{version: 5, name: "keyed component state", up: migrateV5},
		{version: 6, name: "incidents", up: migrateV6},
		{version: 7, name: "incident lists one key per item", up: migrateV7},
	}
}

// migrateV1 creates the initial buckets and marks the file as ours.
func migrateV1(tx *bolt.Tx) error {
	for _, name := range layoutBuckets() {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket([]byte(bucketMeta))
	if err := meta.Put([]byte(metaMagic), []byte(magic)); err != nil {
		return err
	}
	if meta.Get([]byte(metaSeq)) == nil {
		if err := meta.Put([]byte(metaSeq), u64(0)); err != nil {
			return err
		}
	}
	return nil
}

// checkMigrations rejects a list that is not strictly ordered from 1.
func checkMigrations(ms []migration) error {
	if len(ms) == 0 {
		return errors.New("no schema migrations")
	}
	for i, m := range ms {
		if m.version != uint64(i+1) || m.name == "" || m.up == nil {
			return fmt.Errorf("migration %d (%q): versions must run 1, 2, … with a name and a step", i, m.name)
		}
	}
	return nil
}

// fileState is what Open finds in a file before migrating it.
type fileState struct {
	version uint64
	foreign []string // bucket names of a bbolt file that is not ours
	badMeta string   // why the meta bucket is not ours
}

func readFileState(tx *bolt.Tx) fileState {
	var st fileState
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil {
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			st.foreign = append(st.foreign, string(name))
			return nil
		})
		return st
	}
	if m := meta.Get([]byte(metaMagic)); !bytes.Equal(m, []byte(magic)) {
		st.badMeta = fmt.Sprintf("meta bucket has magic %q, want %q", m, magic)
		return st
	}
	v := meta.Get([]byte(metaVersion))
	if len(v) != 8 {
		st.badMeta = fmt.Sprintf("meta version is %d bytes, want 8", len(v))
		return st
	}
	st.version = binary.BigEndian.Uint64(v)
	return st
}

// prepare checks the file is ours and runs pending migrations in one write
// transaction.
func (db *DB) prepare(o Options) error {
	var st fileState
	if err := db.view("read schema", func(tx *bolt.Tx) error {
		st = readFileState(tx)
		return nil
	}); err != nil {
		return err
	}
	switch {
	case len(st.foreign) > 0:
		slices.Sort(st.foreign)
		return fmt.Errorf("%w: it has buckets %q and no phantomsoc meta bucket; point --db at another file", ErrForeign, st.foreign)
	case st.badMeta != "":
		return fmt.Errorf("%w: %s", ErrForeign, st.badMeta)
	}
	latest := o.migrations[len(o.migrations)-1].version
	if st.version > latest {
		return fmt.Errorf("%w: file schema version %d, this binary knows up to %d; upgrade phantomsoc", ErrTooNew, st.version, latest)
	}
	db.version = st.version
	if st.version == latest {
		return nil
	}
	if o.ReadOnly {
		return fmt.Errorf("%w: schema version %d needs migrating to %d, which a read-write open does", ErrNeedsMigration, st.version, latest)
	}
	from := st.version
	err := db.update("migrate schema", func(tx *bolt.Tx) error {
		for _, m := range o.migrations {
			if m.version <= from {
				continue
			}
			if err := m.up(tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			meta := tx.Bucket([]byte(bucketMeta))
			if meta == nil {
				return fmt.Errorf("migration %d (%s): left no meta bucket", m.version, m.name)
			}
			if err := meta.Put([]byte(metaVersion), u64(m.version)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if meta.Get([]byte(metaCreated)) == nil {
			v, err := encode(db.now().UTC())
			if err != nil {
				return err
			}
			return meta.Put([]byte(metaCreated), v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	db.log.Info("schema migrated", "from", from, "to", latest)
	db.version = latest
	return nil
}
