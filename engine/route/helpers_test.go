package route

import (
	"os"
	"testing"

	_ "time/tzdata" // time zones without the host's zoneinfo
)

func loadTree(t testing.TB) *Router {
	t.Helper()
	data, err := os.ReadFile("testdata/tree.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, "tree.yaml")
	if err != nil {
		t.Fatalf("Parse(tree.yaml) = %v", err)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return r
}
