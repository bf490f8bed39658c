package ingest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestEachLine(t *testing.T) {
	type line struct {
		n   int64
		s   string
		cut bool
	}
	tests := []struct {
		name string
		in   string
		max  int
		want []line
	}{
		{"plain", "a\nb\n", 0, []line{{1, "a", false}, {2, "b", false}}},
		{"no final newline", "a\nb", 0, []line{{1, "a", false}, {2, "b", false}}},
		{"crlf", "a\r\nb\r\n", 0, []line{{1, "a", false}, {2, "b", false}}},
		{"empty lines count", "\n\nx\n", 0, []line{{1, "", false}, {2, "", false}, {3, "x", false}}},
		{"cut", "abcdefgh\nij\n", 4, []line{{1, "abcd", true}, {2, "ij", false}}},
		{"nothing", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []line
			err := EachLine(strings.NewReader(tc.in), tc.max, func(n int64, s string, cut bool) error {
				got = append(got, line{n, s, cut})
				return nil
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("EachLine(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	stop := errors.New("stop")
	n := 0
	err := EachLine(strings.NewReader("a\nb\nc\n"), 0, func(int64, string, bool) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachLine stopping = %v after %d lines, want stop after 1", err, n)
	}
}
