// Package xmlt is a small, fast XML tokenizer for the messages openeps reads
// from the network. It exists because encoding/xml is both too slow for the
// service's budget (tens of microseconds per prescription) and too permissive
// for hostile input. It reads a whole document held in memory and:
//
//   - refuses DOCTYPE, DTDs and entity declarations outright (no entity
//     expansion attacks are possible: only the five predefined entities and
//     character references are decoded);
//   - bounds nesting depth, attribute count and document size;
//   - requires well-formed UTF-8 and well-formed XML (matching end tags, one
//     root, no duplicate attributes, no stray text outside the root);
//   - resolves namespace prefixes, so callers match on (namespace, local name)
//     whatever prefixes the sender chose;
//   - returns names and values as substrings of one copy of the input, so a
//     typical document costs a handful of allocations.
package xmlt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits bound what a document may contain. Zero fields take the defaults.
type Limits struct {
	MaxBytes int // whole document (default 8 MiB)
	MaxDepth int // element nesting (default 64)
	MaxAttrs int // attributes on one element (default 64)
}

const (
	defaultMaxBytes = 8 << 20
	defaultMaxDepth = 64
	defaultMaxAttrs = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = defaultMaxAttrs
	}
	return l
}

// Kind is the kind of a token.
type Kind int

const (
	EOF Kind = iota
	StartElement
	EndElement
	Text // character data, CDATA included; Decoder.Text holds it decoded
)

// Name is a namespace-resolved XML name.
type Name struct {
	Space  string // namespace URI, "" if none
	Local  string
	Prefix string // the prefix as written, "" if none
}

// Attr is one attribute. Namespace declarations (xmlns, xmlns:p) are reported
// with Name.Space "xmlns" so callers can skip or keep them.
type Attr struct {
	Name  Name
	Value string
}

// XMLNS is the Space given to namespace declaration attributes.
const XMLNS = "xmlns"

// Error is a syntax or limit error with the byte offset where it was found.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("xml: %s (at byte %d)", e.Msg, e.Offset) }

// ErrForbidden is wrapped by errors about constructs refused on principle (DTDs, entities).
var ErrForbidden = errors.New("forbidden construct")

type nsBinding struct {
	prefix string
	uri    string
	depth  int
}

// Decoder reads tokens from a document. After Next returns StartElement, Name
// and Attrs describe the element (Attrs is reused by the following call);
// after EndElement, Name is the element closed; after Text, Text holds the
// decoded character data.
type Decoder struct {
	s       string
	pos     int
	lim     Limits
	depth   int
	stack   []Name // open elements
	ns      []nsBinding
	started bool // start has run
	rootOK  bool // the root element has been closed
	seen    bool // a root element has started

	selfClose bool // the last start tag was <x/>: an end token is pending

	Name  Name
	Attrs []Attr
	Text  string
	// TokenStart is the offset of the current token's first byte (for
	// StartElement, the '<').
	TokenStart int
}

// NewDecoder returns a decoder over a copy of b.
func NewDecoder(b []byte, lim Limits) *Decoder {
	return NewDecoderString(string(b), lim)
}

// NewDecoderString returns a decoder over s (no copy).
func NewDecoderString(s string, lim Limits) *Decoder {
	d := &Decoder{s: s, lim: lim.withDefaults()}
	d.ns = append(d.ns, nsBinding{prefix: "xml", uri: "http://www.w3.org/XML/1998/namespace", depth: -1})
	return d
}

// Source returns the document the decoder reads.
func (d *Decoder) Source() string { return d.s }

// Offset returns the offset of the next byte to be read.
func (d *Decoder) Offset() int { return d.pos }

// Depth returns the number of open elements.
func (d *Decoder) Depth() int { return d.depth }

