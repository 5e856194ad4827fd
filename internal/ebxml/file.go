package ebxml

import (
	"bytes"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// File is a captured HTTP message: the `.http` and `.msg` files of the
// fixtures, and what `eps inspect` reads.
type File struct {
	Method, Path, Proto string // from a request line, if there is one
	StatusCode          int    // from a status line (a captured response), if there is one
	Header              http.Header
	Body                []byte
}

// maxFileHeader bounds the header block of a captured message.
const maxFileHeader = 1 << 20

// ReadFile splits a captured HTTP message: an optional request line
// ("POST /Prescription", with or without a protocol) or status line
// ("HTTP/1.1 200 OK"), header lines, a blank line, then the body byte for
// byte. A file that starts with a MIME boundary ("--") or with XML ("<") is
// all body (the MHS adaptor's test messages are stored so). A Content-Length
// header, when present, must not exceed the body; a longer body is cut to it.
func ReadFile(b []byte) (*File, error) {
	f := &File{Header: http.Header{}}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	start := bytes.TrimLeft(b, " \t\r\n")
	if bytes.HasPrefix(start, []byte("--")) || bytes.HasPrefix(start, []byte("<")) || len(start) == 0 {
		f.Body = b
		return f, nil
	}
	i := 0
	first := true
	for {
		if i >= len(b) {
			return nil, fmt.Errorf("ebxml: captured message: no blank line after the headers")
		}
		if i > maxFileHeader {
			return nil, fmt.Errorf("ebxml: captured message: header block larger than %d bytes", maxFileHeader)
		}
		e := lineEnd(b, i)
		line := strings.TrimRight(string(b[i:e]), "\r\n")
		i = e
		if line == "" {
			if first {
				continue
			}
			break
		}
		if first {
			first = false
			if ok := f.startLine(line); ok {
				continue
			}
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fmt.Errorf("ebxml: captured message: continuation line %q", truncate(line, 60))
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validHeaderName([]byte(name)) {
			return nil, fmt.Errorf("ebxml: captured message: %q is not a header line", truncate(line, 60))
		}
		f.Header.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), strings.TrimSpace(value))
	}
	f.Body = b[i:]
	if cl := f.Header.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("ebxml: captured message: Content-Length %q", cl)
		}
		if n > len(f.Body) {
			return nil, fmt.Errorf("ebxml: captured message: Content-Length %d but the body has %d bytes", n, len(f.Body))
		}
		f.Body = f.Body[:n]
	}
	return f, nil
}

// startLine reads a request or status line into f.
func (f *File) startLine(line string) bool {
	fields := strings.Fields(line)
	if len(fields) >= 2 && strings.HasPrefix(fields[0], "HTTP/") {
		if code, err := strconv.Atoi(fields[1]); err == nil && code >= 100 && code <= 999 {
			f.Proto, f.StatusCode = fields[0], code
			return true
		}
	}
	if len(fields) < 2 || len(fields) > 3 || strings.Contains(fields[0], ":") {
		return false
	}
	for _, c := range fields[0] {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	if len(fields) == 3 && !strings.HasPrefix(fields[2], "HTTP/") {
		return false
	}
	f.Method, f.Path = fields[0], fields[1]
	if len(fields) == 3 {
		f.Proto = fields[2]
	}
	return true
}

// ParseRequestFile is ReadFile for a captured request.
func ParseRequestFile(b []byte) (method, path string, headers http.Header, body []byte, err error) {
	f, err := ReadFile(b)
	if err != nil {
		return "", "", nil, nil, err
	}
	return f.Method, f.Path, f.Header, f.Body, nil
}
