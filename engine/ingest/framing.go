package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/phantomsoc/phantomsoc/engine"
)

// maxLenDigits bounds an octet count: more digits is not syslog.
const maxLenDigits = 9

// framingError means the stream can no longer be split into messages; the
// connection is closed.
type framingError struct{ reason string }

func (e *framingError) Error() string { return "framing lost: " + e.reason }

// frameReader splits a syslog TCP stream into messages. Framing is detected
// per message (RFC 6587): a frame starting with a digit is octet-counted
// ("LEN SP MSG"), anything else runs to the next LF. Memory stays bounded by
// max whatever the peer sends.
type frameReader struct {
	br  *bufio.Reader
	max int
	buf []byte
	// skipMax bounds how far an oversize LF frame is skipped looking for
	// its end before the stream is given up.
	skipMax int64
}

func newFrameReader(r io.Reader, maxMessage int) *frameReader {
	return &frameReader{
		br:      bufio.NewReaderSize(r, 16<<10),
		max:     maxMessage,
		skipMax: 16 * int64(maxMessage),
	}
}

// next returns the next message (valid until the next call). A frame that
// cannot be accepted comes back as a non-empty reject reason with a prefix
// of the frame in msg; the stream stays usable. err is io.EOF at a clean end
// between frames, a *framingError when the stream cannot be split further,
// or a read error.
func (fr *frameReader) next() (msg []byte, reject string, err error) {
	for {
		c, err := fr.br.Peek(1)
		if err != nil {
			return nil, "", err
		}
		switch b := c[0]; {
		case b == '\n' || b == '\r':
			// Blank lines and stray CRs between frames (keepalives, CRLF
			// trailers after octet-counted frames).
			_, _ = fr.br.ReadByte()
		case b >= '0' && b <= '9':
			return fr.octet()
		default:
			return fr.line(nil)
		}
	}
}

// octet reads an octet-counted frame.
func (fr *frameReader) octet() ([]byte, string, error) {
	var digits [maxLenDigits]byte
	n, nd := 0, 0
	for {
		c, err := fr.br.ReadByte()
		if err != nil {
			return nil, "", unexpected(err, "end of stream in frame length")
		}
		if c == ' ' {
			break
		}
		if c < '0' || c > '9' {
			// Not a length after all: a newline-framed message that
			// starts with a digit, such as an ISO timestamp from a sender
			// that omits <PRI>. The parser judges it.
			prefix := append(digits[:nd:nd], c)
			if c == '\n' {
				return prefix[:len(prefix)-1], "", nil
			}
			return fr.line(prefix)
		}
		if nd == maxLenDigits {
			return nil, "", &framingError{fmt.Sprintf("frame length has more than %d digits", maxLenDigits)}
		}
		digits[nd] = c
		nd++
		n = n*10 + int(c-'0')
	}
	switch {
	case n == 0:
		return nil, "empty octet-counted frame", nil
	case n > fr.max:
		keep := min(n, fr.max, engine.RejectRawMax)
		fr.buf = fr.buf[:0]
		fr.buf = append(fr.buf, make([]byte, keep)...)
		if _, err := io.ReadFull(fr.br, fr.buf); err != nil {
			return nil, "", unexpected(err, "end of stream inside a frame")
		}
		if _, err := fr.br.Discard(n - keep); err != nil {
			return nil, "", unexpected(err, "end of stream inside a frame")
		}
		return fr.buf, fmt.Sprintf("frame of %d bytes exceeds %d", n, fr.max), nil
	}
	if cap(fr.buf) < n {
		fr.buf = make([]byte, n, max(n, min(2*cap(fr.buf), fr.max)))
	}
	fr.buf = fr.buf[:n]
	if _, err := io.ReadFull(fr.br, fr.buf); err != nil {
		return nil, "", unexpected(err, "end of stream inside a frame")
	}
	return fr.buf, "", nil
}

// line reads an LF-terminated frame that begins with prefix. A final frame
// without LF at the end of the stream is returned as a message.
func (fr *frameReader) line(prefix []byte) ([]byte, string, error) {
	fr.buf = append(fr.buf[:0], prefix...)
	total := int64(len(prefix))
	over := len(prefix) > fr.max
	if over {
		fr.buf = fr.buf[:fr.max]
	}
	for {
		chunk, err := fr.br.ReadSlice('\n')
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		total += int64(len(chunk))
		if !over {
			if room := fr.max - len(fr.buf); len(chunk) > room {
				chunk, over = chunk[:room], true
			}
			fr.buf = append(fr.buf, chunk...)
		}
		if over && total > fr.skipMax {
			return nil, "", &framingError{fmt.Sprintf("no LF in %d bytes", total)}
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && total > 0 {
			break
		}
		return nil, "", err
	}
	msg := fr.buf
	if n := len(msg); !over && n > 0 && msg[n-1] == '\r' {
		msg = msg[:n-1]
	}
	if over {
		return msg[:min(len(msg), engine.RejectRawMax)], fmt.Sprintf("frame longer than %d bytes", fr.max), nil
	}
	return msg, "", nil
}

// unexpected turns an EOF inside a frame into a framing error.
func unexpected(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &framingError{what}
	}
	return err
}
