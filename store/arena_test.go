package store

import (
	"bytes"
	"testing"
)

func TestValueArenaReusesChunksAcrossTransactions(t *testing.T) {
	var a valueArena
	val := bytes.Repeat([]byte("v"), 1000)
	var first [][]byte
	for range 3 * arenaChunk / len(val) { // three chunks' worth
		first = append(first, a.copy(val))
	}
	for i, v := range first {
		if !bytes.Equal(v, val) {
			t.Fatalf("value %d = %q…, want it unchanged within the transaction", i, v[:8])
		}
	}
	kept := len(a.chunks)
	a.reset()
	a.copy([]byte("next transaction"))
	if len(a.chunks) != kept {
		t.Errorf("after reset the arena holds %d chunks, want the %d it had", len(a.chunks), kept)
	}
	if &first[0][0] != &a.chunks[0][:1][0] {
		t.Error("the next transaction did not reuse the first chunk")
	}

	big := make([]byte, arenaChunk+1)
	if v := a.copy(big); len(v) != len(big) {
		t.Errorf("oversize value has %d bytes, want %d", len(v), len(big))
	}
	if len(a.chunks) != kept {
		t.Errorf("an oversize value was kept as a chunk (%d chunks, want %d)", len(a.chunks), kept)
	}

	a.reset()
	for range (arenaKeep + 4) * arenaChunk / len(val) {
		a.copy(val)
	}
	if len(a.chunks) > arenaKeep {
		t.Errorf("arena keeps %d chunks, want at most %d", len(a.chunks), arenaKeep)
	}
}
