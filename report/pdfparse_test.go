package report

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// parsedPDF is what a test reads back from a PDF: its page count and the
// text its content streams draw, in order.
type parsedPDF struct {
	Pages int
	Text  []string
}

var (
	reObjHead = regexp.MustCompile(`^(\d+) (\d+) obj`)
	reLength  = regexp.MustCompile(`/Length (\d+)`)
	reCount   = regexp.MustCompile(`/Count (\d+)`)
	reSize    = regexp.MustCompile(`/Size (\d+)`)
	reRoot    = regexp.MustCompile(`/Root (\d+) 0 R`)
)

// parsePDF checks a PDF's structure — header, startxref, a cross-reference
// table whose every in-use offset points at its own "N G obj", a trailer
// with /Size and a /Root catalog, streams as long as their /Length — and
// returns the text drawn with Tj.
func parsePDF(b []byte) (*parsedPDF, error) {
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) {
		return nil, fmt.Errorf("no %%PDF-1.x header: %q", b[:min(len(b), 16)])
	}
	if !bytes.HasSuffix(bytes.TrimRight(b, "\r\n"), []byte("%%EOF")) {
		return nil, fmt.Errorf("no %%%%EOF at the end")
	}
	i := bytes.LastIndex(b, []byte("startxref"))
	if i < 0 {
		return nil, fmt.Errorf("no startxref")
	}
	fields := strings.Fields(string(b[i+len("startxref"):]))
	if len(fields) == 0 {
		return nil, fmt.Errorf("startxref without an offset")
	}
	xref, err := strconv.Atoi(fields[0])
	if err != nil || xref <= 0 || xref >= len(b) {
		return nil, fmt.Errorf("startxref %q: not an offset in the file", fields[0])
	}
	if !bytes.HasPrefix(b[xref:], []byte("xref")) {
		return nil, fmt.Errorf("startxref %d does not point at xref: %q", xref, b[xref:min(len(b), xref+16)])
	}
	lines := strings.SplitN(string(b[xref:]), "\n", 3)
	var first, n int
	if _, err := fmt.Sscanf(lines[1], "%d %d", &first, &n); err != nil {
		return nil, fmt.Errorf("xref subsection %q: %w", lines[1], err)
	}
	table := lines[2]
	if len(table) < 20*n {
		return nil, fmt.Errorf("xref table shorter than %d entries", n)
	}
	objects := map[int][]byte{}
	var order []int
	for k := range n {
		e := table[20*k : 20*k+20]
		if e[17] != 'n' {
			continue
		}
		off, err := strconv.Atoi(e[:10])
		if err != nil || off <= 0 || off >= len(b) {
			return nil, fmt.Errorf("xref entry %d %q: bad offset", first+k, e)
		}
		m := reObjHead.FindSubmatch(b[off:min(len(b), off+32)])
		if m == nil || string(m[1]) != strconv.Itoa(first+k) {
			return nil, fmt.Errorf("xref entry %d points at %q, not at its object", first+k, b[off:min(len(b), off+16)])
		}
		end := bytes.Index(b[off:], []byte("endobj"))
		if end < 0 {
			return nil, fmt.Errorf("object %d has no endobj", first+k)
		}
		objects[first+k] = b[off : off+end]
		order = append(order, first+k)
	}
	trailer := table[20*n:]
	size, root := reSize.FindStringSubmatch(trailer), reRoot.FindStringSubmatch(trailer)
	if size == nil || root == nil {
		return nil, fmt.Errorf("trailer without /Size or /Root: %q", trailer)
	}
	if s, _ := strconv.Atoi(size[1]); s != first+n {
		return nil, fmt.Errorf("trailer /Size %d, xref has %d entries", s, first+n)
	}
	if r, _ := strconv.Atoi(root[1]); !bytes.Contains(objects[r], []byte("/Type /Catalog")) {
		return nil, fmt.Errorf("/Root %d is not a catalog", r)
	}
	out := &parsedPDF{}
	for _, k := range order {
		obj := objects[k]
		if bytes.Contains(obj, []byte("/Type /Pages")) {
			m := reCount.FindSubmatch(obj)
			if m == nil {
				return nil, fmt.Errorf("page tree %d without /Count", k)
			}
			out.Pages, _ = strconv.Atoi(string(m[1]))
		}
		s := bytes.Index(obj, []byte("stream\n"))
		if s < 0 {
			continue
		}
		dict := obj[:s]
		m := reLength.FindSubmatch(dict)
		if m == nil {
			return nil, fmt.Errorf("stream %d without a direct /Length", k)
		}
		length, _ := strconv.Atoi(string(m[1]))
		data := obj[s+len("stream\n"):]
		if len(data) < length || !bytes.HasPrefix(bytes.TrimLeft(data[length:], "\r\n"), []byte("endstream")) {
			return nil, fmt.Errorf("stream %d: /Length %d does not end at endstream", k, length)
		}
		data = data[:length]
		if bytes.Contains(dict, []byte("/FlateDecode")) {
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("stream %d: %w", k, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("stream %d: %w", k, err)
			}
		}
		out.Text = append(out.Text, showText(data)...)
	}
	if out.Pages == 0 {
		return nil, fmt.Errorf("no page tree")
	}
	return out, nil
}

// showText returns the literal strings of a content stream's Tj
// operators, unescaped.
func showText(content []byte) []string {
	var out []string
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		var s []byte
		depth, j := 1, i+1
		for ; j < len(content) && depth > 0; j++ {
			c := content[j]
			switch {
			case c == '\\' && j+1 < len(content):
				j++
				switch e := content[j]; e {
				case 'n':
					s = append(s, '\n')
				case 'r':
					s = append(s, '\r')
				case 't':
					s = append(s, '\t')
				default:
					s = append(s, e)
				}
				continue
			case c == '(':
				depth++
			case c == ')':
				depth--
				if depth == 0 {
					continue
				}
			}
			s = append(s, c)
		}
		rest := bytes.TrimLeft(content[j:], " ")
		if bytes.HasPrefix(rest, []byte("Tj")) {
			out = append(out, string(s))
		}
		i = j - 1
	}
	return out
}
