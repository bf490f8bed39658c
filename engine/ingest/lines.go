package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// EachLine calls fn for every line of r, in order, numbered from 1, with
// the same rules as the sources: no LF or CRLF, at most maxLine bytes (a
// longer line is cut and fn sees cut=true), and a final line without a
// newline counts. It stops at the first error fn returns.
func EachLine(r io.Reader, maxLine int, fn func(lineno int64, line string, cut bool) error) error {
	lr := lineReader{br: bufio.NewReaderSize(r, 64<<10), max: orDefault(maxLine, DefaultMaxLine)}
	var lineno int64
	for {
		line, _, cut, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("read: %w", err)
			}
			if line, _, cut, ok := lr.partial(); ok {
				return fn(lineno+1, string(line), cut)
			}
			return nil
		}
		lineno++
		if err := fn(lineno, string(line), cut); err != nil {
			return err
		}
	}
}
