package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/phantomsoc/phantomsoc/engine/route"
	"github.com/phantomsoc/phantomsoc/store"
)

// routerState names the router's saved state in the store.
const routerState = "router"

// The router's records: its counters, and one record per alert (by
// fingerprint), group (by key) and silence (by ID), so that a change
// rewrites only what it touched.
const (
	recMeta    = "meta"
	recAlert   = "a/"
	recGroup   = "g/"
	recSilence = "s/"
)

// maxRecKey bounds a record key; a longer group key (group_by labels with
// long values) is saved under its hash. The record holds the key itself.
const maxRecKey = 512

func recKey(prefix, id string) string {
	if len(prefix)+len(id) <= maxRecKey {
		return prefix + id
	}
	sum := sha256.Sum256([]byte(id))
	return prefix + "#" + hex.EncodeToString(sum[:])
}

// routerMeta is the meta record.
type routerMeta struct {
	Version    int    `json:"version"`
	SilenceSeq uint64 `json:"silence_seq"`
	GroupSeq   uint64 `json:"group_seq"`
}

// stateUpdate turns the router's changes into the store's records.
func stateUpdate(c *route.Changes) store.StateUpdate {
	u := store.StateUpdate{Name: routerState, Replace: c.Full,
		Records: make([]store.StateRecord, 0, 1+len(c.Alerts)+len(c.Groups)+len(c.Silences)+len(c.GoneAlerts)+len(c.GoneGroups)+len(c.GoneSilences))}
	u.Records = append(u.Records, store.StateRecord{Key: recMeta, Value: routerMeta{Version: c.Version, SilenceSeq: c.SilenceSeq, GroupSeq: c.GroupSeq}})
	for i := range c.Alerts {
		u.Records = append(u.Records, store.StateRecord{Key: recKey(recAlert, c.Alerts[i].Fingerprint), Value: &c.Alerts[i]})
	}
	for i := range c.Groups {
		u.Records = append(u.Records, store.StateRecord{Key: recKey(recGroup, c.Groups[i].Key), Value: &c.Groups[i]})
	}
	for i := range c.Silences {
		u.Records = append(u.Records, store.StateRecord{Key: recKey(recSilence, c.Silences[i].ID), Value: &c.Silences[i]})
	}
	gone := func(prefix string, ids []string) {
		for _, id := range ids {
			u.Records = append(u.Records, store.StateRecord{Key: recKey(prefix, id)})
		}
	}
	gone(recAlert, c.GoneAlerts)
	gone(recGroup, c.GoneGroups)
	gone(recSilence, c.GoneSilences)
	return u
}

// loadRouterState reads the router's saved records; failing those, the
// single blob of schema 4 and older (which the first save replaces).
func loadRouterState(db *store.DB) (st route.State, found bool, err error) {
	var c route.Changes
	n, err := db.LoadState(routerState, func(key string, decode func(any) error) error {
		switch {
		case key == recMeta:
			var m routerMeta
			if err := decode(&m); err != nil {
				return err
			}
			c.Version, c.SilenceSeq, c.GroupSeq = m.Version, m.SilenceSeq, m.GroupSeq
		case strings.HasPrefix(key, recAlert):
			var a route.AlertState
			if err := decode(&a); err != nil {
				return err
			}
			c.Alerts = append(c.Alerts, a)
		case strings.HasPrefix(key, recGroup):
			var g route.GroupState
			if err := decode(&g); err != nil {
				return err
			}
			c.Groups = append(c.Groups, g)
		case strings.HasPrefix(key, recSilence):
			var s route.Silence
			if err := decode(&s); err != nil {
				return err
			}
			c.Silences = append(c.Silences, s)
		default:
			return fmt.Errorf("router state: unknown record %q", key)
		}
		return nil
	})
	if err != nil {
		return st, false, err
	}
	if n > 0 {
		return c.State(), true, nil
	}
	found, err = db.State(routerState, &st)
	return st, found, err
}

// restoreRouter imports the saved state into disp and saves it back at
// once in the keyed form: that migrates a single blob, and records what
// the import changed (a group whose route left the config is dropped).
func restoreRouter(ctx context.Context, db *store.DB, disp *route.Dispatcher) error {
	st, found, err := loadRouterState(db)
	if err != nil {
		return fmt.Errorf("routing: load saved state: %w", err)
	}
	if !found {
		return nil
	}
	if err := disp.Import(st); err != nil {
		return fmt.Errorf("routing: restore saved state: %w", err)
	}
	c := disp.Changes()
	if err := db.SaveState(ctx, stateUpdate(&c)); err != nil {
		return fmt.Errorf("routing: save restored state: %w", err)
	}
	return nil
}