func (d *Decoder) errf(format string, args ...any) error {
	return &Error{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

// Start checks the document as a whole before tokenising: size, UTF-8, and the
// absence of any DOCTYPE. Next calls it on first use.
func (d *Decoder) start() error {
	if len(d.s) > d.lim.MaxBytes {
		return &Error{Offset: d.lim.MaxBytes, Msg: fmt.Sprintf("document larger than %d bytes", d.lim.MaxBytes)}
	}
	if !ValidText(d.s) {
		i := 0
		for i < len(d.s) {
			_, n := utf8.DecodeRuneInString(d.s[i:])
			if !ValidText(d.s[i : i+n]) {
				break
			}
			i += n
		}
		return &Error{Offset: i, Msg: "invalid UTF-8 or a character XML does not allow"}
	}
	// A byte-order mark is allowed at the very start.
	d.pos = 0
	if strings.HasPrefix(d.s, "\uFEFF") {
		d.pos = 3
	}
	return nil
}

// Next advances to the next token. Comments and processing instructions are
// skipped; whitespace outside the root element is skipped; at the end of the
// document it returns EOF (with an error if the root was never closed).
func (d *Decoder) Next() (Kind, error) {
	if !d.started {
		d.started = true
		if err := d.start(); err != nil {
			return EOF, err
		}
	}
	if d.selfClose {
		d.selfClose = false
		return d.end()
	}
	for {
		if d.pos >= len(d.s) {
			if !d.rootOK {
				if !d.seen {
					return EOF, d.errf("no root element")
				}
				return EOF, d.errf("unexpected end of document inside <%s>", d.stack[len(d.stack)-1].Local)
			}
			return EOF, nil
		}
		if d.s[d.pos] != '<' {
			start := d.pos
			i := strings.IndexByte(d.s[d.pos:], '<')
			if i < 0 {
				i = len(d.s) - d.pos
			}
			raw := d.s[d.pos : d.pos+i]
			d.pos += i
			if d.depth == 0 {
				if !isSpace(raw) {
					return EOF, &Error{Offset: start, Msg: "text outside the root element"}
				}
				continue
			}
			txt, err := unescape(raw, start)
			if err != nil {
				return EOF, err
			}
			d.TokenStart = start
			d.Text = txt
			return Text, nil
		}
		// Markup.
		rest := d.s[d.pos:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return EOF, d.errf("unterminated comment")
			}
			d.pos += 4 + end + 3
		case strings.HasPrefix(rest, "<?"):
			if err := d.procInst(); err != nil {
				return EOF, err
			}
		case strings.HasPrefix(rest, "<![CDATA["):
			if d.depth == 0 {
				return EOF, d.errf("CDATA outside the root element")
			}
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				return EOF, d.errf("unterminated CDATA section")
			}
			d.TokenStart = d.pos
			d.Text = rest[9 : 9+end]
			d.pos += 9 + end + 3
			return Text, nil
		case strings.HasPrefix(rest, "<!"):
			// DOCTYPE, ENTITY, ELEMENT, ATTLIST...: never.
			return EOF, &Error{Offset: d.pos, Msg: fmt.Sprintf("%v: DTDs and entity declarations are not accepted", ErrForbidden)}
		case strings.HasPrefix(rest, "</"):
			return d.endTag()
		default:
			return d.startTag()
		}
	}
}

// procInst skips a processing instruction, checking its target and, for the
// XML declaration, that the document claims no encoding other than UTF-8.
func (d *Decoder) procInst() error {
	start := d.pos
	d.pos += 2
	target, err := d.readName()
	if err != nil {
		return &Error{Offset: start, Msg: "processing instruction without a target"}
	}
	end := strings.Index(d.s[d.pos:], "?>")
	if end < 0 {
		return d.errf("unterminated processing instruction")
	}
	body := d.s[d.pos : d.pos+end]
	d.pos += end + 2
	if len(body) > 0 && !isSpace(body[:1]) {
		return &Error{Offset: start, Msg: "bad processing instruction"}
	}
	if strings.EqualFold(target, "xml") {
		if target != "xml" || start != 0 && !(start == 3 && strings.HasPrefix(d.s, "\uFEFF")) {
			return &Error{Offset: start, Msg: "XML declaration not at the start of the document"}
		}
		if v, ok := pseudoAttr(body, "version"); ok && v != "1.0" {
			return &Error{Offset: start, Msg: fmt.Sprintf("unsupported XML version %q", v)}
		}
		if v, ok := pseudoAttr(body, "encoding"); ok && !strings.EqualFold(v, "utf-8") {
			return &Error{Offset: start, Msg: fmt.Sprintf("unsupported encoding %q: only UTF-8 is accepted", v)}
		}
	}
	return nil
}

