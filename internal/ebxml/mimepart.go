package ebxml

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// parseContentType splits a Content-Type value into its lower-case media
// type and parameters. It is deliberately more forgiving than
// mime.ParseMediaType, which refuses what real senders write: the EPS FHIR
// API sends `type=text/xml; start=ebXMLHeader@spine.nhs.uk`, unquoted values
// holding the tspecials '/' and '@'. A value is a quoted string or anything
// up to the next ';'. Parameter names are lower-cased; the first of a
// repeated parameter wins.
func parseContentType(v string) (string, map[string]string) {
	params := map[string]string{}
	mt, rest, _ := strings.Cut(v, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t\r\n;")
		if rest == "" {
			break
		}
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 || rest[eq] == ';' {
			// A parameter without a value: skip it.
			if eq < 0 {
				break
			}
			rest = rest[eq:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' && i+1 < len(rest) {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			val = b.String()
			if i < len(rest) {
				i++
			}
			rest = rest[i:]
			if j := strings.IndexByte(rest, ';'); j >= 0 {
				rest = rest[j:]
			} else {
				rest = ""
			}
		} else {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			val = strings.TrimSpace(rest[:j])
			rest = rest[j:]
		}
		if _, dup := params[name]; !dup && name != "" {
			params[name] = val
		}
	}
	return mt, params
}

// stripAngles removes the brackets around a Content-Id or start value.
func stripAngles(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// header is one MIME part header.
type header struct {
	name, value string // name canonicalised (Content-Id)
}

// part is one MIME body part, split but not yet decoded.
type part struct {
	index   int // 1-based position in the message
	headers []header
	raw     []byte // the body as sent (shares the input's memory)

	contentID   string // without brackets
	contentType string
	cte         string // lower case
	body        []byte // after transfer decoding
}

func (p *part) get(name string) string {
	for _, h := range p.headers {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

func (p *part) location() string {
	if p.contentID != "" {
		return "cid:" + p.contentID
	}
	return fmt.Sprintf("MIME part %d", p.index)
}

// maxPartHeader bounds one part's header block.
const maxPartHeader = 64 << 10

// findDelimiter returns the offset of the next boundary delimiter line in b
// at or after from: "--" boundary at the start of b or of a line, followed
// by "--" (the close delimiter), blanks and a line end, or the end of b.
// It returns -1 if there is none.
func findDelimiter(b []byte, from int, dash []byte) int {
	for from <= len(b) {
		i := bytes.Index(b[from:], dash)
		if i < 0 {
			return -1
		}
		p := from + i
		if (p == 0 || b[p-1] == '\n') && delimiterEnds(b[p+len(dash):]) {
			return p
		}
		from = p + 1
	}
	return -1
}

// delimiterEnds reports whether what follows "--boundary" makes it a
// delimiter line: optional "--", then transport padding, then a line end or
// the end of the body.
func delimiterEnds(rest []byte) bool {
	rest = bytes.TrimPrefix(rest, []byte("--"))
	for _, c := range rest {
		switch c {
		case ' ', '\t':
			continue
		case '\r', '\n':
			return true
		default:
			return false
		}
	}
	return true
}

// lineEnd returns the offset just past the line end at or after i (or len(b)).
func lineEnd(b []byte, i int) int {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return len(b)
	}
	return i + j + 1
}

// splitMultipart cuts a multipart body into its parts. The line end before
// a delimiter belongs to the delimiter (RFC 2046 §5.1.1), so a part's raw
// body is exactly what the sender put between its header block and that
// line end. Both CRLF and bare LF line ends are accepted.
func splitMultipart(body []byte, boundary string, lim Limits, warn func(string)) ([]*part, error) {
	dash := []byte("--" + boundary)
	p := findDelimiter(body, 0, dash)
	if p < 0 {
		return nil, mimeProblem(RuleBoundary, "", "the boundary %q does not occur in the body", boundary)
	}
	var parts []*part
	for {
		q := p + len(dash)
		if bytes.HasPrefix(body[q:], []byte("--")) {
			break // close delimiter; the epilogue is ignored
		}
		start := lineEnd(body, q)
		next := findDelimiter(body, start, dash)
		end := next
		if next < 0 {
			warn("the closing boundary is missing; the last part runs to the end of the body")
			end = len(body)
		} else if end > start {
			end-- // the LF of the delimiter's line end
			if end > start && body[end-1] == '\r' {
				end--
			}
		}
		if len(parts) >= lim.MaxParts {
			return nil, mimeProblem(RuleTooManyParts, "", "more than %d MIME parts", lim.MaxParts)
		}
		pt, err := readPart(body[start:end], len(parts)+1, warn)
		if err != nil {
			return nil, err
		}
		parts = append(parts, pt)
		if next < 0 {
			break
		}
		p = next
	}
	if len(parts) == 0 {
		return nil, mimeProblem(RuleBoundary, "", "the multipart body has no parts")
	}
	return parts, nil
}

// readPart reads a part's header block. A line that is neither a header nor
// a continuation is an error: it almost always means the blank line between
// headers and body is missing, and guessing where the body starts would
// hand on a corrupt payload.
func readPart(b []byte, index int, warn func(string)) (*part, error) {
	pt := &part{index: index}
	// Folded header lines are collected and joined once: appending to the
	// value line by line would cost quadratic time on a hostile header.
	var folded []string
	unfold := func() {
		if len(folded) > 0 {
			h := &pt.headers[len(pt.headers)-1]
			h.value = h.value + " " + strings.Join(folded, " ")
			folded = folded[:0]
		}
	}
	i := 0
	for {
		if i >= len(b) {
			// Headers only, no blank line and no body.
			break
		}
		e := lineEnd(b, i)
		line := b[i:e]
		line = bytes.TrimRight(line, "\r\n")
		i = e
		if len(line) == 0 {
			break // the blank line: the body follows
		}
		if e > maxPartHeader {
			return nil, mimeProblem(RulePartHeader, fmt.Sprintf("MIME part %d", index), "header block larger than %d bytes", maxPartHeader)
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(pt.headers) > 0 {
				folded = append(folded, strings.TrimSpace(string(line)))
				continue
			}
			// An indented first header: tolerated, its indent dropped.
			warn(fmt.Sprintf("MIME part %d: indented header line %q", index, truncate(string(line), 60)))
			line = bytes.TrimLeft(line, " \t")
		}
		unfold()
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validHeaderName(line[:colon]) {
			return nil, mimeProblem(RulePartHeader, fmt.Sprintf("MIME part %d", index),
				"MIME part %d: line %q is not a header (is the blank line between the part's headers and its body missing?)",
				index, truncate(string(line), 60))
		}
		pt.headers = append(pt.headers, header{
			name:  textproto.CanonicalMIMEHeaderKey(string(bytes.TrimSpace(line[:colon]))),
			value: strings.TrimSpace(string(line[colon+1:])),
		})
	}
	unfold()
	pt.raw = b[min(i, len(b)):]
	pt.contentID = stripAngles(pt.get("Content-Id"))
	pt.contentType = pt.get("Content-Type")
	pt.cte = strings.ToLower(strings.TrimSpace(pt.get("Content-Transfer-Encoding")))
	return pt, nil
}

func validHeaderName(b []byte) bool {
	b = bytes.TrimRight(b, " \t")
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// decode undoes the part's transfer encoding, keeping the result within
// max bytes.
func (pt *part) decode(max int, warn func(string)) error {
	loc := pt.location()
	switch pt.cte {
	case "", "7bit", "8bit", "binary":
		if len(pt.raw) > max {
			return mimeProblem(RuleTooLarge, loc, "%s is larger than %d bytes", loc, max)
		}
		pt.body = pt.raw
	case "base64":
		// A first bound before decoding (line breaks make the encoded form
		// a little longer than 4/3 of the data); the exact one follows.
		if len(pt.raw)/4*3 > max+max/16+3 {
			return mimeProblem(RuleTooLarge, loc, "%s is larger than %d bytes", loc, max)
		}
		out, junk, err := decodeBase64(pt.raw)
		if err != nil {
			return &Error{Code: MimeProblem, Rule: RuleTransferEncoding, Location: loc,
				Text: fmt.Sprintf("%s: invalid base64: %v", loc, err), Err: err}
		}
		if junk > 0 {
			warn(fmt.Sprintf("%s: %d characters outside the base64 alphabet ignored", loc, junk))
		}
		if len(out) > max {
			return mimeProblem(RuleTooLarge, loc, "%s is larger than %d bytes", loc, max)
		}
		pt.body = out
	case "quoted-printable":
		out, err := io.ReadAll(io.LimitReader(quotedprintable.NewReader(bytes.NewReader(pt.raw)), int64(max)+1))
		if err != nil {
			return &Error{Code: MimeProblem, Rule: RuleTransferEncoding, Location: loc,
				Text: fmt.Sprintf("%s: invalid quoted-printable: %v", loc, err), Err: err}
		}
		if len(out) > max {
			return mimeProblem(RuleTooLarge, loc, "%s is larger than %d bytes", loc, max)
		}
		pt.body = out
	default:
		return mimeProblem(RuleTransferEncoding, loc, "%s: Content-Transfer-Encoding %q is not supported", loc, pt.cte)
	}
	return nil
}

// decodeBase64 decodes a MIME base64 body: line breaks and blanks are
// skipped as RFC 2045 requires; other characters outside the alphabet are
// skipped too (as the MHS adaptor's decoder does, for the GP2GP captures
// that carry stray quotes) and counted so the caller can say so. Padding may
// be missing; '=' inside the data is an error, as is a length no encoder
// produces.
func decodeBase64(raw []byte) ([]byte, int, error) {
	clean := make([]byte, 0, len(raw))
	junk, pad := 0, 0
	for _, c := range raw {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if pad > 0 {
				return nil, junk, fmt.Errorf("data after padding")
			}
			clean = append(clean, c)
		case c == '=':
			pad++
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			junk++
		}
	}
	if pad > 2 {
		return nil, junk, fmt.Errorf("too much padding")
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		return nil, junk, fmt.Errorf("%d base64 characters cannot be decoded", len(clean))
	}
	if pad > 0 && (len(clean)+pad)%4 != 0 {
		return nil, junk, fmt.Errorf("wrong padding")
	}
	return out[:n], junk, nil
}

// appendBase64 appends b base64-encoded in lines of 76 characters (RFC 2045).
func appendBase64(dst, b []byte, eol string) []byte {
	const line = 57 // bytes per 76-character line
	for len(b) > 0 {
		n := min(line, len(b))
		dst = base64.StdEncoding.AppendEncode(dst, b[:n])
		b = b[n:]
		if len(b) > 0 {
			dst = append(dst, eol...)
		}
	}
	return dst
}
