package ingest

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestFrameReader(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []string // messages, or "!reason" for a rejected frame
		wantErr string   // "" for a clean EOF
	}{
		{name: "octet", input: "5 <1>ab3 <2>", want: []string{"<1>ab", "<2>"}},
		{name: "lf", input: "<1>a\n<2>b\r\n\n<3>c", want: []string{"<1>a", "<2>b", "<3>c"}},
		{name: "mixed", input: "3 <1><2>x\n4 <3>y", want: []string{"<1>", "<2>x", "<3>y"}},
		// A frame starting with digits that are not a length is a
		// newline-framed message (an ISO timestamp without <PRI>).
		{name: "digits, not a count", input: "1a2 x\n3 <1>", want: []string{"1a2 x", "<1>"}},
		{name: "iso timestamp without pri", input: "2026-01-02T1 x\n3 <1>", want: []string{"2026-01-02T1 x", "<1>"}},
		{name: "digits then lf", input: "12\n3 <1>", want: []string{"12", "<1>"}},
		{name: "zero", input: "0 3 <1>", want: []string{"!empty octet-counted frame", "<1>"}},
		{name: "oversize octet", input: "20 " + strings.Repeat("x", 20) + "3 <1>", want: []string{"!frame of 20 bytes exceeds 16", "<1>"}},
		{name: "oversize lf", input: strings.Repeat("x", 20) + "\n<1>\n", want: []string{"!frame longer than 16 bytes", "<1>"}},
		{name: "too many digits", input: "1234567890 x", wantErr: "framing lost: frame length has more than 9 digits"},
		{name: "short frame", input: "9 <1>", wantErr: "framing lost: end of stream inside a frame"},
		{name: "no lf for too long", input: strings.Repeat("x", 1000), wantErr: "framing lost: no LF in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFrameReader(strings.NewReader(tc.input), 16)
			var got []string
			var err error
			for {
				var msg []byte
				var reject string
				msg, reject, err = fr.next()
				if err != nil {
					break
				}
				if reject != "" {
					got = append(got, "!"+reject)
				} else {
					got = append(got, string(msg))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("frames of %q = %q, want %q", tc.input, got, tc.want)
			}
			switch {
			case tc.wantErr == "" && !errors.Is(err, io.EOF):
				t.Errorf("end error = %v, want EOF", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Errorf("end error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzOctetFraming(f *testing.F) {
	for _, s := range []string{
		"", "5 <1>ab", "<1>a\n<2>b\r\n", "12x\n", "0 ", "1234567890 x", "20 " + strings.Repeat("x", 20),
		octet(msg5424) + msg3164 + "\n", "9 <1>", "\n\r\n3 <1>", "1\x00 \xff\n",
	} {
		f.Add([]byte(s))
	}
	const maxMessage = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data), maxMessage)
		// Every call consumes input or ends, so this bound is never hit
		// by a correct decoder.
		for range len(data) + 1 {
			msg, _, err := fr.next()
			if len(msg) > maxMessage {
				t.Fatalf("frame of %d bytes, max %d", len(msg), maxMessage)
			}
			if err != nil {
				return
			}
		}
		if _, _, err := fr.next(); err == nil {
			t.Fatalf("decoder still returns frames after %d calls on %d bytes", len(data)+1, len(data))
		}
	})
}