// pseudoAttr returns the value of name="value" in an XML declaration's body.
func pseudoAttr(body, name string) (string, bool) {
	i := strings.Index(body, name)
	if i < 0 {
		return "", false
	}
	v := strings.TrimLeft(body[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(v, "=") {
		return "", true
	}
	v = strings.TrimLeft(v[1:], " \t\r\n")
	if len(v) == 0 || (v[0] != '"' && v[0] != '\'') {
		return "", true
	}
	j := strings.IndexByte(v[1:], v[0])
	if j < 0 {
		return "", true
	}
	return v[1 : 1+j], true
}

func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// nameByte marks the bytes that may appear in a name (any byte of a
// multi-byte UTF-8 character included).
var nameByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80
	}
	return t
}()

func isNameByte(c byte) bool { return nameByte[c] }

func (d *Decoder) readName() (string, error) {
	start := d.pos
	for d.pos < len(d.s) && isNameByte(d.s[d.pos]) {
		d.pos++
	}
	if d.pos == start {
		return "", d.errf("expected a name")
	}
	n := d.s[start:d.pos]
	// Namespace-aware names: at most one colon, with something on both sides;
	// neither part may start with a digit, '-' or '.'.
	p, l := splitQName(n)
	if strings.IndexByte(l, ':') >= 0 || l == "" || (p == "" && len(l) != len(n)) || !nameStart(l) || (p != "" && !nameStart(p)) {
		return "", &Error{Offset: start, Msg: fmt.Sprintf("invalid name %q", n)}
	}
	return n, nil
}

func nameStart(s string) bool {
	c := s[0]
	return !(c >= '0' && c <= '9' || c == '-' || c == '.')
}

func (d *Decoder) skipSpace() {
	for d.pos < len(d.s) {
		switch d.s[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

func splitQName(q string) (prefix, local string) {
	if i := strings.IndexByte(q, ':'); i >= 0 {
		return q[:i], q[i+1:]
	}
	return "", q
}

func (d *Decoder) lookupNS(prefix string) (string, bool) {
	for i := len(d.ns) - 1; i >= 0; i-- {
		if d.ns[i].prefix == prefix {
			return d.ns[i].uri, true
		}
	}
	return "", prefix == ""
}

func (d *Decoder) startTag() (Kind, error) {
	if d.rootOK {
		return EOF, d.errf("content after the root element")
	}
	if d.depth >= d.lim.MaxDepth {
		return EOF, d.errf("elements nested deeper than %d", d.lim.MaxDepth)
	}
	d.TokenStart = d.pos
	d.pos++ // '<'
	qname, err := d.readName()
	if err != nil {
		return EOF, err
	}
	d.Attrs = d.Attrs[:0]
	for {
		sp := d.pos
		d.skipSpace()
		if d.pos >= len(d.s) {
			return EOF, d.errf("unterminated start tag <%s", qname)
		}
		c := d.s[d.pos]
		if c == '>' || c == '/' {
			break
		}
		if d.pos == sp {
			return EOF, d.errf("expected space before attribute in <%s>", qname)
		}
		an, err := d.readName()
		if err != nil {
			return EOF, err
		}
		d.skipSpace()
		if d.pos >= len(d.s) || d.s[d.pos] != '=' {
			return EOF, d.errf("attribute %s has no value", an)
		}
		d.pos++
		d.skipSpace()
		if d.pos >= len(d.s) || (d.s[d.pos] != '"' && d.s[d.pos] != '\'') {
			return EOF, d.errf("attribute %s value is not quoted", an)
		}
		q := d.s[d.pos]
		d.pos++
		end := strings.IndexByte(d.s[d.pos:], q)
		if end < 0 {
			return EOF, d.errf("unterminated value of attribute %s", an)
		}
		raw := d.s[d.pos : d.pos+end]
		vstart := d.pos
		d.pos += end + 1
		val := raw
		if special := attrSpecial(raw); special != 0 {
			if special&hasLT != 0 {
				return EOF, &Error{Offset: vstart, Msg: fmt.Sprintf("'<' in the value of attribute %s", an)}
			}
			var err error
			if val, err = unescape(raw, vstart); err != nil {
				return EOF, err
			}
			if special&hasWS != 0 {
				val = normalizeAttr(val, raw)
			}
		}
		if len(d.Attrs) >= d.lim.MaxAttrs {
			return EOF, d.errf("more than %d attributes on <%s>", d.lim.MaxAttrs, qname)
		}
		p, l := splitQName(an)
		d.Attrs = append(d.Attrs, Attr{Name: Name{Prefix: p, Local: l}, Value: val})
	}
	selfClose := false
	if d.s[d.pos] == '/' {
		if d.pos+1 >= len(d.s) || d.s[d.pos+1] != '>' {
			return EOF, d.errf("expected '/>' in <%s>", qname)
		}
		selfClose = true
		d.pos += 2
	} else {
		d.pos++ // '>'
	}

	// Namespace declarations first, then resolve names.
	depth := d.depth
	for i := range d.Attrs {
		a := &d.Attrs[i]
		switch {
		case a.Name.Prefix == "" && a.Name.Local == "xmlns":
			d.ns = append(d.ns, nsBinding{prefix: "", uri: a.Value, depth: depth})
			a.Name.Space = XMLNS
		case a.Name.Prefix == "xmlns":
			if a.Value == "" {
				return EOF, d.errf("empty namespace for prefix %s", a.Name.Local)
			}
			d.ns = append(d.ns, nsBinding{prefix: a.Name.Local, uri: a.Value, depth: depth})
			a.Name.Space = XMLNS
		}
	}
	for i := range d.Attrs {
		a := &d.Attrs[i]
		if a.Name.Space == XMLNS || a.Name.Prefix == "" {
			continue
		}
		uri, ok := d.lookupNS(a.Name.Prefix)
		if !ok {
			return EOF, d.errf("undeclared namespace prefix %q on attribute %s", a.Name.Prefix, a.Name.Local)
		}
		a.Name.Space = uri
	}
	// Duplicate attributes (by resolved name).
	for i := 1; i < len(d.Attrs); i++ {
		for j := 0; j < i; j++ {
			if d.Attrs[i].Name.Local == d.Attrs[j].Name.Local && d.Attrs[i].Name.Space == d.Attrs[j].Name.Space &&
				(d.Attrs[i].Name.Space != XMLNS || d.Attrs[i].Name.Prefix == d.Attrs[j].Name.Prefix) {
				return EOF, d.errf("duplicate attribute %s on <%s>", d.Attrs[i].Name.Local, qname)
			}
		}
	}
	p, l := splitQName(qname)
	uri, ok := d.lookupNS(p)
	if !ok {
		return EOF, d.errf("undeclared namespace prefix %q on <%s>", p, qname)
	}
	d.Name = Name{Space: uri, Local: l, Prefix: p}
	d.stack = append(d.stack, d.Name)
	d.depth++
	d.seen = true
	d.selfClose = selfClose
	return StartElement, nil
}

func (d *Decoder) endTag() (Kind, error) {
	d.TokenStart = d.pos
	d.pos += 2
	qname, err := d.readName()
	if err != nil {
		return EOF, err
	}
	d.skipSpace()
	if d.pos >= len(d.s) || d.s[d.pos] != '>' {
		return EOF, d.errf("unterminated end tag </%s", qname)
	}
	d.pos++
	if d.depth == 0 {
		return EOF, d.errf("end tag </%s> without a start tag", qname)
	}
	top := d.stack[len(d.stack)-1]
	p, l := splitQName(qname)
	if l != top.Local || p != top.Prefix {
		return EOF, d.errf("end tag </%s> does not match <%s>", qname, joinQName(top.Prefix, top.Local))
	}
	return d.end()
}

func joinQName(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// end pops the current element.
func (d *Decoder) end() (Kind, error) {
	d.Name = d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	d.depth--
	for len(d.ns) > 0 && d.ns[len(d.ns)-1].depth >= d.depth {
		d.ns = d.ns[:len(d.ns)-1]
	}
	if d.depth == 0 {
		d.rootOK = true
	}
	return EndElement, nil
}

// Skip consumes the rest of the element whose start tag was just read,
// including its end tag. It returns the offset just past the end tag.
func (d *Decoder) Skip() (int, error) {
	target := d.depth - 1
	for {
		k, err := d.Next()
		if err != nil {
			return 0, err
		}
		if k == EOF {
			return 0, d.errf("unexpected end of document")
		}
		if k == EndElement && d.depth == target {
			return d.pos, nil
		}
	}
}

// InScope returns the namespace bindings in scope (innermost last), for
// callers that cut a subtree out of the document and must keep it valid.
func (d *Decoder) InScope() map[string]string {
	m := make(map[string]string, len(d.ns))
	for _, b := range d.ns {
		if b.depth >= 0 {
			m[b.prefix] = b.uri
		}
	}
	return m
}

const (
	hasLT = 1 << iota
	hasAmp
	hasWS
)

// attrSpecial scans an attribute value once for what needs attention.
func attrSpecial(s string) int {
	f := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			f |= hasLT
		case '&':
			f |= hasAmp
		case '\t', '\r', '\n':
			f |= hasWS
		}
	}
	return f
}

// normalizeAttr applies XML attribute-value normalisation for literal
// whitespace characters (tab, CR, LF become spaces); character references
// keep the character they name. It returns val unchanged when raw has none.
func normalizeAttr(val, raw string) string {
	if strings.IndexAny(raw, "\t\r\n") < 0 {
		return val
	}
	if strings.IndexByte(raw, '&') < 0 {
		return strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, strings.ReplaceAll(raw, "\r\n", "\n"))
	}
	// Mixed literal whitespace and references: normalise the literal parts only.
	var b strings.Builder
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	for len(raw) > 0 {
		i := strings.IndexByte(raw, '&')
		if i < 0 {
			i = len(raw)
		}
		for _, c := range []byte(raw[:i]) {
			if c == '\t' || c == '\r' || c == '\n' {
				c = ' '
			}
			b.WriteByte(c)
		}
		raw = raw[i:]
		if len(raw) == 0 {
			break
		}
		j := strings.IndexByte(raw, ';')
		ref, _ := unescape(raw[:j+1], 0)
		b.WriteString(ref)
		raw = raw[j+1:]
	}
	return b.String()
}

// unescape decodes the predefined entities and character references in s.
// Line ends are normalised to \n as XML requires.
func unescape(s string, offset int) (string, error) {
	amp := strings.IndexByte(s, '&')
	cr := strings.IndexByte(s, '\r')
	if amp < 0 && cr < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			b.WriteByte('\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], ';')
		if end < 0 || end > 12 {
			return "", &Error{Offset: offset + i, Msg: "unterminated entity or character reference"}
		}
		ref := s[i+1 : i+end]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			r, ok := charRef(ref)
			if !ok {
				return "", &Error{Offset: offset + i, Msg: fmt.Sprintf("%v: unknown entity &%s;", ErrForbidden, ref)}
			}
			b.WriteRune(r)
		}
		i += end
	}
	return b.String(), nil
}

func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	base, digits := 10, ref[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if digits == "" {
		return 0, false
	}
	var n rune
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, false
		}
		n = n*rune(base) + v
		if n > utf8.MaxRune {
			return 0, false
		}
	}
	// XML 1.0 Char production.
	if n == 0x9 || n == 0xA || n == 0xD || (n >= 0x20 && n <= 0xD7FF) || (n >= 0xE000 && n <= 0xFFFD) || (n >= 0x10000 && n <= 0x10FFFF) {
		return n, true
	}
	return 0, false
}
